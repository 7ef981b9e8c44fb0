"""Interleaved timing of NumPy and torch steps with fixed thread counts."""
from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from dlbook.bench.cases import BenchCase


@dataclass(frozen=True)
class BenchResult:
    """Median seconds per step of each side, their ratio and the target it is held to."""

    case: str
    kind: str
    dtype: str
    batch: int
    numpy_s: float
    torch_s: float
    target: float
    torch_cuda_s: float | None = None
    threads: int = 1

    @property
    def ratio(self) -> float:
        return self.numpy_s / self.torch_s

    @property
    def met(self) -> bool:
        return self.ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio, "met": self.met}


@contextlib.contextmanager
def fixed_threads(threads: int) -> Iterator[dict[str, Any]]:
    """numpy's BLAS (threadpoolctl) and torch both limited to ``threads``; yields what ran."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            blas = [{k: lib.get(k) for k in ("internal_api", "version", "architecture",
                                             "num_threads")}
                    for lib in threadpool_info() if lib.get("user_api") == "blas"]
            yield {"threads": threads, "torch_threads": torch.get_num_threads(), "blas": blas}
    finally:
        torch.set_num_threads(before)


def _per_call(step: Callable[[], Any], number: int, sync: Callable[[], None]) -> float:
    start = time.perf_counter()
    for _ in range(number):
        step()
    sync()
    return (time.perf_counter() - start) / number


def _calls_for(step: Callable[[], Any], min_time: float, sync: Callable[[], None]) -> int:
    """How many calls make one measurement last at least ``min_time`` seconds."""
    once = max(_per_call(step, 1, sync), 1e-7)
    return max(1, int(np.ceil(min_time / once)))


def time_pair(numpy_step: Callable[[], Any], torch_step: Callable[[], Any], repeats: int,
              min_time: float, sync: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """Median seconds per call of each step, measured alternately ``repeats`` times."""
    numpy_step(), torch_step()  # warm-up: caches, allocations, lazy initialisation
    sync()
    n_np = _calls_for(numpy_step, min_time, lambda: None)
    n_torch = _calls_for(torch_step, min_time, sync)
    np_times, torch_times = [], []
    for _ in range(repeats):
        np_times.append(_per_call(numpy_step, n_np, lambda: None))
        torch_times.append(_per_call(torch_step, n_torch, sync))
    return statistics.median(np_times), statistics.median(torch_times)


def _cuda_time(case: BenchCase, dtype: np.dtype, batch: int, repeats: int,
               min_time: float) -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    pair = case.build(dtype, batch, "cuda")
    return time_pair(lambda: None, pair.torch_step, repeats, min_time,
                     sync=torch.cuda.synchronize)[1]


def run_cases(cases: Sequence[BenchCase], dtypes: Sequence[str] = ("float32", "float64"),
              repeats: int = 7, min_time: float = 0.05, quick: bool = False,
              progress: bool = True, threads: int = 1) -> list[BenchResult]:
    """Time every case at every dtype and batch size (the largest batch only when ``quick``),
    with ``threads`` threads for NumPy's BLAS and for torch."""
    jobs = [(case, np.dtype(dt), batch) for case in cases for dt in dtypes
            for batch in (case.batches[-1:] if quick else case.batches)]
    results = []
    with fixed_threads(threads):
        for case, dtype, batch in tqdm(jobs, desc=f"benchmarks, {threads} thread(s)",
                                       disable=not progress):
            pair = case.build(dtype, batch, "cpu")
            numpy_s, torch_s = time_pair(pair.numpy_step, pair.torch_step, repeats, min_time)
            results.append(BenchResult(
                case=case.name, kind=case.kind, dtype=dtype.name, batch=batch,
                numpy_s=numpy_s, torch_s=torch_s, target=case.target(dtype),
                torch_cuda_s=_cuda_time(case, dtype, batch, repeats, min_time),
                threads=threads))
    return results
