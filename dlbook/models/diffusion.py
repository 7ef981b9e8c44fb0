r"""Denoising diffusion: noise schedules, the closed-form forward process, the
:math:`\epsilon`-prediction loss, an MLP denoiser with a sinusoidal time embedding (NumPy with a
hand backward, and its torch twin), DDPM and DDIM sampling, and classifier-free guidance.

The forward process adds Gaussian noise in :math:`T` steps,
:math:`q(x_t \mid x_{t-1}) = \mathcal N(\sqrt{1 - \beta_t}\, x_{t-1}, \beta_t I)`; with
:math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_t = \prod_{s \le t} \alpha_s` it has the
closed form

.. math::
    q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\big),
    \qquad x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\,\epsilon .

A network :math:`\epsilon_\theta(x_t, t)` learns to predict the noise with the loss
:math:`\lVert \epsilon - \epsilon_\theta(x_t, t) \rVert^2` (Ho et al. 2020); sampling runs the
process backwards, step by step (DDPM) or deterministically on a few steps (DDIM, Song et al.
2021). Timesteps are 0-based here: ``t = 0`` is the first noising step, ``T - 1`` the last.
torch is imported only inside the torch functions.

References:
    J. Sohl-Dickstein et al., "Deep Unsupervised Learning using Nonequilibrium
    Thermodynamics", ICML 2015.
    J. Ho, A. Jain, P. Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    https://arxiv.org/abs/2006.11239
    J. Song, C. Meng, S. Ermon, "Denoising Diffusion Implicit Models", ICLR 2021.
    https://arxiv.org/abs/2010.02502
    A. Nichol, P. Dhariwal, "Improved Denoising Diffusion Probabilistic Models", ICML 2021.
    J. Ho, T. Salimans, "Classifier-Free Diffusion Guidance", 2022.
    https://arxiv.org/abs/2207.12598
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook import nn
from dlbook.nn._checks import check_dim, check_ndim, float_array

EpsModel = Callable[[np.ndarray, np.ndarray], np.ndarray]


# -- schedules and the forward process ---------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    r"""A noise schedule: ``betas`` :math:`\beta_t`, ``alphas`` :math:`1 - \beta_t` and
    ``alpha_bar`` :math:`\bar\alpha_t = \prod_{s \le t}\alpha_s`, each ``(T,)`` float64."""

    betas: np.ndarray
    alphas: np.ndarray
    alpha_bar: np.ndarray

    @classmethod
    def from_betas(cls, betas: np.ndarray) -> Schedule:
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or np.any(betas <= 0) or np.any(betas >= 1):
            raise ValueError("Schedule: betas must be a 1-D array of values in (0, 1)")
        alphas = 1.0 - betas
        return cls(betas, alphas, np.cumprod(alphas))

    @property
    def T(self) -> int:
        return len(self.betas)

    @property
    def snr(self) -> np.ndarray:
        r"""The signal-to-noise ratio :math:`\bar\alpha_t / (1 - \bar\alpha_t)`, ``(T,)``."""
        return self.alpha_bar / (1.0 - self.alpha_bar)


def linear_schedule(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
    r"""Ho et al.'s schedule: :math:`\beta_t` linear from ``beta_start`` to ``beta_end``.
    Other :math:`T` keep the same total noise by scaling both ends by :math:`1000/T`."""
    scale = 1000 / T
    return Schedule.from_betas(np.linspace(scale * beta_start, scale * beta_end, T))


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    r"""Nichol & Dhariwal's schedule: :math:`\bar\alpha_t = f(t)/f(0)` with
    :math:`f(t) = \cos^2\big(\frac{t/T + s}{1 + s}\frac{\pi}{2}\big)`, betas clipped at
    ``max_beta`` (the last steps would otherwise be 1)."""
    steps = np.arange(T + 1) / T
    f = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
    return Schedule.from_betas(np.clip(1 - f[1:] / f[:-1], 1e-8, max_beta))


def q_sample(x0: np.ndarray, t: np.ndarray, eps: np.ndarray, alpha_bar: np.ndarray) -> np.ndarray:
    r""":math:`x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\,\epsilon`, a draw from
    :math:`q(x_t \mid x_0)` in one step.

    Shape:
        - ``x0``, ``eps``: ``(N, *)``; ``t``: ``(N,)`` integers in ``[0, T)``; output like ``x0``.
    """
    a = np.asarray(alpha_bar)[np.asarray(t)].reshape((-1,) + (1,) * (np.ndim(x0) - 1))
    return (np.sqrt(a) * x0 + np.sqrt(1.0 - a) * eps).astype(np.asarray(x0).dtype, copy=False)


# -- the denoiser ------------------------------------------------------------------------------
def timestep_embedding(t: np.ndarray, dim: int, max_period: float = 10000.0) -> np.ndarray:
    r"""The sinusoidal embedding of integer timesteps (Vaswani et al. 2017; Ho et al. 2020):
    :math:`[\cos(t\omega_k), \sin(t\omega_k)]_k` with :math:`\omega_k = P^{-k/(d/2)}`,
    ``(N,) -> (N, dim)`` float64, ``dim`` even."""
    if dim % 2:
        raise ValueError(f"timestep_embedding: dim must be even, got {dim}")
    freqs = np.exp(-math.log(max_period) * np.arange(dim // 2) / (dim // 2))
    angles = np.asarray(t, dtype=np.float64)[:, None] * freqs[None, :]
    return np.concatenate([np.cos(angles), np.sin(angles)], axis=1)


def _denoiser_net(lib: Any, n_in: int, hidden: int, n_out: int) -> Any:
    return lib.Sequential(lib.Linear(n_in, hidden), lib.SiLU(), lib.Linear(hidden, hidden),
                          lib.SiLU(), lib.Linear(hidden, hidden), lib.SiLU(),
                          lib.Linear(hidden, n_out))


class Denoiser(nn.Module):
    r"""An MLP :math:`\epsilon_\theta(x_t, t[, y])`: the input, the sinusoidal embedding of
    :math:`t` and (when ``n_classes > 0``) a one-hot class go in side by side,
    ``[x_t, \mathrm{emb}(t), \mathrm{onehot}(y)]``, through three SiLU layers to a noise
    estimate of the input's size.

    With ``n_classes = K`` the one-hot has :math:`K + 1` entries: class :math:`K` is the
    *null* label, "no class", which classifier-free guidance trains with and samples with.

    Args:
        data_dim: size :math:`D` of a sample (2 for the ring, 64 for 8x8 digits).
        hidden: width of the hidden layers.
        time_dim: size of the time embedding (even).
        n_classes: number of classes for conditioning (0: unconditional).

    Shape:
        - ``forward(x, t, y=None)``: ``x`` ``(N, D)``, ``t`` ``(N,)`` integers, ``y`` ``(N,)``
          integers in ``[0, K]`` or None (all null); output ``(N, D)``.
        - ``backward(grad_out)``: ``(N, D)`` -> gradient w.r.t. ``x``, ``(N, D)``. The
          embedding and the one-hot are constants, so the input gradient is the first
          :math:`D` columns of ``net.backward``; every ``Linear`` adds into its ``.grad``.
    """

    def __init__(self, data_dim: int = 2, hidden: int = 128, time_dim: int = 16,
                 n_classes: int = 0) -> None:
        super().__init__()
        self.data_dim, self.time_dim, self.n_classes = data_dim, time_dim, n_classes
        n_in = data_dim + time_dim + (n_classes + 1 if n_classes else 0)
        self.net = _denoiser_net(nn, n_in, hidden, data_dim)

    def features(self, x: np.ndarray, t: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """The network's input ``[x, emb(t), onehot(y)]``, ``(N, D + time_dim [+ K + 1])``."""
        x = float_array(x, "Denoiser")
        check_ndim(x, (2,), "Denoiser", "(N, D)")
        check_dim(x, 1, self.data_dim, "Denoiser", "D")
        t = np.asarray(t)
        if t.shape != (len(x),) or not np.issubdtype(t.dtype, np.integer):
            raise ValueError(f"Denoiser: t must be ({len(x)},) integers, got {t.dtype} {t.shape}")
        parts = [x, timestep_embedding(t, self.time_dim).astype(x.dtype)]
        if self.n_classes:
            labels = np.full(len(x), self.n_classes) if y is None else np.asarray(y)
            parts.append(np.eye(self.n_classes + 1, dtype=x.dtype)[labels])
        return np.concatenate(parts, axis=1)

    def forward(self, x: np.ndarray, t: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        return self.net(self.features(x, t, y))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self.net.backward(grad_out)[:, :self.data_dim]

    def extra_repr(self) -> str:
        return f"data_dim={self.data_dim}, time_dim={self.time_dim}, n_classes={self.n_classes}"


def denoiser_step(model: Denoiser, opt: Any, x0: np.ndarray, t: np.ndarray, eps: np.ndarray,
                  alpha_bar: np.ndarray, y: np.ndarray | None = None) -> float:
    r"""One training step of the :math:`\epsilon`-prediction loss in NumPy; returns the loss.

    :math:`L = \frac{1}{ND}\sum \lVert \epsilon - \epsilon_\theta(x_t, t)\rVert^2` with
    :math:`x_t` from :func:`q_sample`; its gradient with respect to the prediction,
    :math:`2(\epsilon_\theta - \epsilon)/(ND)` (``MSELoss.backward``), goes through
    ``model.backward``, and ``opt`` steps.
    """
    mse = nn.MSELoss()
    opt.zero_grad()
    loss = mse(model(q_sample(x0, t, eps, alpha_bar), t, y), eps)
    model.backward(mse.backward())
    opt.step()
    return float(loss)


def denoiser_torch(data_dim: int = 2, hidden: int = 128, time_dim: int = 16,
                   n_classes: int = 0) -> Any:
    """:class:`Denoiser` in torch, same parameter names; ``forward(x, t, y=None)`` with
    ``t`` and ``y`` integer tensors."""
    import torch

    n_in = data_dim + time_dim + (n_classes + 1 if n_classes else 0)

    class TorchDenoiser(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = _denoiser_net(torch.nn, n_in, hidden, data_dim)

        def forward(self, x: Any, t: Any, y: Any = None) -> Any:
            half = time_dim // 2
            freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / half)
            angles = t.to(torch.float64)[:, None] * freqs[None, :]
            parts = [x, torch.cat([torch.cos(angles), torch.sin(angles)], dim=1).to(x.dtype)]
            if n_classes:
                labels = torch.full((len(x),), n_classes) if y is None else y
                parts.append(torch.nn.functional.one_hot(labels, n_classes + 1).to(x.dtype))
            return self.net(torch.cat(parts, dim=1))

    return TorchDenoiser()


def diffusion_loss_torch(model: Any, x0: Any, t: Any, eps: Any, alpha_bar: Any,
                         y: Any = None) -> Any:
    r"""The :math:`\epsilon`-prediction loss in torch (mean squared error over all entries)."""
    a = alpha_bar[t].reshape((-1,) + (1,) * (x0.dim() - 1)).to(x0.dtype)
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
    return ((model(x_t, t, y) - eps) ** 2).mean()


def torch_eps(model: Any, y: Any = None, guidance: float = 0.0) -> EpsModel:
    r"""A NumPy callable ``eps(x, t)`` from a torch denoiser, for the samplers below.

    With class labels ``y`` and ``guidance`` :math:`w`, classifier-free guidance
    (Ho & Salimans 2022): :math:`\tilde\epsilon = (1 + w)\,\epsilon_\theta(x, t, y) -
    w\,\epsilon_\theta(x, t, \varnothing)`; :math:`w = 0` is the plain conditional model.
    """
    import torch

    def eps(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            xt, tt = torch.from_numpy(x), torch.from_numpy(np.asarray(t, dtype=np.int64))
            yt = None if y is None else torch.as_tensor(y)
            out = model(xt, tt, yt)
            if guidance:
                out = (1 + guidance) * out - guidance * model(xt, tt, None)
        return out.numpy()

    return eps


# -- sampling ----------------------------------------------------------------------------------
def ddpm_step(x_t: np.ndarray, eps: np.ndarray, alpha_bar_t: float, alpha_bar_prev: float,
              z: np.ndarray | None) -> np.ndarray:
    r"""One ancestral step (Ho et al. 2020, Algorithm 2) from :math:`t` to the previous kept
    timestep, with :math:`\alpha = \bar\alpha_t / \bar\alpha_{\text{prev}}` and
    :math:`\beta = 1 - \alpha` (the schedule's own :math:`\alpha_t, \beta_t` when no step is
    skipped) and :math:`\sigma^2 = \beta`:

    .. math::
        x_{\text{prev}} = \frac{1}{\sqrt{\alpha}}\Big(x_t - \frac{\beta}{\sqrt{1 -
        \bar\alpha_t}}\,\epsilon_\theta(x_t, t)\Big) + \sigma z,

    with ``z = None`` (no noise) at the last step.
    """
    alpha = alpha_bar_t / alpha_bar_prev
    beta = 1.0 - alpha
    out = (x_t - beta / math.sqrt(1.0 - alpha_bar_t) * eps) / math.sqrt(alpha)
    if z is not None:
        out = out + math.sqrt(beta) * z
    return out.astype(x_t.dtype, copy=False)


def ddpm_sample(eps_model: EpsModel, schedule: Schedule, x_T: np.ndarray,
                rng: np.random.Generator, steps: int | None = None) -> np.ndarray:
    """Ancestral sampling from ``x_T`` ``(N, D)`` (standard normal): all :math:`T` steps, or
    ``steps`` evenly spaced ones (the schedule respaced as in Nichol & Dhariwal 2021)."""
    x, ts = x_T, ddim_timesteps(schedule.T, steps or schedule.T)
    for i, t in enumerate(ts):
        last = i + 1 == len(ts)
        ab_prev = 1.0 if last else schedule.alpha_bar[ts[i + 1]]
        z = None if last else rng.standard_normal(x.shape).astype(x.dtype)
        x = ddpm_step(x, eps_model(x, np.full(len(x), t)), schedule.alpha_bar[t], ab_prev, z)
    return x


def ddim_step(x_t: np.ndarray, eps: np.ndarray, alpha_bar_t: float,
              alpha_bar_prev: float) -> np.ndarray:
    r"""One deterministic DDIM step (Song et al. 2021, eq. 12 with :math:`\sigma = 0`): predict
    :math:`\hat x_0 = (x_t - \sqrt{1 - \bar\alpha_t}\,\epsilon)/\sqrt{\bar\alpha_t}`, then move to
    :math:`x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1 - \bar\alpha_{t'}}\,\epsilon`."""
    x0_hat = (x_t - math.sqrt(1 - alpha_bar_t) * eps) / math.sqrt(alpha_bar_t)
    out = math.sqrt(alpha_bar_prev) * x0_hat + math.sqrt(1 - alpha_bar_prev) * eps
    return out.astype(x_t.dtype, copy=False)


def ddim_timesteps(T: int, steps: int) -> np.ndarray:
    """``steps`` timesteps evenly spaced from ``T - 1`` down to 0 (decreasing, distinct)."""
    if not 1 <= steps <= T:
        raise ValueError(f"ddim_timesteps: steps must be in [1, {T}], got {steps}")
    return np.unique(np.round(np.linspace(T - 1, 0, steps)).astype(np.int64))[::-1]


def ddim_sample(eps_model: EpsModel, schedule: Schedule, x_T: np.ndarray,
                steps: int) -> np.ndarray:
    r"""Deterministic DDIM sampling on ``steps`` of the :math:`T` timesteps; after the last
    (``t = 0``) the step goes to :math:`\bar\alpha = 1`, i.e. returns :math:`\hat x_0`."""
    x, ts = x_T, ddim_timesteps(schedule.T, steps)
    for i, t in enumerate(ts):
        ab_prev = schedule.alpha_bar[ts[i + 1]] if i + 1 < len(ts) else 1.0
        x = ddim_step(x, eps_model(x, np.full(len(x), t)), schedule.alpha_bar[t], ab_prev)
    return x
