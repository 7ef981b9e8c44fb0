r"""One recurrent layer in one direction, forward and backward through time, as pure functions.

Each ``*_layer_forward(x, weights, state)`` runs a whole sequence ``x`` of shape ``(T, N, I)``
(time first) through one layer with torch's weight layout and returns
``(out, state_n, cache)``; the matching ``*_layer_backward(grad_out, grad_state_n, cache)``
runs backpropagation through time (BPTT; Werbos 1990, "Backpropagation through time: what it
does and how to do it", https://doi.org/10.1109/5.58337) and returns
``(grad_x, grad_state_0, grad_weights)``.

``weights = (w_ih, w_hh, b_ih, b_hh)`` (biases may be ``None``) with ``G`` gates stacked in
torch's order: ``w_ih`` is ``(G*H, I)``, ``w_hh`` is ``(G*H, H)``. ``state`` is ``(h0,)`` or,
for the LSTM, ``(h0, c0)``, each ``(N, H)``. Entries of ``grad_state_n`` may be ``None``
(no gradient reaches the final state).

Speed, the same in all three:

1. The input part of every gate at every step is ONE matrix product,
   ``x.reshape(T*N, I) @ w_ih.T``, before the time loop; each step adds one
   ``(N, H) x (H, G*H)`` product of the previous hidden state (all gates fused).
2. The time loop writes into buffers allocated once (``hs``, ``gates``, ...), with ``out=``.
3. Everything of the backward pass that does not depend on the recursion (derivatives of the
   activations) is computed for all steps at once before the reverse loop, so each step costs a
   few elementwise operations and one ``(N, G*H) x (G*H, H)`` product.
4. After the loop, the weight gradients are three more single products over all steps.

The sigmoid is :func:`dlbook.nn.activation_functional.sigmoid` (it never overflows; the GRU
writes it in place). The LSTM's loop is a fast path that folds the sigmoid and tanh of all
gates into one ``np.exp`` (see ``_lstm_layout``); the tests prove it equal to the plain loop
of :func:`lstm_proj_layer_forward` with an identity projection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlbook.nn.activation_functional import sigmoid

Weights = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]


@dataclass
class LayerCache:
    """What backward needs from one layer's forward pass (named, not a positional tuple).

    ``hs`` holds :math:`h_0, \\dots, h_T` (``(T+1, N, H)``; the LSTM keeps its step arrays
    feature-major, ``(T+1, H, N)``, see :func:`lstm_layer_forward`); ``gates`` the activated gates;
    ``cs`` and ``tanh_c`` the LSTM cell states; ``hw_n`` the GRU's
    :math:`W_{hn} h_{t-1} + b_{hn}`; ``nonlinearity`` the Elman RNN's activation.
    """

    x: np.ndarray
    weights: Weights
    hs: np.ndarray
    gates: np.ndarray | None = None
    cs: np.ndarray | None = None
    tanh_c: np.ndarray | None = None
    hw_n: np.ndarray | None = None
    nonlinearity: str = "tanh"
    w_hr: np.ndarray | None = None


def _input_part(x: np.ndarray, w_ih: np.ndarray, bias: np.ndarray | None,
                dtype: np.dtype) -> np.ndarray:
    """``x @ w_ih.T + bias`` for all ``T*N`` rows in one product, shape ``(T, N, G*H)``."""
    T, N, n_in = x.shape
    xw = (x.reshape(T * N, n_in) @ w_ih.T).astype(dtype, copy=False)
    if bias is not None:
        xw += bias
    return xw.reshape(T, N, -1)


def _dtype(x: np.ndarray, w: np.ndarray) -> np.dtype:
    """The common dtype of input and weights; a ``TypeError`` naming both if they differ
    (torch raises too; NumPy would silently promote)."""
    if x.dtype != w.dtype:
        raise TypeError(f"recurrent layer: input dtype {x.dtype} does not match the weights' "
                        f"dtype {w.dtype}")
    return x.dtype


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else (a if b is None else a + b)


def _state(s: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """A new array holding ``s`` (never the caller's: the loop adds into it), zeros if None."""
    return np.zeros_like(like) if s is None else np.array(s, dtype=like.dtype)


def _weight_grads(da: np.ndarray, dhw: np.ndarray, cache: LayerCache) -> tuple:
    """``(grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh)`` from the gate pre-activation gradients:
    ``da`` (input side) and ``dhw`` (hidden side; the same array except in the GRU)."""
    T, N, GH = da.shape
    da2, dhw2 = da.reshape(T * N, GH), dhw.reshape(T * N, GH)
    H = cache.hs.shape[-1]
    w_ih, _, b_ih, b_hh = cache.weights
    grad_w_ih = da2.T @ cache.x.reshape(T * N, -1)
    grad_w_hh = dhw2.T @ cache.hs[:-1].reshape(T * N, H)
    ones = np.ones(T * N, dtype=da.dtype)
    grad_b_ih = None if b_ih is None else ones @ da2
    grad_b_hh = None if b_hh is None else (grad_b_ih if dhw is da else ones @ dhw2)
    return grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


def _grad_x(da: np.ndarray, cache: LayerCache) -> np.ndarray:
    T, N, GH = da.shape
    return (da.reshape(T * N, GH) @ cache.weights[0]).reshape(T, N, -1)


# -- Elman RNN --------------------------------------------------------------------------------
def rnn_layer_forward(x: np.ndarray, weights: Weights, state: tuple[np.ndarray | None],
                      nonlinearity: str = "tanh") -> tuple:
    r"""Elman (1990) RNN: :math:`h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`,
    :math:`\phi` = tanh or ReLU. Returns ``(out (T, N, H), (h_T,), cache)``."""
    w_ih, w_hh, b_ih, b_hh = weights
    T, N, _ = x.shape
    H = w_hh.shape[1]
    dtype = _dtype(x, w_ih)
    xw = _input_part(x, w_ih, _add(b_ih, b_hh), dtype)
    hs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0] = _state(state[0], hs[0])
    w_hh_t = w_hh.T
    for t in range(T):
        h = hs[t + 1]
        np.matmul(hs[t], w_hh_t, out=h)
        h += xw[t]
        if nonlinearity == "tanh":
            np.tanh(h, out=h)
        else:
            np.maximum(h, 0, out=h)
    cache = LayerCache(x=x, weights=weights, hs=hs, nonlinearity=nonlinearity)
    return hs[1:], (hs[T],), cache


def rnn_layer_backward(grad_out: np.ndarray, grad_state: tuple, cache: LayerCache) -> tuple:
    r"""BPTT for the Elman RNN. With :math:`\delta_t = \partial L / \partial a_t`
    (:math:`a_t` the pre-activation) and :math:`g_t` the gradient reaching :math:`h_t`:

    1. :math:`g_t = \text{grad\_out}_t + W_{hh}^\top \delta_{t+1}` (from the output and from
       the next step), with :math:`g_T` also getting ``grad_h_n``;
    2. :math:`\delta_t = g_t \odot \phi'(a_t)`, where :math:`\phi' = 1 - h_t^2` (tanh) or
       :math:`[h_t > 0]` (ReLU);
    3. :math:`\partial L/\partial W_{hh} = \sum_t \delta_t^\top h_{t-1}`,
       :math:`\partial L/\partial W_{ih} = \sum_t \delta_t^\top x_t`,
       :math:`\partial L/\partial x_t = \delta_t W_{ih}`.
    """
    hs, w_hh = cache.hs, cache.weights[1]
    T = hs.shape[0] - 1
    h_out = hs[1:]
    da = 1 - h_out * h_out if cache.nonlinearity == "tanh" else (h_out > 0).astype(hs.dtype)
    dh = _state(grad_state[0], hs[0])
    for t in range(T - 1, -1, -1):
        dh += grad_out[t]
        da[t] *= dh
        np.matmul(da[t], w_hh, out=dh)
    return _grad_x(da, cache), (dh,), _weight_grads(da, da, cache)


# -- LSTM -------------------------------------------------------------------------------------
def _lstm_layout(H: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    r"""Row order and row scale of the LSTM's internal weights.

    torch stores the gate blocks as (i, f, g, o); the loop uses (i, f, o, g) so that the three
    sigmoid gates are one slice, and scales their rows by -1 and the g rows by -2, so that ONE
    ``np.exp`` gives :math:`e^{-a}` for every gate. Then :math:`\sigma(a) = 1/(1 + e^{-a})`
    and :math:`\tanh(a) = 2\sigma(2a) - 1`. Scaling by a power of two is exact in floating
    point. NOTE: np.exp is vectorised (SIMD) where np.tanh often is not; this is 2x faster.
    """
    order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
    scale = np.repeat(np.array([-1.0, -1.0, -1.0, -2.0], dtype=dtype), H)
    return order, scale


def _tanh(x: np.ndarray, out: np.ndarray) -> None:
    """``out = tanh(x)``; for float64 as :math:`2/(1 + e^{-2x}) - 1` (np.exp is SIMD
    vectorised for float64 where np.tanh is not, a 2x difference; float32 tanh is)."""
    if x.dtype != np.float64:
        np.tanh(x, out=out)
        return
    np.multiply(x, -2.0, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.divide(2.0, out, out=out)
    out -= 1.0


def lstm_layer_forward(x: np.ndarray, weights: Weights,
                       state: tuple[np.ndarray | None, np.ndarray | None]) -> tuple:
    r"""LSTM (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000), torch's equations:

    .. math::
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)

    Returns ``(out (T, N, H), (h_T, c_T), cache)``. NOTE: inside, every step's arrays are
    feature-major, ``(features, N)``, so that each gate is a contiguous block of rows
    (strided slices cost numpy several times more per call): ``cache.gates`` is
    ``(T, 4H, N)`` with the gates in the order (i, f, o, g) (see ``_lstm_layout``) and
    :math:`\sigma(2 a_g) = (1 + g)/2` in place of :math:`g`; ``cache.hs`` and ``cache.cs``
    are ``(T+1, H, N)``.
    """
    w_ih, w_hh, b_ih, b_hh = weights
    T, N, _ = x.shape
    H = w_hh.shape[1]
    dtype = _dtype(x, w_ih)
    order, scale = _lstm_layout(H, dtype)
    bias = _add(b_ih, b_hh)
    xw = _input_part(x, w_ih[order] * scale[:, None],
                     None if bias is None else bias[order] * scale, dtype)
    gates = np.ascontiguousarray(xw.transpose(0, 2, 1))  # (T, 4H, N)
    w_hh_s = np.ascontiguousarray(w_hh[order] * scale[:, None], dtype=dtype)  # (4H, H)
    hs = np.empty((T + 1, H, N), dtype=dtype)
    cs = np.empty((T + 1, H, N), dtype=dtype)
    tanh_c = np.empty((T, H, N), dtype=dtype)
    hs[0], cs[0] = _state(state[0], hs[0].T).T, _state(state[1], cs[0].T).T
    hw = np.empty((4 * H, N), dtype=dtype)
    ig = np.empty((H, N), dtype=dtype)
    with np.errstate(over="ignore"):  # exp(large) = inf gives sigma = 0, as it should
        for t in range(T):
            a = gates[t]
            np.dot(w_hh_s, hs[t], out=hw)
            a += hw
            np.exp(a, out=a)
            a += 1.0
            np.reciprocal(a, out=a)  # sigma(a_i), sigma(a_f), sigma(a_o), s = sigma(2 a_g)
            i, f, o, s = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
            np.multiply(i, s, out=ig)  # i * g = i * (2 s - 1) = 2 i s - i
            ig *= 2.0
            ig -= i
            np.multiply(f, cs[t], out=cs[t + 1])
            cs[t + 1] += ig
            _tanh(cs[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=hs[t + 1])
    cache = LayerCache(x=x, weights=weights, hs=hs, gates=gates, cs=cs, tanh_c=tanh_c)
    return hs[1:].transpose(0, 2, 1), (hs[T].T, cs[T].T), cache


def _times_sigmoid_slope(u: np.ndarray, s: np.ndarray, out: np.ndarray) -> None:
    """``out = u * s * (1 - s)``: ``u`` times the sigmoid's slope at the point where it is ``s``."""
    np.subtract(1, s, out=out)
    out *= s
    out *= u


def lstm_layer_backward(grad_out: np.ndarray, grad_state: tuple, cache: LayerCache) -> tuple:
    r"""BPTT for the LSTM. With :math:`g_t` the gradient reaching :math:`h_t` and
    :math:`\gamma_t` the one reaching :math:`c_t`:

    1. :math:`g_t = \text{grad\_out}_t + W_{hh}^\top \delta_{t+1}`;
    2. :math:`\gamma_t = g_t \odot o_t \odot (1 - \tanh^2 c_t) + \gamma_{t+1} \odot f_{t+1}`
       (the cell's additive path: the gradient flows back through :math:`f` only);
    3. pre-activation gradients :math:`\delta_t` (torch's order i, f, g, o):
       :math:`\gamma_t g_t i_t (1-i_t)`, :math:`\gamma_t c_{t-1} f_t (1-f_t)`,
       :math:`\gamma_t i_t (1-g_t^2)`, :math:`g_t \tanh(c_t)\, o_t (1-o_t)`;
    4. weight and input gradients as for the Elman RNN, from :math:`\delta_t`.

    The loop runs feature-major, as the forward pass (see ``lstm_layer_forward``).
    """
    hs, cs, tanh_c, gates = cache.hs, cache.cs, cache.tanh_c, cache.gates
    T, H, N = tanh_c.shape
    w_hh_t = np.ascontiguousarray(cache.weights[1].T, dtype=hs.dtype)  # (H, 4H)
    i, f, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H]
    g = 2 * gates[:, 3 * H:] - 1
    # The recursion-free factors, all steps at once; da4 is finished in place in the loop.
    da4 = np.empty((T, 4, H, N), dtype=hs.dtype)  # torch's gate order (i, f, g, o)
    _times_sigmoid_slope(g, i, out=da4[:, 0])
    _times_sigmoid_slope(cs[:-1], f, out=da4[:, 1])
    np.multiply(g, g, out=da4[:, 2])
    np.subtract(1, da4[:, 2], out=da4[:, 2])
    da4[:, 2] *= i
    _times_sigmoid_slope(tanh_c, o, out=da4[:, 3])
    dc_dh = tanh_c * tanh_c
    np.subtract(1, dc_dh, out=dc_dh)
    dc_dh *= o
    forget = np.ascontiguousarray(f)
    g_out = np.ascontiguousarray(np.asarray(grad_out, dtype=hs.dtype).transpose(0, 2, 1))
    dh = _state(grad_state[0], hs[0].T).T.copy()
    dc = _state(grad_state[1], hs[0].T).T.copy()
    tmp = np.empty((H, N), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        dh += g_out[t]
        np.multiply(dh, dc_dh[t], out=tmp)
        dc += tmp
        da4[t, :3] *= dc
        da4[t, 3] *= dh
        dc *= forget[t]
        np.dot(w_hh_t, da4[t].reshape(4 * H, N), out=dh)
    da = np.ascontiguousarray(da4.reshape(T, 4 * H, N).transpose(0, 2, 1))  # (T, N, 4H)
    rows = LayerCache(x=cache.x, weights=cache.weights, hs=hs.transpose(0, 2, 1))
    return _grad_x(da, rows), (dh.T, dc.T), _weight_grads(da, da, rows)


def lstm_proj_layer_forward(x: np.ndarray, weights: Weights,
                            state: tuple[np.ndarray | None, np.ndarray | None],
                            w_hr: np.ndarray) -> tuple:
    r"""LSTM with a projection (Sak, Senior & Beaufays 2014, https://arxiv.org/abs/1402.1128),
    torch's ``proj_size``: the gates as in :func:`lstm_layer_forward`, but the hidden state is
    projected to ``P < H`` features, :math:`h_t = W_{hr} (o_t \odot \tanh c_t)`, and it is
    :math:`h_{t-1}` (``P`` features) that feeds ``w_hh`` ``(4H, P)``; ``w_hr`` is ``(P, H)``.

    Returns ``(out (T, N, P), (h_T (N, P), c_T (N, H)), cache)``. The plain time-major loop
    (the projection breaks the fused feature-major layout of the unprojected LSTM).
    """
    w_ih, w_hh, b_ih, b_hh = weights
    T, N, _ = x.shape
    P, H = w_hr.shape
    dtype = _dtype(x, w_ih)
    xw = _input_part(x, w_ih, _add(b_ih, b_hh), dtype)
    hs = np.empty((T + 1, N, P), dtype=dtype)
    cs = np.empty((T + 1, N, H), dtype=dtype)
    gates = np.empty((T, N, 4 * H), dtype=dtype)
    tanh_c = np.empty((T, N, H), dtype=dtype)
    hs[0], cs[0] = _state(state[0], hs[0]), _state(state[1], cs[0])
    for t in range(T):
        a = xw[t] + hs[t] @ w_hh.T
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        gates[t] = np.concatenate([i, f, g, o], axis=1)
        cs[t + 1] = f * cs[t] + i * g
        tanh_c[t] = np.tanh(cs[t + 1])
        hs[t + 1] = (o * tanh_c[t]) @ w_hr.T
    cache = LayerCache(x=x, weights=weights, hs=hs, gates=gates, cs=cs, tanh_c=tanh_c,
                       w_hr=w_hr)
    return hs[1:], (hs[T], cs[T]), cache


def lstm_proj_layer_backward(grad_out: np.ndarray, grad_state: tuple, cache: LayerCache
                             ) -> tuple:
    r"""BPTT for :func:`lstm_proj_layer_forward`: as :func:`lstm_layer_backward`, with the
    gradient reaching :math:`m_t = o_t \odot \tanh c_t` equal to :math:`g_t W_{hr}` and
    :math:`\partial L / \partial W_{hr} = \sum_t g_t^\top m_t`. Returns ``(grad_x,
    (grad_h0, grad_c0), (grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, grad_w_hr))``."""
    hs, cs, tanh_c, gates, w_hr = cache.hs, cache.cs, cache.tanh_c, cache.gates, cache.w_hr
    w_hh = cache.weights[1]
    T, N, H = tanh_c.shape
    dh, dc = _state(grad_state[0], hs[0]), _state(grad_state[1], cs[0])
    da = np.empty_like(gates)
    grad_w_hr = np.zeros_like(w_hr)
    for t in range(T - 1, -1, -1):
        dh += grad_out[t]
        i, f, g, o = (gates[t, :, k * H:(k + 1) * H] for k in range(4))
        grad_w_hr += dh.T @ (o * tanh_c[t])
        dm = dh @ w_hr
        dc += dm * o * (1 - tanh_c[t] * tanh_c[t])
        da[t] = np.concatenate([dc * g * i * (1 - i), dc * cs[t] * f * (1 - f),
                                dc * i * (1 - g * g), dm * tanh_c[t] * o * (1 - o)], axis=1)
        dc *= f
        dh = da[t] @ w_hh
    return _grad_x(da, cache), (dh, dc), _weight_grads(da, da, cache) + (grad_w_hr,)


# -- GRU --------------------------------------------------------------------------------------
def gru_layer_forward(x: np.ndarray, weights: Weights, state: tuple[np.ndarray | None]) -> tuple:
    r"""GRU (Cho et al. 2014), torch's equations (note :math:`b_{hn}` inside the reset gate):

    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Returns ``(out (T, N, H), (h_T,), cache)``.
    """
    w_ih, w_hh, b_ih, b_hh = weights
    T, N, _ = x.shape
    H = w_hh.shape[1]
    dtype = _dtype(x, w_ih)
    gates = _input_part(x, w_ih, b_ih, dtype)
    w_hh_t = w_hh.T
    hs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0] = _state(state[0], hs[0])
    hw_n = np.empty((T, N, H), dtype=dtype)
    hw = np.empty((N, 3 * H), dtype=dtype)
    for t in range(T):
        a = gates[t]
        np.matmul(hs[t], w_hh_t, out=hw)
        if b_hh is not None:
            hw += b_hh
        rz = a[:, :2 * H]
        rz += hw[:, :2 * H]
        sigmoid(rz, out=rz)
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        hw_n[t] = hw[:, 2 * H:]
        n += r * hw_n[t]
        np.tanh(n, out=n)
        h = hs[t + 1]
        np.subtract(hs[t], n, out=h)  # h_t = n + z (h_{t-1} - n)
        h *= z
        h += n
    cache = LayerCache(x=x, weights=weights, hs=hs, gates=gates, hw_n=hw_n)
    return hs[1:], (hs[T],), cache


def gru_layer_backward(grad_out: np.ndarray, grad_state: tuple, cache: LayerCache) -> tuple:
    r"""BPTT for the GRU. With :math:`g_t` the gradient reaching :math:`h_t`, the
    pre-activation gradients are :math:`g_t` times factors that need no recursion:

    1. :math:`\delta^n_t = g_t (1 - z_t)(1 - n_t^2)`,
       :math:`\delta^z_t = g_t (h_{t-1} - n_t) z_t (1 - z_t)`,
       :math:`\delta^r_t = \delta^n_t \odot (W_{hn} h_{t-1} + b_{hn}) \odot r_t (1 - r_t)`;
    2. input side :math:`(\delta^r, \delta^z, \delta^n)`, hidden side
       :math:`(\delta^r, \delta^z, r \odot \delta^n)`;
    3. :math:`g_{t-1} = \text{grad\_out}_{t-1} + g_t \odot z_t
       + W_{hh}^\top (\text{hidden side})_t`.
    """
    hs, gates, hw_n, w_hh = cache.hs, cache.gates, cache.hw_n, cache.weights[1]
    T, N, H = hw_n.shape
    r, z, n = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
    da = np.empty((T, N, 3, H), dtype=hs.dtype)  # input side, gates (r, z, n) on axis 2
    dn = (1 - z) * (1 - n * n)
    da[:, :, 2] = dn
    da[:, :, 1] = (hs[:-1] - n) * z * (1 - z)
    da[:, :, 0] = dn * hw_n * r * (1 - r)
    dhw = da.copy()  # hidden side
    dhw[:, :, 2] *= r
    dh = _state(grad_state[0], hs[0])
    tmp = np.empty((N, H), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        dh += grad_out[t]
        da[t] *= dh[:, None, :]
        dhw[t] *= dh[:, None, :]
        np.matmul(dhw[t].reshape(N, 3 * H), w_hh, out=tmp)
        dh *= z[t]
        dh += tmp
    da, dhw = da.reshape(T, N, 3 * H), dhw.reshape(T, N, 3 * H)
    return _grad_x(da, cache), (dh,), _weight_grads(da, dhw, cache)
