"""What an answer may not use, and the two places that rule is enforced.

A question's ``forbidden`` lists module names (``"torch"``, ``"dlbook.nn"``) and functions
written ``"module:Qual.name"`` (``"dlbook.autograd:Value.sigmoid"``).

- In the grader the rule is out of the student's reach: the sandbox leaves forbidden modules
  out of the kernel's view (:mod:`~dlbook.grading.view`) and the launcher, before any
  student code, puts :func:`install_stubs` in place: importing a forbidden module gives a
  stub whose every attribute raises :class:`Forbidden`, and a forbidden function is
  replaced by one that raises it. An answer that uses them fails with the reason.
- In the student's own notebook, :func:`watch` notices calls into forbidden code while
  ``check()`` runs the answer, so the student learns the rule before handing in. It is a
  teaching aid, not a guard: the student's kernel is the student's.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# Machine-learning libraries that would do the exercise for the student.
FRAMEWORKS = ("torch", "sklearn", "scipy", "jax", "tensorflow")
# From scratch: NumPy and dlbook.autograd only.
FROM_SCRATCH = (*FRAMEWORKS, "dlbook.nn", "dlbook.optim", "dlbook.models")
# Exercises whose point is to use dlbook.nn (train a model, inspect its gradients).
NO_FRAMEWORKS = FRAMEWORKS


class Forbidden(Exception):
    """Raised when an answer uses what its exercise forbids; the message names it."""


def modules_of(forbidden: Iterable[str]) -> tuple[str, ...]:
    """The module entries of ``forbidden`` (those without ``:``)."""
    return tuple(f for f in forbidden if ":" not in f)


def functions_of(forbidden: Iterable[str]) -> tuple[str, ...]:
    """The ``"module:Qual.name"`` entries of ``forbidden``."""
    return tuple(f for f in forbidden if ":" in f)


def describe(entry: str) -> str:
    """``"torch"`` or ``"dlbook.autograd.Value.sigmoid"``, as the messages say it."""
    return entry.replace(":", ".")


def message(entry: str) -> str:
    """The reason an answer that uses ``entry`` scores 0."""
    return (f"uses {describe(entry)}, which this exercise does not allow "
            "(write it from scratch with NumPy)")


def _covers(entry: str, module: str) -> bool:
    return module == entry or module.startswith(entry + ".")


# -- in the sandbox: stubs --------------------------------------------------------------------


class _StubModule(types.ModuleType):
    """A forbidden module: importing works (so an imports cell does not fail as a whole),
    using anything in it raises :class:`Forbidden`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise Forbidden(message(self.__dlbook_entry__))


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, entries: Sequence[str]) -> None:
        self.entries = tuple(entries)

    def _entry(self, name: str) -> str | None:
        return next((e for e in self.entries if _covers(e, name)), None)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if self._entry(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        module = _StubModule(spec.name)
        module.__dlbook_entry__ = self._entry(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _forbidden_function(entry: str) -> Any:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise Forbidden(message(entry))

    return forbidden


def install_stubs(forbidden: Iterable[str]) -> None:
    """Make every forbidden module import as a stub and every forbidden function raise.

    Called by the launcher before the kernel runs any student code. Modules already imported
    are dropped from ``sys.modules`` first, so that only the stub can be found.
    """
    modules = modules_of(forbidden)
    for name in [m for m in sys.modules if any(_covers(e, m) for e in modules)]:
        del sys.modules[name]
    sys.meta_path.insert(0, _StubFinder(modules))
    for entry in functions_of(forbidden):
        module_name, qualname = entry.split(":", 1)
        owner: Any = importlib.import_module(module_name)
        *path, attr = qualname.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, attr, _forbidden_function(entry))


# -- in check(): a watch on the calls the answer makes ----------------------------------------


def _locations(modules: Sequence[str]) -> list[tuple[str, str]]:
    """(entry, file or folder) for each forbidden module that is installed."""
    places = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations:
            places += [(name, os.path.join(os.path.realpath(p), ""))
                       for p in spec.submodule_search_locations]
        elif spec.origin:
            places.append((name, os.path.realpath(spec.origin)))
    return places


def _function_codes(functions: Sequence[str]) -> dict[tuple[str, str], str]:
    """(file, qualname) of each forbidden function's code -> its entry."""
    codes = {}
    for entry in functions:
        module_name, qualname = entry.split(":", 1)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        code = getattr(module, "__file__", None)
        if code:
            codes[(os.path.realpath(code), qualname)] = entry
    return codes


@contextlib.contextmanager
def watch(forbidden: Sequence[str]) -> Iterator[list[str]]:
    """Record, in the list it yields, the forbidden entries called inside the ``with``.

    Python functions are seen through ``sys.setprofile``, C functions by their module
    (``torch.tensor`` is ``torch``'s), so ``import torch`` hidden in an ``exec`` is seen too.
    """
    modules = modules_of(forbidden)
    places, codes = _locations(modules), _function_codes(functions_of(forbidden))
    hits: list[str] = []
    known: dict[Any, str | None] = {}

    def entry_of(frame: Any, event: str, arg: Any) -> str | None:
        if event == "c_call":
            owner = getattr(arg, "__self__", None)
            names = (getattr(arg, "__module__", None), getattr(owner, "__module__", None),
                     type(owner).__module__)
            return next((m for m in modules for n in names
                         if isinstance(n, str) and _covers(m, n)), None)
        code = frame.f_code
        if code not in known:
            path = os.path.realpath(code.co_filename)
            known[code] = codes.get((path, code.co_qualname)) or next(
                (m for m, place in places if path.startswith(place) or path == place), None)
        return known[code]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_call") and not hits:
            entry = entry_of(frame, event, arg)
            if entry:
                hits.append(entry)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield hits
    finally:
        sys.setprofile(previous)
