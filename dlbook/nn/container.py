"""``Sequential``: modules applied in order, their backward passes applied in reverse."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from dlbook.nn.module import Module


class Sequential(Module):
    """A chain of modules, named ``"0"``, ``"1"``, ... as in torch (or by an ``OrderedDict``).

    ``forward`` feeds each module's output to the next; ``backward`` walks the chain in
    reverse, handing each module the gradient of the one after it (the chain rule).
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, "
                                    "not a dlbook.nn.Module")
                self.add_module(str(i), module)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for module in reversed(self._modules.values()):
            grad_out = module.backward(grad_out)
        return grad_out

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, index: int | slice) -> Module:
        """A module by position; a slice is a ``Sequential`` that keeps the children's
        names (``net[2:]`` has ``"2.weight"``, as torch)."""
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules, registered as ``"0"``, ``"1"``, ... (torch's ``nn.ModuleList``).

    It holds modules so their parameters are found and named; it has no forward of its own:
    the owner decides how to call them (and calls their backward passes in reverse).
    """

    def __init__(self, modules: list[Module] | tuple[Module, ...] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: got a {type(module).__name__}, not a dlbook.nn.Module")
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, index: int | slice) -> Module:
        """A module by position; a slice is a new ``ModuleList`` (renumbered, as torch)."""
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
