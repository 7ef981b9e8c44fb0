"""``Module``: the base class of every dlbook layer, mirroring ``torch.nn.Module``.

A module registers ``Parameter`` attributes and child modules as they are assigned (as
minitorch and torch do), so ``named_parameters()`` walks the tree with torch's dotted names.
Unlike torch there is no autograd graph: each layer's ``forward`` saves what its hand-derived
``backward(grad_out)`` needs, and ``backward`` returns the gradient with respect to the input
while adding into each parameter's ``.grad``. The rules (caches, in-place safety, dtypes and
what ``backward`` returns) are in the ``Module`` docstring.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

from dlbook.nn.parameter import Parameter


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy copy of ``value``; accepts NumPy arrays, Python numbers and torch tensors."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor (torch not imported)
        value = value.detach().cpu().numpy()
    return np.array(value, copy=True)


_grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Forwards inside keep no cache for backward, as ``torch.no_grad()`` builds no graph.

    Use it for inference, evaluation loops and sampling: a forward outside it keeps its cache
    until a ``backward`` consumes it. ``backward`` after a forward under ``no_grad`` raises.
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``."""
    return _grad_enabled


_ATOMS = (int, float, str, bool, type(None), np.dtype, np.generic, slice)


def _protect(value: Any, foreign: list[np.ndarray], owned: Callable[[], set[int]]) -> Any:
    """``value`` with every array in it made read-only (in place: forward's own arrays and its
    outputs); an array that may share memory with ``foreign`` (the caller's inputs) is
    replaced by a read-only copy when it is writeable. ``owned()`` (ids of parameter and
    buffer arrays, which optimizers update in place) are kept as they are."""
    if isinstance(value, np.ndarray):
        if not value.flags.writeable:
            return value
        if any(np.may_share_memory(value, f) for f in foreign):
            value = value.copy()
        elif id(value) in owned():
            return value
        value.flags.writeable = False
        return value
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, _ATOMS) for v in value):  # a shape
            return value
        items = [_protect(v, foreign, owned) for v in value]
        if isinstance(value, list):
            value[:] = items
            return value
        return type(value)._make(items) if hasattr(value, "_fields") else tuple(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            object.__setattr__(value, f.name, _protect(getattr(value, f.name), foreign, owned))
        return value
    if isinstance(value, SimpleNamespace):
        for k, v in vars(value).items():
            setattr(value, k, _protect(v, foreign, owned))
    return value


def _wrap_forward(forward: Callable) -> Callable:
    # torch names a layer's first forward argument ``input``: accept it by that keyword too.
    alias_input = "input" not in inspect.signature(forward).parameters

    @functools.wraps(forward)
    def wrapped(self: Module, *args: Any, **kwargs: Any) -> Any:
        if alias_input and "input" in kwargs:
            args = (kwargs.pop("input"), *args)
        d = self.__dict__
        if d["_in_forward"]:  # super().forward(...) inside a subclass's forward
            return forward(self, *args, **kwargs)
        self._check_input_dtypes(args)
        record = _grad_enabled
        if record:
            stack = d["_caches"]
            if len(stack) >= self.max_pending_caches:
                del stack[0]
                d["_dropped_caches"] += 1
            stack.append(SimpleNamespace())
        d["_in_forward"] = True
        d["_call_inputs"] = [a for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)]
        try:
            return forward(self, *args, **kwargs)
        except BaseException:
            if record:
                d["_caches"].pop()
            raise
        finally:
            d["_in_forward"] = False
            d["_call_inputs"] = []
    return wrapped


def _wrap_backward(backward: Callable) -> Callable:
    @functools.wraps(backward)
    def wrapped(self: Module, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if d["_in_backward"]:  # super().backward(...) inside a subclass's backward
            return backward(self, *args, **kwargs)
        d["_in_backward"] = True
        try:
            result = backward(self, *args, **kwargs)
        finally:
            d["_in_backward"] = False
        if d["_caches"]:  # consumed only on success: a failed backward can be retried
            # NOTE: held (unused) until the next backward, as one cache slot held it before:
            # freeing large arrays at once hands their pages back to the OS and the next
            # forward pays the page faults again (LayerNorm forward+backward 2.5x slower).
            d["_spent_cache"] = d["_caches"].pop()
        return result
    return wrapped


class Module:
    """Base class for NumPy layers with torch's names, state dicts and train/eval modes.

    Subclasses implement ``forward(*inputs)`` and ``backward(grad_out)``. ``forward`` stores
    what backward needs with ``self.save_for_backward(name=array, ...)``; ``backward`` reads it
    back from ``self.saved``, which raises a clear error when forward has not run.

    Caches (the rule that keeps gradients right when a module is used more than once):
        Every forward pass outside ``dlbook.nn.no_grad()`` pushes one cache on the module's
        stack, and every successful ``backward`` pops one, last in first out, like a tape.
        So a layer used twice before one backward (a shared layer, a siamese network, an RNN
        cell stepped through time) gets each backward call its own forward's cache, provided
        the backward calls come in reverse order of the forwards (as the chain rule takes
        them). Eval mode keeps caches too (torch's eval mode still records for backward:
        saliency maps and gradient checks run in it); forwards that need no backward belong in
        ``with dlbook.nn.no_grad():``. At most ``max_pending_caches`` (256) caches wait per
        module: beyond it the oldest is dropped, and a backward that would need it raises.

    In-place safety:
        Every array a forward caches is made read-only, so ``y += 1`` on an output that
        backward needs (Sigmoid, Tanh, Softmax, ...) raises ``ValueError: output array is
        read-only`` instead of changing the gradient; an input array the caller passed in is
        cached as a read-only copy when it is writeable, so changing it afterwards is harmless.

    Arguments:
        ``forward``'s first argument may also be passed as ``input=...``, torch's name for it.

    Dtypes:
        A floating input whose dtype differs from the module's own parameters raises a
        ``TypeError`` naming both dtypes (torch raises too); nothing is silently promoted.

    What ``backward`` returns:
        The gradient of each floating array argument of ``forward``, in order: one array when
        forward takes one (``Linear``), a tuple when it takes several (``MultiheadAttention``'s
        ``(query, key, value)``, ``AdaIN``'s ``(content, style)``; for an optional initial
        state such as an RNN's ``hx``, an entry exactly when forward was given one). Integer
        inputs (indices, class targets) have no gradient: a module whose only input is one
        (``Embedding``, a language model on token ids) returns ``None``; a loss returns the
        gradient with respect to its prediction ``input`` only.
    """

    max_pending_caches = 256
    # False where floating inputs are not data to mix with the parameters (Embedding's
    # indices): the module's own checks then name the problem.
    checks_input_dtype = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _wrap_forward(cls.__dict__["forward"])
        if "backward" in cls.__dict__:
            cls.backward = _wrap_backward(cls.__dict__["backward"])

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_caches", [])
        object.__setattr__(self, "_dropped_caches", 0)
        object.__setattr__(self, "_in_forward", False)
        object.__setattr__(self, "_in_backward", False)
        object.__setattr__(self, "_call_inputs", [])
        object.__setattr__(self, "_spent_cache", None)
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
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(dotted_name, module)`` for this module and every descendant, depth first; a
        module reachable by several names (a shared layer) is yielded once, under its first
        name, unless ``remove_duplicate=False`` (torch's signature and behaviour)."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

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
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
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
        for mod_prefix, module in self.named_modules(prefix=prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by torch's dotted names (a shared
        submodule under each of its names, as torch)."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for mod_prefix, module in self.named_modules(remove_duplicate=False):
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
        """Keep, by name, what ``backward`` will need from this forward pass.

        Every array (also inside tuples, lists and dataclasses) becomes read-only; one that
        may share memory with a writeable input of this call is copied first (see the class
        docstring). Nothing is kept under ``no_grad()``.
        """
        if not _grad_enabled:
            return
        foreign = self.__dict__["_call_inputs"]

        ids: list[set[int]] = []

        def owned() -> set[int]:  # collected once, and only if an array needs freezing
            if not ids:
                if self._modules:
                    ids.append({id(p.data) for p in self.parameters()}
                               | {id(b) for _, b in self.named_buffers()})
                else:  # a leaf (most layers): its own registries, without the tree walk
                    ids.append({id(p.data) for p in self._parameters.values() if p is not None}
                               | {id(b) for b in self._buffers.values() if b is not None})
            return ids[0]

        arrays = {k: _protect(v, foreign, owned) for k, v in arrays.items()}
        stack = self.__dict__["_caches"]
        if self.__dict__["_in_forward"] and stack:
            vars(stack[-1]).update(arrays)  # this forward's cache
        else:
            stack.append(SimpleNamespace(**arrays))

    def reusable_buffer(self, find: Callable[[SimpleNamespace], Any],
                        shape: tuple[int, ...] | None, dtype: Any) -> np.ndarray | None:
        """A writeable array of ``dtype`` (and ``shape``, unless None) that nothing else refers
        to, taken from the cache the last ``backward`` consumed (``find(cache)`` picks it), or
        None.

        Forward calls this for a large working array it would otherwise allocate afresh:
        glibc gives large freed blocks back to the OS, so a fresh array pays a page fault
        every 4 KiB (1,000 per step of a depthwise convolution at batch 64, a third of its
        time). The array is reused only when its reference count proves that no caller, view
        or other cache can see it.
        """
        d = self.__dict__
        spent = d["_spent_cache"]
        if spent is None:
            return None
        try:
            arr = find(spent)
        except AttributeError:
            return None
        if (not isinstance(arr, np.ndarray) or arr.dtype != np.dtype(dtype)
                or (shape is not None and arr.shape != tuple(shape))):
            return None
        # referrers of ``arr``: the cache, ``arr`` here and getrefcount's argument; of a view's
        # owner: the view, ``owner`` here and the argument
        if sys.getrefcount(arr) != 3:
            return None
        owner = arr if arr.base is None else arr.base
        if owner is not arr and (sys.getrefcount(owner) != 3 or not isinstance(owner, np.ndarray)
                                 or owner.base is not None):
            return None
        if not owner.flags.owndata:
            return None
        d["_spent_cache"] = None
        owner.flags.writeable = True
        arr.flags.writeable = True
        return arr

    @property
    def saved(self) -> SimpleNamespace:
        """The cache of the latest forward that no backward has consumed yet."""
        stack = self.__dict__["_caches"]
        if stack:
            return stack[-1]
        if self._dropped_caches:
            raise RuntimeError(
                f"{type(self).__name__}.backward(): no forward cache left; more than "
                f"{self.max_pending_caches} forwards ran without backward, and the oldest "
                "caches were dropped (run forwards that need no backward under "
                "dlbook.nn.no_grad())")
        raise RuntimeError(f"{type(self).__name__}.backward() was called before forward(): no "
                           "forward cache is pending (run a forward pass first, outside "
                           "dlbook.nn.no_grad(); each backward consumes one forward's cache)")

    def clear_caches(self) -> Module:
        """Drop every pending forward cache in this module and its children."""
        for module in self.modules():
            module.__dict__["_caches"].clear()
            module.__dict__["_dropped_caches"] = 0
            module.__dict__["_spent_cache"] = None
        return self

    def _check_input_dtypes(self, args: tuple) -> None:
        """Raise ``TypeError`` when a floating array argument's dtype differs from this
        module's own floating parameters' (torch raises; NumPy would silently promote)."""
        dtype = next((p.data.dtype for p in self._parameters.values()
                      if p is not None and p.data.dtype.kind == "f"), None)
        if dtype is None or not self.checks_input_dtype:
            return
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype != dtype:
                raise TypeError(f"{type(self).__name__}: input {i} has dtype {a.dtype} but the "
                                f"module's parameters are {dtype}; cast the input "
                                f"(x.astype(np.{dtype})) or the module (.to(np.{a.dtype}))")

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
