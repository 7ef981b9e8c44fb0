"""``Module``: the base class of every dlbook layer, mirroring ``torch.nn.Module``.

A module registers ``Parameter`` attributes and child modules as they are assigned (as
minitorch and torch do), so ``named_parameters()`` walks the tree with torch's dotted names.
Unlike torch there is no autograd graph: each layer's ``forward`` saves what its hand-derived
``backward(grad_out)`` needs, and ``backward`` returns the gradient with respect to the input
while adding into each parameter's ``.grad``.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

from dlbook.nn.parameter import Parameter


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy copy of ``value``; accepts NumPy arrays, Python numbers and torch tensors."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor (torch not imported)
        value = value.detach().cpu().numpy()
    return np.array(value, copy=True)


class Module:
    """Base class for NumPy layers with torch's names, state dicts and train/eval modes.

    Subclasses implement ``forward(*inputs)`` and ``backward(grad_out)``. ``forward`` stores
    what backward needs with ``self.save_for_backward(name=array, ...)``; ``backward`` reads it
    back from ``self.saved``, which raises a clear error when forward has not run.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_saved", None)
        object.__setattr__(self, "training", True)

    # -- registration ---------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call Module.__init__() in {type(self).__name__}.__init__ "
                                 "before assigning attributes")
        # Re-assigning a registered name keeps its place (state_dict order is torch's).
        if name in self._buffers and (value is None or isinstance(value, np.ndarray)):
            self._buffers[name] = value
            return
        if name in self._parameters and (value is None or isinstance(value, Parameter)):
            self._parameters[name] = value
            return
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self.__dict__.pop(name, None)
            store = self._parameters if isinstance(value, Parameter) else self._modules
            store[name] = value
        elif value is None and name in ("weight", "bias"):
            self._parameters[name] = None  # torch keeps absent optional parameters as None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries, else fail loudly.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def register_buffer(self, name: str, array: np.ndarray | None) -> None:
        """Register a non-learnable state array (e.g. BatchNorm's ``running_mean``)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = None if array is None else np.asarray(array)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` registers an absent optional parameter)."""
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        self._modules[name] = module

    # -- traversal ------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "",
                         recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` pairs in registration order, as torch does."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for mod_prefix, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by torch's dotted names."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for mod_prefix, module in self.named_modules():
            for store in (module._parameters, module._buffers):
                for name, value in store.items():
                    if value is None:
                        continue
                    key = f"{mod_prefix}.{name}" if mod_prefix else name
                    array = value.data if isinstance(value, Parameter) else value
                    out[key] = np.array(array, copy=True)
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays (NumPy or torch tensors) into this module's parameters and buffers.

        Each value's dtype is kept, so loading a float32 torch state dict makes this module
        float32. Raises ``KeyError`` naming missing or unexpected keys (when ``strict``) and
        ``ValueError`` naming the first shape mismatch.
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for key, value in state_dict.items():
            if key not in own:
                continue
            array = to_numpy(value)
            if array.shape != own[key].shape:
                raise ValueError(f"load_state_dict: '{key}' has shape {array.shape}, "
                                 f"this module expects {own[key].shape}")
            module, name = self._owner_of(key)
            if name in module._parameters:
                module._parameters[name].data = array
                module._parameters[name].grad = None
            else:
                module._buffers[name] = array

    def _owner_of(self, key: str) -> tuple[Module, str]:
        *path, name = key.split(".")
        module: Module = self
        for part in path:
            module = module._modules[part]
        return module, name

    def to(self, dtype: Any) -> Module:
        """Cast floating parameters and buffers to ``dtype`` (e.g. ``np.float32``), in place."""
        dtype = np.dtype(dtype)
        for module in self.modules():
            for p in module._parameters.values():
                if p is not None:
                    p.data = p.data.astype(dtype)
                    p.grad = None if p.grad is None else p.grad.astype(dtype)
            for name, b in module._buffers.items():
                if b is not None and np.issubdtype(b.dtype, np.floating):
                    module._buffers[name] = b.astype(dtype)
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # -- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (``None`` by default, as torch >= 2.0)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    # -- forward / backward ---------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_out: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.forward(*inputs, **kwargs)

    def save_for_backward(self, **arrays: Any) -> None:
        """Keep, by name, what ``backward`` will need from this forward pass."""
        object.__setattr__(self, "_saved", SimpleNamespace(**arrays))

    @property
    def saved(self) -> SimpleNamespace:
        """What the last forward saved; a clear error when backward comes before forward."""
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward() was called before forward(): "
                               "run a forward pass first")
        return self._saved

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n  ".join(([self.extra_repr()] if self.extra_repr() else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"
