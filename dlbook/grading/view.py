"""What a graded kernel sees of this machine's Python: the environment, minus what is secret
or forbidden.

The sandbox (:mod:`~dlbook.grading.sandbox`) mounts, read-only, the interpreter's prefixes
(the virtual environment and the Python it was made from) and a copy of the ``dlbook``
package at :data:`DLBOOK_ROOT`. Over them it mounts empty folders (or ``/dev/null`` for a
file) where the kernel must see nothing:

- ``dlbook/grading/questions/``: the reference answers and hidden-input generators;
- the packages a run's questions forbid (``torch``, ``sklearn``, ``dlbook/nn``, ...);
- the editable-install hooks that would lead back to the source checkout.

The checkout itself (``solutions/``, ``tests/``, the gradebook) is never mounted.
"""
from __future__ import annotations

import glob
import os
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dlbook
from dlbook.grading import rules

DLBOOK_ROOT = "/opt/dlbook"  # where the kernel finds the dlbook package (on PYTHONPATH)


@dataclass
class View:
    """Read-only mounts ``(host path, sandbox path)``, and sandbox paths to blank out."""

    mounts: list[tuple[str, str]] = field(default_factory=list)
    empty_dirs: list[str] = field(default_factory=list)
    empty_files: list[str] = field(default_factory=list)
    pythonpath: str = DLBOOK_ROOT

    def blank(self, path: str) -> None:
        """Hide ``path`` (a folder or a file) under an empty one."""
        if os.path.isdir(path):
            self.empty_dirs.append(path)
        elif os.path.lexists(path):
            self.empty_files.append(path)


def prefixes() -> list[str]:
    """The interpreter's prefixes (venv and base), without duplicates or nesting."""
    found: list[str] = []
    for p in sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix,
                                                     sys.exec_prefix, sys.base_exec_prefix)}):
        if not any(p.startswith(os.path.join(q, "")) for q in found):
            found.append(p)
    return found


def site_dirs() -> list[str]:
    """The folders ``import`` searches for installed packages."""
    paths = sysconfig.get_paths()
    return sorted({os.path.realpath(paths[k]) for k in ("purelib", "platlib")})


def _package_files(site: str, top: str) -> list[str]:
    """A top-level package's folder or module files and its ``.pth``/``.so`` siblings."""
    return sorted(set(glob.glob(os.path.join(site, top)) +
                      glob.glob(os.path.join(site, f"{top}.py")) +
                      glob.glob(os.path.join(site, f"{top}.*.so")) +
                      glob.glob(os.path.join(site, f"{top}.libs"))))


def _dlbook_dir() -> str:
    return os.path.realpath(os.path.dirname(dlbook.__file__))


def python_view(forbidden: Iterable[str]) -> View:
    """The view for a kernel whose questions forbid ``forbidden`` (module entries)."""
    view = View()
    for prefix in prefixes():
        view.mounts.append((prefix, prefix))
    package = _dlbook_dir()
    inside = os.path.join(DLBOOK_ROOT, "dlbook")
    view.mounts.append((package, inside))
    for site in site_dirs():
        for path in glob.glob(os.path.join(site, "__editable__*")):
            view.blank(path)  # an editable install's finder points into the checkout
        view.blank(os.path.join(site, "dlbook"))  # only the copy at DLBOOK_ROOT is seen
    view.empty_dirs.append(os.path.join(inside, "grading", "questions"))
    for secret in ("solutions", "tests", ".git"):  # a checkout inside a prefix (rare)
        path = os.path.join(os.path.dirname(package), secret)
        if any(path.startswith(os.path.join(p, "")) for p in prefixes()):
            view.blank(path)
    for entry in rules.modules_of(forbidden):
        if entry == "dlbook" or entry.startswith("dlbook."):
            sub = os.path.join(inside, *entry.split(".")[1:])
            host = os.path.join(package, *entry.split(".")[1:])
            if os.path.isdir(host):
                view.empty_dirs.append(sub)
            elif os.path.exists(host + ".py"):
                view.empty_files.append(sub + ".py")
            continue
        for site in site_dirs():
            for path in _package_files(site, entry):
                view.blank(path)
    return view


def checkout_root() -> Path:
    """The folder holding the dlbook package (a source checkout when editable)."""
    return Path(_dlbook_dir()).parent
