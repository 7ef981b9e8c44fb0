"""Mini-batches of arrays, the NumPy counterpart of a torch ``DataLoader``."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dlbook import random as dlrandom


def batches(X: np.ndarray, y: np.ndarray | None = None, batch_size: int = 32,
            shuffle: bool = True, rng: np.random.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray] | np.ndarray]:
    """Yield ``(X_batch, y_batch)`` pairs (``X_batch`` alone when ``y`` is None).

    One pass over the data (an epoch): in a random order drawn from ``rng`` when ``shuffle``
    (dlbook's default generator when ``rng`` is None), else in order. The last batch is smaller
    unless ``drop_last``.
    """
    X = np.asarray(X)
    if y is not None and len(y) != len(X):
        raise ValueError(f"batches: X has {len(X)} rows but y has {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be at least 1, got {batch_size}")
    n = len(X)
    order = dlrandom.resolve(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx] if y is None else (X[idx], np.asarray(y)[idx])
