"""``dlbook bench``: NumPy ``dlbook.nn`` timed against ``torch.nn`` on the same machine, in one run.

Each case builds a dlbook module and its torch twin with the same weights and inputs, and one
step function for each side (forward and backward, or a whole training step). The runner
times the two sides interleaved (NumPy, torch, NumPy, torch, ...) with fixed thread counts,
so machine load hits both alike, and reports the median times and their ratio NumPy/torch
against the book's targets. Nothing here is imported by ``import dlbook``.
"""
from dlbook.bench.cases import CASES, BenchCase, select
from dlbook.bench.report import write_outputs
from dlbook.bench.timing import BenchResult, run_cases

__all__ = ["CASES", "BenchCase", "BenchResult", "run_cases", "select", "write_outputs"]
