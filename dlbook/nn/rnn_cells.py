r"""``RNNCell``, ``LSTMCell`` and ``GRUCell``: one time step, as their ``torch.nn`` twins.

A cell is a recurrent layer run for one step: it uses the same functions as ``RNN``/``LSTM``/
``GRU`` (:mod:`dlbook.nn.rnn_functional`) on a sequence of length 1, so its equations and its
backward are theirs. Parameters: ``weight_ih`` ``(G*H, input_size)``, ``weight_hh``
``(G*H, H)``, ``bias_ih``, ``bias_hh`` ``(G*H,)`` with ``G`` = 1, 4 (i, f, g, o), 3 (r, z, n);
every one :math:`\sim U(-1/\sqrt{H}, 1/\sqrt{H})` as in torch.

Backward: ``RNNCell``/``GRUCell``: ``backward(grad_h)``; ``LSTMCell``:
``backward(grad_h, grad_c=None)``. It returns ``grad_input`` when forward got no ``hx``, else
``(grad_input, grad_hx)`` where ``grad_hx`` mirrors ``hx`` (``(grad_h, grad_c)`` for the LSTM).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook.nn import init
from dlbook.nn import rnn_functional as F
from dlbook.nn._checks import check_dim, check_grad, check_ndim, float_array
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter


class RNNCellBase(Module):
    """Shared by the three cells.

    Shape:
        - input: ``(N, input_size)`` or ``(input_size,)``; hx: ``(N, H)`` or ``(H,)``.
        - output: ``(N, H)`` or ``(H,)`` (and ``c'`` of the same shape for the LSTM).
    """

    _gates = 1
    _n_states = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype=np.float32, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self._gates * hidden_size
        self.weight_ih = Parameter(np.empty((rows, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((rows, hidden_size), dtype=dtype))
        self.register_parameter("bias_ih", Parameter(np.empty(rows, dtype=dtype)) if bias
                                else None)
        self.register_parameter("bias_hh", Parameter(np.empty(rows, dtype=dtype)) if bias
                                else None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator=generator)

    def _layer(self, x: np.ndarray, weights: F.Weights, state: tuple) -> tuple:
        raise NotImplementedError

    def _step(self, x: Any, hx: tuple | None) -> tuple:
        who = type(self).__name__
        x = float_array(x, who)
        check_ndim(x, (1, 2), who, "(N, input_size) or (input_size,)")
        check_dim(x, -1, self.input_size, who, "input_size")
        unbatched = x.ndim == 1
        xb = x[None] if unbatched else x
        states = [None] * self._n_states
        if hx is not None:
            for j, s in enumerate(hx):
                s = float_array(s, who, "hx")
                if s.shape != x.shape[:-1] + (self.hidden_size,):
                    raise ValueError(f"{who}: hx has shape {s.shape}, expected "
                                     f"{x.shape[:-1] + (self.hidden_size,)}")
                states[j] = s.reshape(xb.shape[0], self.hidden_size)
        weights = (self.weight_ih.data, self.weight_hh.data,
                   None if self.bias_ih is None else self.bias_ih.data,
                   None if self.bias_hh is None else self.bias_hh.data)
        _, finals, cache = self._layer(xb[None], weights, tuple(states))
        out = tuple(f[0] if unbatched else f for f in finals)
        self.save_for_backward(cache=cache, unbatched=unbatched, given_hx=hx is not None,
                               out_shape=out[0].shape)
        return out

    def _backward(self, grads: tuple) -> Any:
        s = self.saved
        who = type(self).__name__
        fixed = []
        for g in grads:
            g = None if g is None else check_grad(g, s.out_shape, who)
            fixed.append(None if g is None else g.reshape(1, -1) if s.unbatched else g)
        zero = np.zeros((1,) + s.cache.hs.shape[1:], dtype=s.cache.hs.dtype)
        g_out = zero if fixed[0] is None else fixed[0][None]
        gx, g0, gw = self._layer_backward(g_out, (None,) + tuple(fixed[1:]), s.cache)
        for p, gp in zip((self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh), gw,
                         strict=True):
            if p is not None:
                p.accumulate_grad(gp)
        gx = gx[0, 0] if s.unbatched else gx[0]
        if not s.given_hx:
            return gx
        g0 = tuple(g[0] if s.unbatched else g for g in g0)
        return gx, (g0 if self._n_states == 2 else g0[0])

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    r""":math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})` (or ReLU), as
    ``torch.nn.RNNCell``. ``forward(input, hx=None) -> h'``; ``backward(grad_h)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype=np.float32,
                 generator: np.random.Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, dtype, generator)
        self.nonlinearity = nonlinearity

    def _layer(self, x, weights, state):
        return F.rnn_layer_forward(x, weights, state, nonlinearity=self.nonlinearity)

    _layer_backward = staticmethod(F.rnn_layer_backward)

    def forward(self, x: np.ndarray, hx: np.ndarray | None = None) -> np.ndarray:
        return self._step(x, None if hx is None else (hx,))[0]

    def backward(self, grad_h: np.ndarray):
        return self._backward((grad_h,))


class LSTMCell(RNNCellBase):
    r"""One LSTM step (equations in :func:`dlbook.nn.rnn_functional.lstm_layer_forward`), as
    ``torch.nn.LSTMCell``. ``forward(input, (h, c)=None) -> (h', c')``;
    ``backward(grad_h, grad_c=None)``."""

    _gates = 4
    _n_states = 2

    def _layer(self, x, weights, state):
        return F.lstm_layer_forward(x, weights, state)

    _layer_backward = staticmethod(F.lstm_layer_backward)

    def forward(self, x: np.ndarray, hx: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a tuple (h, c)")
        h, c = self._step(x, hx)
        return h, c

    def backward(self, grad_h: np.ndarray | None, grad_c: np.ndarray | None = None):
        return self._backward((grad_h, grad_c))


class GRUCell(RNNCellBase):
    r"""One GRU step (equations in :func:`dlbook.nn.rnn_functional.gru_layer_forward`), as
    ``torch.nn.GRUCell``. ``forward(input, hx=None) -> h'``; ``backward(grad_h)``."""

    _gates = 3

    def _layer(self, x, weights, state):
        return F.gru_layer_forward(x, weights, state)

    _layer_backward = staticmethod(F.gru_layer_backward)

    def forward(self, x: np.ndarray, hx: np.ndarray | None = None) -> np.ndarray:
        return self._step(x, None if hx is None else (hx,))[0]

    def backward(self, grad_h: np.ndarray):
        return self._backward((grad_h,))
