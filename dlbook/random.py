"""The random-number source of dlbook, mirroring ``torch.manual_seed``.

Every initialiser and every random layer (Dropout, ...) draws from one explicit
:class:`numpy.random.Generator`. ``manual_seed(s)`` replaces it, so a notebook that seeds
once is reproducible, and a test can pass its own generator instead.
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset dlbook's default generator to ``seed`` and return it (as ``torch.manual_seed``)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator that initialisers and random layers use when given none."""
    return _generator


def resolve(generator: np.random.Generator | None) -> np.random.Generator:
    """``generator`` if one is given, else the default generator."""
    return _generator if generator is None else generator
