"""``dlbook bench [--quick] [--filter PATTERN] [--threads N ...] [--out DIR]``."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def add_parser(commands: Any) -> None:
    """Register ``bench`` on the ``dlbook`` command's subparsers."""
    bench = commands.add_parser(
        "bench", help="time dlbook.nn against torch.nn on this machine (ratios NumPy/torch)")
    bench.add_argument("--quick", action="store_true",
                       help="largest batch only, 3 short repeats (under a minute)")
    bench.add_argument("--filter", metavar="PATTERN",
                       help="only cases whose name contains PATTERN (or matches the glob)")
    bench.add_argument("--dtype", choices=("float32", "float64"), action="append",
                       help="repeat to choose several (default: both)")
    bench.add_argument("--threads", type=int, action="append",
                       help="threads for NumPy's BLAS and for torch; repeat to run several "
                            "(default: 1 and every core this process may use)")
    bench.add_argument("--repeats", type=int, help="interleaved repeats per case")
    bench.add_argument("--out", type=Path, default=Path("benchmarks"),
                       help="where results.json, results.md, ratios.png go (default: benchmarks)")
    bench.set_defaults(func=run)


def all_cores() -> int:
    """The cores this process may run on (its CPU affinity), else every core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run(args: argparse.Namespace) -> int:
    from dlbook.bench import report
    from dlbook.bench.cases import select
    from dlbook.bench.timing import fixed_threads, run_cases

    try:
        cases = select(args.filter)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    thread_counts = list(dict.fromkeys(args.threads or (1, all_cores())))
    if min(thread_counts) < 1:
        print("error: --threads must be at least 1")
        return 2
    repeats = args.repeats or (3 if args.quick else 7)
    load_before, results = os.getloadavg(), []
    for threads in thread_counts:
        results += run_cases(cases, dtypes=args.dtype or ("float32", "float64"),
                             repeats=repeats, min_time=0.01 if args.quick else 0.05,
                             quick=args.quick, threads=threads)
    with fixed_threads(max(thread_counts)) as threads_setup:
        blas = threads_setup["blas"]
    setup = {"threads": thread_counts, "blas": blas, "machine": report.machine_info(),
             "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
             "repeats": repeats, "quick": args.quick}
    table = report.markdown_table(results, setup)
    print(table)
    for path in report.write_outputs(results, setup, args.out):
        print(f"wrote {path}")
    return 0
