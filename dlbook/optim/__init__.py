"""dlbook.optim: NumPy optimizers that mirror ``torch.optim``, update rule for update rule.

Nothing in this package imports torch.
"""
from dlbook.optim import lr_scheduler
from dlbook.optim.adagrad import Adagrad
from dlbook.optim.adam import Adam, AdamW
from dlbook.optim.optimizer import Optimizer
from dlbook.optim.rmsprop import RMSprop
from dlbook.optim.sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
