"""Shared test fixtures. Keep this file small.

- ``DEVICES``: ``["cpu"]``, plus ``"cuda"`` when torch sees a GPU. Parametrize with it
  or just ask for the ``device`` fixture, which runs the test once per device
  (session-scoped, so it also works with hypothesis's ``@given``).
- ``randn``: ``randn(*shape, dtype=np.float64)`` draws standard-normal NumPy arrays from a
  generator seeded per test, so inputs are random but reproducible.
- ``to_torch(x, device, requires_grad=False)``: a torch tensor copy of a NumPy array.
- ``torch_float64``: makes float64 torch's default dtype inside one test.
- Do not ``from conftest import ...``: with several conftest.py files (tests/optim/ has one)
  the name ``conftest`` can resolve to the wrong one. Shared plain helpers live in modules
  with their own names, e.g. ``from finite_diff import numeric_grad``.
- Every test runs with torch's global settings (default dtype, TF32 flags, deterministic
  algorithms) restored afterwards, so no test leaks them into another.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np
import pytest

try:
    import torch
except ImportError:  # the library tests that need torch import it themselves
    torch = None

DEVICES = ["cpu"] + (["cuda"] if torch is not None and torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES, scope="session")
def device(request: pytest.FixtureRequest) -> str:
    """Each torch device the tests can use: "cpu", and "cuda" where there is one."""
    return request.param


@pytest.fixture
def randn(request: pytest.FixtureRequest) -> Callable[..., np.ndarray]:
    """``randn(*shape, dtype=np.float64)``: standard-normal arrays, seeded by the test's name."""
    rng = np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))

    def draw(*shape: int, dtype: type = np.float64) -> np.ndarray:
        return rng.standard_normal(shape).astype(dtype)
    return draw


def to_torch(x: np.ndarray, device: str = "cpu", requires_grad: bool = False):
    """A torch tensor holding a copy of ``x`` (same dtype) on ``device``."""
    return torch.tensor(np.asarray(x), device=device, requires_grad=requires_grad)


@pytest.fixture
def torch_float64() -> Iterator[None]:
    """Make float64 torch's default dtype for one test (restored by ``_torch_state``)."""
    torch.set_default_dtype(torch.float64)
    yield


@pytest.fixture(autouse=True)
def _torch_state() -> Iterator[None]:
    """Restore torch's global settings after every test."""
    if torch is None:
        yield
        return
    saved = (torch.get_default_dtype(), torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    yield
    torch.set_default_dtype(saved[0])
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[1:3]
    torch.use_deterministic_algorithms(saved[3], warn_only=saved[4])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[5:]

