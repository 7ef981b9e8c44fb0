"""dlbook.nn: NumPy layers that mirror ``torch.nn``, each with a hand-derived backward.

Nothing in this package imports torch.
"""
from dlbook.nn import init
from dlbook.nn.container import Sequential
from dlbook.nn.linear import Flatten, Identity, Linear
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter

__all__ = ["Flatten", "Identity", "Linear", "Module", "Parameter", "Sequential", "init"]
