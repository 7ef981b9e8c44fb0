"""The audit hook of a graded kernel (PEP 578): no ``ctypes``, no other process's memory.

:func:`install` is called by the launcher before the kernel runs any student code; an audit
hook cannot be removed afterwards. It refuses importing ``ctypes`` and every ``ctypes.*``
event (in case a library loaded it first), and opening ``/proc/<pid>/mem`` or ``map_files``
of any process. The sandbox already hides every other process; this keeps a kernel from
rewriting its own interpreter's memory, where the stubs of forbidden modules live.
"""
from __future__ import annotations

import os
import re
import sys
from typing import Any

_PROC_MEMORY = re.compile(r"^/proc/(\d+|self|thread-self)(/task/\d+)?/(mem|map_files)(/|$)")
_REFUSED_IMPORTS = ("ctypes", "_ctypes")


class Refused(PermissionError):
    """What the hook raises; its message says what was refused."""


def _path(arg: Any) -> str | None:
    if isinstance(arg, int):
        return None
    try:
        path = os.fsdecode(arg)
    except TypeError:
        return None
    return os.path.realpath(path) if path.startswith("/proc/") else path


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "import" and args and isinstance(args[0], str):
        top = args[0].split(".", 1)[0]
        if top in _REFUSED_IMPORTS:
            raise Refused(f"import {args[0]} is not allowed while grading")
    elif event.startswith("ctypes."):
        raise Refused(f"{event} is not allowed while grading")
    elif event == "open" and args:
        path = _path(args[0])
        if path and (_PROC_MEMORY.match(path) or _PROC_MEMORY.match(path.replace(
                f"/proc/{os.getpid()}", "/proc/self"))):
            raise Refused(f"opening {path} is not allowed while grading")


def install() -> None:
    """Install the hook for the rest of this process's life.

    A library loaded before (the kernel's debugger) may hold ``ctypes`` already, so
    ``import ctypes`` can still succeed; every use of it (loading a library, calling a C
    function, reading memory at an address) raises a ``ctypes.*`` event, which is refused.
    """
    sys.addaudithook(_hook)
