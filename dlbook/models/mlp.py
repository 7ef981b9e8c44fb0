"""The multilayer perceptron the models build again and again, written once, for both libraries."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def mlp(lib: Any, sizes: Sequence[int], act: Callable[[], Any]) -> Any:
    """``lib.Sequential`` of ``Linear`` layers of the given sizes with ``act()`` between them
    (none after the last): ``mlp(nn, (4, 64, 2), nn.Tanh)`` is ``Linear(4, 64), Tanh(),
    Linear(64, 2)``. ``lib`` is ``dlbook.nn`` or ``torch.nn``; both draw their weights in the
    same order, layer by layer.
    """
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(lib.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(act())
    return lib.Sequential(*layers)
