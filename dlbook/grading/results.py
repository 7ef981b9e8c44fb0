"""Reading a kernel's result file safely: the grader's own limits.

The work folder is the one place a sandboxed kernel can write, so whatever is found there is
treated as hostile. A result file is opened only if ``lstat`` shows a regular file (not a
link, a pipe or a device), without following links and without blocking; it is read with a
size cap and a time limit, and every submission has a budget of result bytes, which bounds
the memory the grader spends on it. Only then is it parsed, as plain arrays
(``np.load(allow_pickle=False)``), and checked for the run's nonce.
"""
from __future__ import annotations

import io
import json
import os
import stat
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_RESULT_BYTES = 16 * 1024 * 1024  # one question's raw outputs
MAX_SUBMISSION_BYTES = 64 * 1024 * 1024  # all of one submission's raw outputs
READ_SECONDS = 10.0


class Unreadable(Exception):
    """No usable result; ``str(err)`` is the reason recorded for the question."""


@dataclass
class Budget:
    """The result bytes a submission may still send back (shared by its kernels)."""

    left: int = MAX_SUBMISSION_BYTES
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, n: int) -> None:
        with self.lock:
            if n > self.left:
                raise Unreadable("no result: this submission's outputs are too large")
            self.left -= n


def read_bytes(path: Path, cap: int = MAX_RESULT_BYTES, seconds: float = READ_SECONDS) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them, within ``seconds``."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise Unreadable("no result: the test cell did not finish") from None
    if not stat.S_ISREG(st.st_mode):
        raise Unreadable("no result: the result is not a regular file")
    if st.st_size > cap:
        raise Unreadable("no result: the outputs are too large")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        raise Unreadable(f"no result: cannot open it ({err.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped after lstat
            raise Unreadable("no result: the result is not a regular file")
        chunks, size, deadline = [], 0, time.monotonic() + seconds
        while True:
            if time.monotonic() > deadline:
                raise Unreadable("no result: reading it took too long")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > cap:
                raise Unreadable("no result: the outputs are too large")
            chunks.append(chunk)
    finally:
        os.close(fd)


def read(path: Path, nonce: str, budget: Budget) -> dict[str, Any]:
    """The kernel's raw outputs: plain arrays only, with this run's nonce."""
    blob = read_bytes(path)
    budget.take(len(blob))
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
        if unpacked > MAX_RESULT_BYTES:
            raise Unreadable("no result: the outputs are too large")
        budget.take(unpacked)
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("__meta__")))
    except Unreadable:
        raise
    except Exception as err:
        raise Unreadable(f"unreadable result ({type(err).__name__})") from None
    if not isinstance(meta, dict) or meta.get("nonce") != nonce:
        raise Unreadable("no result: the result file is not from this run")
    return {"meta": meta, "arrays": arrays}
