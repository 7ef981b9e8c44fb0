"""dlbook.nn: NumPy layers that mirror ``torch.nn``, each with a hand-derived backward.

Nothing in this package imports torch.
"""
from dlbook.nn import functional, init, utils
from dlbook.nn.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from dlbook.nn.adain import AdaIN
from dlbook.nn.attention import MultiheadAttention
from dlbook.nn.container import ModuleList, Sequential
from dlbook.nn.conv import Conv2d, ConvTranspose2d
from dlbook.nn.dropout import Dropout, Dropout2d
from dlbook.nn.embedding import Embedding
from dlbook.nn.graph import GCNConv, normalized_adjacency
from dlbook.nn.linear import Flatten, Identity, Linear
from dlbook.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from dlbook.nn.module import Module, is_grad_enabled, no_grad
from dlbook.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from dlbook.nn.parameter import Parameter
from dlbook.nn.pixel_norm import PixelNorm
from dlbook.nn.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from dlbook.nn.regularization import Penalty, l1_penalty, l2_penalty
from dlbook.nn.rnn import GRU, LSTM, RNN
from dlbook.nn.rnn_cells import GRUCell, LSTMCell, RNNCell
from dlbook.nn.transformer import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from dlbook.nn.vae import GaussianKLLoss, Reparameterize

__all__ = ["Flatten", "Identity", "Linear", "Module", "Parameter", "Sequential", "init",
           "is_grad_enabled", "no_grad"]
__all__ += ["ELU", "GELU", "LeakyReLU", "LogSoftmax", "PReLU", "ReLU", "Sigmoid", "SiLU",
            "Softmax", "Tanh", "functional", "utils"]
__all__ += ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss"]
__all__ += ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "Conv2d", "ConvTranspose2d",
            "MaxPool2d"]
__all__ += ["BatchNorm1d", "BatchNorm2d", "Dropout", "Dropout2d", "Embedding", "GroupNorm",
            "LayerNorm", "Penalty", "l1_penalty", "l2_penalty"]
__all__ += ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]
__all__ += ["ModuleList", "MultiheadAttention", "TransformerDecoder", "TransformerDecoderLayer",
            "TransformerEncoder", "TransformerEncoderLayer"]
__all__ += ["GCNConv", "normalized_adjacency"]
__all__ += ["GaussianKLLoss", "Reparameterize"]
__all__ += ["AdaIN", "PixelNorm"]
__all__ += ["HuberLoss", "SmoothL1Loss"]
