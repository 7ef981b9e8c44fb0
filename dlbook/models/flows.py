r"""Normalising flows: RealNVP's affine coupling layer (Dinh, Sohl-Dickstein & Bengio 2017),
fixed permutations between couplings, and a stack of them trained by exact maximum likelihood.

A flow is an invertible map :math:`z = f(x)` onto a simple base density :math:`p_Z` (a
standard normal). The change of variables gives the exact log-likelihood

.. math::
    \log p_X(x) = \log p_Z(f(x)) + \log\left|\det \frac{\partial f}{\partial x}\right|,

and a stack :math:`f = f_K \circ \dots \circ f_1` adds up the log-determinants of its layers.
An **affine coupling** keeps the coordinates picked by a binary ``mask`` :math:`m` and moves
the others by a scale and shift computed from the kept ones only:

.. math::
    y = m \odot x + (1 - m) \odot \big(x \odot e^{s} + t\big), \qquad
    s = (1 - m) \odot \tanh(a_s), \quad t = (1 - m) \odot a_t, \quad
    [a_s, a_t] = \mathrm{net}(m \odot x).

Its Jacobian is triangular (the kept coordinates do not depend on the moved ones), with
diagonal :math:`1` on the kept and :math:`e^{s_j}` on the moved coordinates, so
:math:`\log|\det| = \sum_j s_j`; and it inverts in closed form,
:math:`x = m \odot y + (1 - m) \odot (y - t)\, e^{-s}`, since :math:`s, t` depend only on
:math:`m \odot y = m \odot x`. The :math:`\tanh` bounds each log-scale to :math:`(-1, 1)` per
layer, which keeps early training stable.

:class:`AffineCoupling`, :class:`Permutation` and :class:`RealNVP` are ``dlbook.nn`` modules
with a hand-written backward; :func:`realnvp_torch` builds the same flow in torch with the same
parameter names. torch is imported only inside :func:`realnvp_torch`.

References:
    L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real NVP", ICLR 2017.
    https://arxiv.org/abs/1605.08803
    G. Papamakarios et al., "Normalizing Flows for Probabilistic Modeling and Inference",
    JMLR 2021.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook import nn
from dlbook.nn._checks import check_dim, check_grad, check_ndim, float_array

LOG_2PI = math.log(2 * math.pi)


def coupling_mask(dim: int, parity: int = 0) -> np.ndarray:
    """The binary mask ``(dim,)`` that keeps the first half (``parity=0``) or the second half."""
    if dim < 2:
        raise ValueError(f"coupling_mask: a coupling needs dim >= 2, got {dim}")
    mask = (np.arange(dim) < dim // 2).astype(np.float64)
    return mask if parity == 0 else 1.0 - mask


def _conditioner(lib: Any, dim: int, hidden: int) -> Any:
    """The conditioner: ``Linear(dim, hidden)``, ReLU, ``Linear(hidden, hidden)``, ReLU,
    ``Linear(hidden, 2 dim)``."""
    return lib.Sequential(lib.Linear(dim, hidden), lib.ReLU(), lib.Linear(hidden, hidden),
                          lib.ReLU(), lib.Linear(hidden, 2 * dim))


class AffineCoupling(nn.Module):
    r"""One RealNVP affine coupling layer (see the module docstring for the maths).

    Args:
        dim: number of coordinates :math:`D`.
        hidden: width of the conditioner's two hidden layers.
        parity: 0 keeps the first :math:`\lfloor D/2 \rfloor` coordinates, 1 the others.

    Shape:
        - ``forward(x)``: ``x`` ``(N, D)`` -> ``(y, logdet)``, ``y`` ``(N, D)``,
          ``logdet`` ``(N,)``.
        - ``net``: the conditioner, ``(N, D) -> (N, 2D)``; the first :math:`D` outputs are
          :math:`a_s`, the last :math:`D` are :math:`a_t`.

    Backward, given :math:`G_y = \partial L/\partial y` and :math:`g = \partial L /
    \partial\,\mathrm{logdet}` (one number per sample):

    1. :math:`\partial L/\partial t = (1 - m) \odot G_y`.
    2. :math:`\partial L/\partial s = (1 - m) \odot (G_y \odot x \odot e^{s} + g)`
       (:math:`y` depends on :math:`s` through :math:`x e^s`, logdet through :math:`\sum s`).
    3. :math:`\partial L/\partial a_s = (1 - m)\odot\partial L/\partial s \odot (1 - \tanh^2 a_s)`,
       :math:`\partial L/\partial a_t = (1 - m) \odot \partial L/\partial t`.
    4. :math:`\partial L/\partial x = G_y \odot (m + (1 - m) e^{s}) + m \odot
       \mathrm{net.backward}([\partial L/\partial a_s, \partial L/\partial a_t])`.
    """

    def __init__(self, dim: int = 2, hidden: int = 64, parity: int = 0) -> None:
        super().__init__()
        self.dim = dim
        self.mask = coupling_mask(dim, parity)
        self.net = _conditioner(nn, dim, hidden)

    def _scale_shift(self, x_kept: np.ndarray) -> tuple[np.ndarray, ...]:
        out = self.net(x_kept)
        a_s, a_t = out[:, :self.dim], out[:, self.dim:]
        free = (1.0 - self.mask).astype(out.dtype)
        tanh_s = np.tanh(a_s)
        return free * tanh_s, free * a_t, tanh_s, free

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = float_array(x, "AffineCoupling")
        check_ndim(x, (2,), "AffineCoupling", "(N, D)")
        check_dim(x, 1, self.dim, "AffineCoupling", "D")
        keep = self.mask.astype(x.dtype)
        s, t, tanh_s, free = self._scale_shift(keep * x)
        exp_s = np.exp(s)
        y = keep * x + free * (x * exp_s + t)
        self.save_for_backward(x=x, exp_s=exp_s, tanh_s=tanh_s, keep=keep, free=free)
        return y, s.sum(axis=1)

    def backward(self, grad_y: np.ndarray, grad_logdet: np.ndarray | None = None) -> np.ndarray:
        """Gradient with respect to ``x``; adds into the conditioner's ``.grad``."""
        sv = self.saved
        grad_y = check_grad(grad_y, sv.x.shape, "AffineCoupling")
        g = np.zeros(len(sv.x), sv.x.dtype) if grad_logdet is None else np.asarray(grad_logdet)
        grad_t = sv.free * grad_y                                          # step 1
        grad_s = sv.free * (grad_y * sv.x * sv.exp_s + g[:, None])         # step 2
        grad_a = np.concatenate([grad_s * (1.0 - sv.tanh_s ** 2), grad_t], axis=1)  # step 3
        grad_kept = self.net.backward(grad_a)
        return grad_y * (sv.keep + sv.free * sv.exp_s) + sv.keep * grad_kept  # step 4

    def inverse(self, y: np.ndarray) -> np.ndarray:
        r""":math:`x = m \odot y + (1 - m) \odot (y - t) e^{-s}`, ``(N, D) -> (N, D)``."""
        y = float_array(y, "AffineCoupling.inverse")
        keep = self.mask.astype(y.dtype)
        s, t, _, free = self._scale_shift(keep * y)
        return keep * y + free * (y - t) * np.exp(-s)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, mask={self.mask.astype(int).tolist()}"


class Permutation(nn.Module):
    r"""A fixed permutation of the coordinates, :math:`y = x_{[:, \pi]}`: volume-preserving
    (:math:`\log|\det| = 0`), so that the next coupling moves the coordinates this one kept.

    Shape:
        - ``forward(x)``: ``(N, D)`` -> ``(y, logdet)`` with ``logdet`` zeros ``(N,)``.
        - Backward: the gradient un-permuted, :math:`G_x[:, \pi] = G_y`.
    """

    def __init__(self, perm: np.ndarray | list[int]) -> None:
        super().__init__()
        self.perm = np.asarray(perm, dtype=np.int64)
        if sorted(self.perm.tolist()) != list(range(len(self.perm))):
            raise ValueError(f"Permutation: {self.perm.tolist()} is not a permutation")
        self.inv = np.argsort(self.perm)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = float_array(x, "Permutation")
        check_dim(x, 1, len(self.perm), "Permutation", "D")
        return x[:, self.perm], np.zeros(len(x), x.dtype)

    def backward(self, grad_y: np.ndarray, grad_logdet: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(grad_y)[:, self.inv]

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y)[:, self.inv]

    def extra_repr(self) -> str:
        return f"perm={self.perm.tolist()}"


class RealNVP(nn.Module):
    r"""A stack of ``n_couplings`` affine couplings with the reversal permutation between them,
    on a standard normal base density.

    ``forward(x)`` returns ``(z, logdet)``; :meth:`nll` the mean negative log-likelihood in
    nats, :math:`-\frac1N \sum_n [\log p_Z(z_n) + \mathrm{logdet}_n]`; :meth:`backward` after
    :meth:`nll` fills every parameter's ``.grad`` with its gradient, walking the layers in
    reverse with :math:`\partial L/\partial z = z/N` and :math:`\partial L/\partial\,
    \mathrm{logdet} = -1/N`.

    Shape:
        - ``x``: ``(N, D)``; ``z``: ``(N, D)``; ``logdet``: ``(N,)``.
        - ``layers``: ``ModuleList`` of ``AffineCoupling`` and ``Permutation`` (no parameters).
    """

    def __init__(self, dim: int = 2, hidden: int = 64, n_couplings: int = 6) -> None:
        super().__init__()
        self.dim = dim
        layers: list[nn.Module] = []
        for i in range(n_couplings):
            layers.append(AffineCoupling(dim, hidden))
            if i < n_couplings - 1:
                layers.append(Permutation(np.arange(dim)[::-1]))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logdet = np.zeros(len(x), np.asarray(x).dtype)
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        r""":math:`\log p_X(x)`, ``(N,)``: the base density at :math:`f(x)` plus the logdet."""
        z, logdet = self.forward(x)
        return -0.5 * np.sum(z ** 2, axis=1) - 0.5 * self.dim * LOG_2PI + logdet

    def nll(self, x: np.ndarray) -> float:
        """The mean negative log-likelihood in nats; keeps what :meth:`backward` needs."""
        z, logdet = self.forward(x)
        self._z = z
        return float(np.mean(0.5 * np.sum(z ** 2, axis=1) + 0.5 * self.dim * LOG_2PI - logdet))

    def backward(self, grad_out: float = 1.0) -> np.ndarray:
        """Gradient of ``grad_out * nll`` with respect to ``x``; adds into every ``.grad``."""
        if getattr(self, "_z", None) is None:
            raise RuntimeError("RealNVP.backward: call nll(x) first")
        n = len(self._z)
        grad = grad_out * self._z / n
        grad_logdet = np.full(n, -grad_out / n, self._z.dtype)
        for layer in reversed(list(self.layers)):
            grad = layer.backward(grad, grad_logdet)
        self._z = None
        return grad

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """:math:`x = f^{-1}(z)`, the layers undone in reverse order."""
        for layer in reversed(list(self.layers)):
            z = layer.inverse(z)
        return z

    def sample(self, n: int, rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
        """``n`` samples: standard normal ``z`` pushed through the inverse, ``(n, D)``."""
        return self.inverse(rng.standard_normal((n, self.dim)).astype(dtype))


def realnvp_torch(dim: int = 2, hidden: int = 64, n_couplings: int = 6) -> Any:
    """The same flow in torch (same parameter names): ``forward(x) -> (z, logdet)``,
    ``log_prob(x)``, ``nll(x)`` (mean, in nats), ``inverse(z)``."""
    import torch

    class Coupling(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mask", torch.tensor(coupling_mask(dim)), persistent=False)
            self.net = _conditioner(torch.nn, dim, hidden)

        def _scale_shift(self, x_kept: Any) -> tuple[Any, Any]:
            a_s, a_t = self.net(x_kept).split(dim, dim=1)
            free = 1 - self.mask.to(x_kept.dtype)
            return free * torch.tanh(a_s), free * a_t

        def forward(self, x: Any) -> tuple[Any, Any]:
            keep = self.mask.to(x.dtype)
            s, t = self._scale_shift(keep * x)
            return keep * x + (1 - keep) * (x * torch.exp(s) + t), s.sum(dim=1)

        def inverse(self, y: Any) -> Any:
            keep = self.mask.to(y.dtype)
            s, t = self._scale_shift(keep * y)
            return keep * y + (1 - keep) * (y - t) * torch.exp(-s)

    class Flip(torch.nn.Module):
        def forward(self, x: Any) -> tuple[Any, Any]:
            return x.flip(1), x.new_zeros(len(x))

        def inverse(self, y: Any) -> Any:
            return y.flip(1)

    class Flow(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[torch.nn.Module] = []
            for i in range(n_couplings):
                layers.append(Coupling())
                if i < n_couplings - 1:
                    layers.append(Flip())
            self.layers = torch.nn.ModuleList(layers)

        def forward(self, x: Any) -> tuple[Any, Any]:
            logdet = x.new_zeros(len(x))
            for layer in self.layers:
                x, ld = layer(x)
                logdet = logdet + ld
            return x, logdet

        def log_prob(self, x: Any) -> Any:
            z, logdet = self(x)
            return -0.5 * (z ** 2).sum(dim=1) - 0.5 * dim * LOG_2PI + logdet

        def nll(self, x: Any) -> Any:
            return -self.log_prob(x).mean()

        def inverse(self, z: Any) -> Any:
            for layer in reversed(self.layers):
                z = layer.inverse(z)
            return z

    return Flow()
