r"""The ring of Gaussians, the standard test of mode collapse for GANs, and its metric.

:func:`make_ring` draws from :math:`K` (8 by default) isotropic Gaussians with standard
deviation ``std`` whose means sit evenly on a circle of radius ``radius`` (Metz et al. 2017,
"Unrolled generative adversarial networks"; Srivastava et al. 2017, "VEEGAN").

:func:`mode_coverage` measures a generator's samples as those papers do: a sample is of
**high quality** when it lies within ``threshold`` (3) standard deviations of the nearest mean,
and a mode is **hit** when enough high-quality samples fall near it. A collapsed generator hits
one or a few modes with samples of high quality; a blurry one hits none.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def ring_centers(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    r"""The means :math:`r(\cos 2\pi k/K, \sin 2\pi k/K)`, ``(n_modes, 2)``, mode 0 on x."""
    if n_modes < 1 or radius <= 0:
        raise ValueError(f"ring_centers: need n_modes >= 1 and radius > 0, got {n_modes}, "
                         f"{radius}")
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def make_ring(n: int = 1000, n_modes: int = 8, radius: float = 2.0, std: float = 0.02,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from the ring of ``n_modes`` Gaussians: ``X`` ``(n, 2)`` float64 and the
    mode of each point ``y`` ``(n,)`` int64 (modes drawn uniformly at random)."""
    if std <= 0:
        raise ValueError(f"make_ring: std must be positive, got {std}")
    centers = ring_centers(n_modes, radius)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_modes, size=n).astype(np.int64)
    return centers[y] + std * rng.standard_normal((n, 2)), y


@dataclass(frozen=True)
class ModeCoverage:
    """What :func:`mode_coverage` measured.

    Attributes:
        modes_hit: how many modes received at least ``min_fraction`` of the samples as
            high-quality samples.
        high_quality: the fraction of all samples within ``threshold`` std of their nearest
            mean.
        counts: high-quality samples per mode, ``(n_modes,)``.
        assigned: all samples per nearest mode, ``(n_modes,)``, whatever their distance.
        modes_reached: how many modes are the nearest of at least ``min_fraction`` of the
            samples (of any quality): a blurry generator spread over the ring reaches every
            mode and hits none; a collapsed one reaches one or two.
    """

    modes_hit: int
    high_quality: float
    counts: np.ndarray
    assigned: np.ndarray
    modes_reached: int

    def __str__(self) -> str:
        return (f"{self.modes_hit}/{len(self.counts)} modes hit, "
                f"{self.high_quality:.0%} high-quality samples, "
                f"{self.modes_reached}/{len(self.counts)} modes reached")


def mode_coverage(samples: np.ndarray, centers: np.ndarray, std: float,
                  threshold: float = 3.0, min_fraction: float = 0.01) -> ModeCoverage:
    r"""Modes hit, the fraction of high-quality samples, and modes reached.

    Each sample :math:`x` goes to its nearest mean :math:`c_k`; it is of high quality when
    :math:`\lVert x - c_k\rVert < \text{threshold}\cdot\text{std}`. Mode :math:`k` is hit when
    its high-quality samples are at least ``min_fraction`` of all samples (1%, where a perfect
    generator gives each of 8 modes 12.5%), so that a few stray samples do not count as a mode.

    Shape:
        - ``samples``: ``(N, 2)``; ``centers``: ``(K, 2)``.
    """
    samples, centers = np.asarray(samples, dtype=np.float64), np.asarray(centers, np.float64)
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"mode_coverage: expected samples (N, D) and centers (K, D), got "
                         f"{samples.shape} and {centers.shape}")
    if len(samples) == 0:
        raise ValueError("mode_coverage: no samples")
    if std <= 0 or threshold <= 0:
        raise ValueError(f"mode_coverage: std and threshold must be positive, got {std}, "
                         f"{threshold}")
    dist = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(samples)), nearest] < threshold * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    assigned = np.bincount(nearest, minlength=len(centers))
    enough = min_fraction * len(samples)
    return ModeCoverage(int(np.sum(counts >= enough)), float(good.mean()), counts, assigned,
                        int(np.sum(assigned >= enough)))
