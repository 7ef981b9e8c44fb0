r"""``RNN``, ``LSTM`` and ``GRU``: stacked, optionally bidirectional recurrent layers as in torch.

The constructor arguments, the parameters (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ..., ``weight_ih_l1_reverse``), their shapes, gate order and initialisation
(:math:`U(-1/\sqrt{H}, 1/\sqrt{H})` for every weight and bias) are torch's. The sequence work
of each layer and direction is done by the functions of :mod:`dlbook.nn.rnn_functional`
(fused gate products, preallocated buffers, backpropagation through time).

Backward convention (torch's autograd has none to copy; this one mirrors forward):

- ``RNN``/``GRU``: ``backward(grad_output, grad_h_n=None)``;
  ``LSTM``: ``backward(grad_output, grad_h_n=None, grad_c_n=None)``. Each argument is the
  gradient of the matching forward output (``None`` = no gradient reaches it, e.g.
  ``grad_output=None`` when only ``h_n`` feeds the loss).
- It returns ``grad_input`` when forward was called without an initial state, else
  ``(grad_input, grad_h_0)`` (``RNN``/``GRU``) or ``(grad_input, (grad_h_0, grad_c_0))``
  (``LSTM``), mirroring forward's arguments ``(input, hx)``.

References:
    J. L. Elman, "Finding Structure in Time", Cognitive Science 14, 1990.
    S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", Neural Computation 9, 1997.
    K. Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical
    Machine Translation", EMNLP 2014. https://arxiv.org/abs/1406.1078
    M. Schuster, K. Paliwal, "Bidirectional Recurrent Neural Networks", IEEE TSP 45, 1997.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from dlbook.nn import init
from dlbook.nn import rnn_functional as F
from dlbook.nn._checks import check_grad, check_ndim, float_array
from dlbook.nn.dropout_functional import dropout_mask
from dlbook.nn.module import Module
from dlbook.nn.parameter import Parameter

# mode -> (number of gate blocks, layer forward, layer backward, number of state arrays)
_MODES = {
    "RNN_TANH": (1, F.rnn_layer_forward, F.rnn_layer_backward, 1),
    "RNN_RELU": (1, F.rnn_layer_forward, F.rnn_layer_backward, 1),
    "LSTM": (4, F.lstm_layer_forward, F.lstm_layer_backward, 2),
    "GRU": (3, F.gru_layer_forward, F.gru_layer_backward, 1),
}


class RNNBase(Module):
    """The machinery shared by ``RNN``, ``LSTM`` and ``GRU``: parameters, layers, directions,
    ``batch_first``, unbatched input, inter-layer dropout, and backward through all of them.

    Shape (``D = 2`` if bidirectional else 1, ``L = num_layers``):
        - input: ``(T, N, input_size)``, ``(N, T, input_size)`` if ``batch_first``, or
          ``(T, input_size)`` unbatched.
        - h_0 / c_0 (optional): ``(D*L, N, hidden_size)`` or ``(D*L, hidden_size)`` unbatched
          (never batch-first, as in torch); zeros when not given.
        - output: ``(T, N, D*hidden_size)`` (``(N, T, ...)`` if ``batch_first``); the last
          layer's hidden state at every step, both directions concatenated.
        - h_n / c_n: ``(D*L, N, hidden_size)``: every layer's final state, layer-major
          (index ``layer * D + direction``).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, dtype=np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        _validate(input_size, hidden_size, num_layers, dropout, proj_size)
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self.generator = generator
        gate_rows = _MODES[mode][0] * hidden_size
        directions = 2 if bidirectional else 1
        out_size = proj_size or hidden_size  # the size of h (LSTM projections: proj_size)
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for suffix in ["", "_reverse"][:directions]:
                shapes = {"weight_ih": (gate_rows, layer_in), "weight_hh": (gate_rows, out_size)}
                if bias:
                    shapes.update(bias_ih=(gate_rows,), bias_hh=(gate_rows,))
                if proj_size:
                    shapes.update(weight_hr=(proj_size, hidden_size))
                for name, shape in shapes.items():
                    self.register_parameter(f"{name}_l{layer}{suffix}",
                                            Parameter(np.empty(shape, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's init: every weight and bias :math:`\\sim U(-1/\\sqrt{H}, 1/\\sqrt{H})`."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator=self.generator)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _weights(self, layer: int, direction: int) -> F.Weights:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        w = [self._parameters[n + suffix].data for n in names]
        return (w[0], w[1], w[2], w[3]) if self.bias else (w[0], w[1], None, None)

    def _params(self, layer: int, direction: int) -> list[Parameter | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        return [self._parameters.get(n + suffix)
                for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]

    @property
    def _out_size(self) -> int:
        """Features of ``h`` per direction: ``proj_size`` for a projected LSTM."""
        return self.proj_size or self.hidden_size

    def _state_sizes(self) -> tuple[int, ...]:
        return (self._out_size, self.hidden_size) if self.mode == "LSTM" else (self.hidden_size,)

    # -- forward ----------------------------------------------------------------------------
    def _forward(self, x: Any, hx: tuple | None) -> tuple[np.ndarray, tuple]:
        who = type(self).__name__
        x = float_array(x, who)
        check_ndim(x, (2, 3), who, "(T, N, input_size), (N, T, input_size) if batch_first, "
                   "or (T, input_size)")
        unbatched = x.ndim == 2
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{who}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {x.shape[-1]} (input shape {x.shape})")
        seq = x[:, None] if unbatched else (x.swapaxes(0, 1) if self.batch_first else x)
        T, N = seq.shape[:2]
        if T == 0:
            raise ValueError(f"{who}: the sequence length must be at least 1, got input of "
                             f"shape {x.shape}")
        states = self._initial_states(hx, N, unbatched, x.dtype)
        _, layer_forward, _, n_states = _MODES[self.mode]
        if self.proj_size:
            layer_forward = F.lstm_proj_layer_forward
        D = self.num_directions
        caches, masks, finals = [], [], []
        inp = seq
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                state = tuple(s[k] for s in states) if states else (None,) * n_states
                out, final, cache = self._run(layer_forward, inp[::-1] if d else inp,
                                              layer, d, state)
                outs.append(out[::-1] if d else out)
                caches.append(cache)
                finals.append(final)
            inp = outs[0] if D == 1 else np.concatenate(outs, axis=-1)
            masks.append(self._dropout_mask(inp) if layer < self.num_layers - 1 else None)
            if masks[-1] is not None:
                inp = inp * masks[-1]
        state_n = tuple(np.stack([f[j] for f in finals]) for j in range(n_states))
        output = inp[:, 0] if unbatched else (inp.swapaxes(0, 1) if self.batch_first else inp)
        if unbatched:
            state_n = tuple(s[:, 0] for s in state_n)
        self.save_for_backward(caches=caches, masks=masks, unbatched=unbatched, T=T, N=N,
                               given_hx=hx is not None, out_shape=output.shape)
        return output, state_n

    def _run(self, layer_forward, inp: np.ndarray, layer: int, d: int, state: tuple) -> tuple:
        weights = self._weights(layer, d)
        if self.mode == "RNN_RELU":
            return layer_forward(inp, weights, state, nonlinearity="relu")
        if self.proj_size:
            return layer_forward(inp, weights, state, self._params(layer, d)[4].data)
        return layer_forward(inp, weights, state)

    def _initial_states(self, hx: tuple | None, N: int, unbatched: bool,
                        dtype: np.dtype) -> tuple:
        """The given initial states as ``(D*L, N, H)`` arrays (``()`` when none was given)."""
        if hx is None:
            return ()
        who = type(self).__name__
        lead = (self.num_layers * self.num_directions,) + (() if unbatched else (N,))
        names = ("h_0", "c_0") if self.mode == "LSTM" else ("h_0",)
        out = []
        for name, s, size in zip(names, hx, self._state_sizes(), strict=True):
            want = lead + (size,)
            s = float_array(s, who, name)
            if s.dtype != dtype:
                raise TypeError(f"{who}: {name} has dtype {s.dtype}, the input {dtype}")
            if s.shape != want:
                raise ValueError(f"{who}: expected {name} of shape {want}, got {s.shape}")
            out.append(s[:, None] if unbatched else s)
        return tuple(out)

    def _dropout_mask(self, inp: np.ndarray) -> np.ndarray | None:
        """Inverted dropout between layers (training only), as torch does."""
        if not self.training or self.dropout == 0:
            return None
        return dropout_mask(inp.shape, self.dropout, inp.dtype, self.generator)

    # -- backward ---------------------------------------------------------------------------
    def forward(self, x: np.ndarray, hx: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """``(output, h_n)`` for the one-state layers (RNN, GRU); the LSTM overrides it."""
        output, (h_n,) = self._forward(x, None if hx is None else (hx,))
        return output, h_n

    def backward(self, grad_output: np.ndarray | None, grad_h_n: np.ndarray | None = None):
        """``backward(grad_output, grad_h_n=None)`` of the one-state layers (RNN, GRU)."""
        return self._backward(grad_output, (grad_h_n,))

    def _backward(self, grad_output: Any, grad_state_n: tuple) -> Any:
        s = self.saved
        who = type(self).__name__
        D, H = self.num_directions, self._out_size
        dtype = s.caches[0].hs.dtype
        if grad_output is None:
            g = np.zeros((s.T, s.N, D * H), dtype=dtype)
        else:
            g = check_grad(grad_output, s.out_shape, who)
            g = g[:, None] if s.unbatched else (g.swapaxes(0, 1) if self.batch_first else g)
        names = ("grad_h_n", "grad_c_n")[:len(grad_state_n)]
        grad_states = [self._grad_state(gs, s, name, size) for gs, name, size
                       in zip(grad_state_n, names, self._state_sizes(), strict=True)]
        _, _, layer_backward, n_states = _MODES[self.mode]
        if self.proj_size:
            layer_backward = F.lstm_proj_layer_backward
        grad_init = [np.empty((self.num_layers * D, s.N, size), dtype=dtype)
                     for size in self._state_sizes()]
        for layer in range(self.num_layers - 1, -1, -1):
            if s.masks[layer] is not None:
                g = g * s.masks[layer]
            grad_in = None
            for d in range(D):
                k = layer * D + d
                g_d = g[..., d * H:(d + 1) * H]
                gs = tuple(None if gst is None else gst[k] for gst in grad_states)
                gx, g0, gw = layer_backward(g_d[::-1] if d else g_d, gs, s.caches[k])
                for j, g0j in enumerate(g0):
                    grad_init[j][k] = g0j
                for p, gp in zip(self._params(layer, d)[:len(gw)], gw, strict=True):
                    if p is not None:
                        p.accumulate_grad(gp)
                gx = gx[::-1] if d else gx
                grad_in = gx if grad_in is None else grad_in + gx
            g = grad_in
        grad_x = g[:, 0] if s.unbatched else (g.swapaxes(0, 1) if self.batch_first else g)
        if not s.given_hx:
            return grad_x
        grad_init = [gi[:, 0] if s.unbatched else gi for gi in grad_init]
        return grad_x, (tuple(grad_init) if self.mode == "LSTM" else grad_init[0])

    def _grad_state(self, grad: Any, s: Any, name: str, size: int) -> np.ndarray | None:
        if grad is None:
            return None
        want = (self.num_layers * self.num_directions,) + (() if s.unbatched else (s.N,)) + (
            size,)
        grad = check_grad(grad, want, f"{type(self).__name__} ({name})")
        return grad[:, None] if s.unbatched else grad

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        return text


def _validate(input_size: int, hidden_size: int, num_layers: int, dropout: float,
              proj_size: int) -> None:
    if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not (
            0 <= dropout <= 1):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         f"probability of an element being zeroed, got {dropout!r}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


class RNN(RNNBase):
    r"""Elman RNN, :math:`h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})`
    (or ReLU), stacked ``num_layers`` deep, as ``torch.nn.RNN``.

    Args:
        input_size, hidden_size, num_layers, nonlinearity (``'tanh'`` or ``'relu'``), bias,
        batch_first, dropout (between layers, training only), bidirectional: as torch.
        dtype: parameter dtype (float32 by default, as torch).
        generator: ``np.random.Generator`` for the init and the dropout masks (dlbook's default
            generator when None).

    Parameters: ``weight_ih_l{k}`` ``(H, I or D*H)``, ``weight_hh_l{k}`` ``(H, H)``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` ``(H,)``, plus ``..._reverse`` if bidirectional.

    Shape: see :class:`RNNBase`. ``forward(input, hx=None) -> (output, h_n)``.
    Backward: ``backward(grad_output, grad_h_n=None)``; BPTT as in
    :func:`dlbook.nn.rnn_functional.rnn_layer_backward`.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=np.float32,
                 generator: np.random.Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, generator=generator)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    r"""Long short-term memory (Hochreiter & Schmidhuber 1997), as ``torch.nn.LSTM``.

    Gates in torch's order (i, f, g, o), stacked in ``weight_ih_l{k}`` ``(4H, I or D*H)`` and
    ``weight_hh_l{k}`` ``(4H, H)``; equations in
    :func:`dlbook.nn.rnn_functional.lstm_layer_forward`.

    Args: as :class:`RNN` without ``nonlinearity``; ``proj_size > 0`` projects the hidden
    state to ``proj_size`` features (Sak et al. 2014), adding ``weight_hr_l{k}``
    ``(proj_size, H)``: ``h_0``, ``h_n`` and the output then have ``proj_size`` features
    (:func:`dlbook.nn.rnn_functional.lstm_proj_layer_forward`).

    Shape: see :class:`RNNBase`. ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``.
    Backward: ``backward(grad_output, grad_h_n=None, grad_c_n=None)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, dtype=np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, dtype=dtype, generator=generator)

    def forward(self, x: np.ndarray, hx: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
        output, (h_n, c_n) = self._forward(x, hx)
        return output, (h_n, c_n)

    def backward(self, grad_output: np.ndarray | None, grad_h_n: np.ndarray | None = None,
                 grad_c_n: np.ndarray | None = None):
        return self._backward(grad_output, (grad_h_n, grad_c_n))


class GRU(RNNBase):
    r"""Gated recurrent unit (Cho et al. 2014), as ``torch.nn.GRU``.

    Gates in torch's order (r, z, n), stacked in ``weight_ih_l{k}`` ``(3H, I or D*H)`` and
    ``weight_hh_l{k}`` ``(3H, H)``; equations in
    :func:`dlbook.nn.rnn_functional.gru_layer_forward`.

    Args: as :class:`RNN` without ``nonlinearity``.

    Shape: see :class:`RNNBase`. ``forward(input, hx=None) -> (output, h_n)``.
    Backward: ``backward(grad_output, grad_h_n=None)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype=np.float32,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype=dtype, generator=generator)
