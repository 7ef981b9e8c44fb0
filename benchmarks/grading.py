"""How long ``dlbook grade`` takes for a class: 20 chapter-1 submissions, ``--jobs 2``.

Half the submissions are the solution notebook (14/14), half the untouched exercise
(0/14), so both the full run and the not-implemented path are timed. Every submission runs
in its bubblewrap sandbox (two kernels each: chapter 1's from-scratch questions are graded
without ``dlbook.nn``, ``train_mlp`` with it), with hidden inputs from a fresh seed. Run from
the repository root::

    .venv/bin/python benchmarks/grading.py [--n 20] [--jobs 2] [--sandbox bwrap]

It prints the wall time and the gradebook's mean score and writes benchmarks/grading.md.
A benchmark, not a test: the time depends on the machine (and on what else runs on it: the
load average is recorded).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ch01_perceptron_mlp.ipynb"
EXERCISE = ROOT / "exercises" / "ch01_perceptron_mlp.ipynb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="kernels at once (default 2)")
    parser.add_argument("--sandbox", default="bwrap", help="bwrap (default), docker, podman")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for i in range(args.n):
            shutil.copy(SOLUTION if i % 2 == 0 else EXERCISE, folder / f"student{i:02d}.ipynb")
        out = Path(tmp) / "grades.csv"
        dlbook = Path(sys.executable).with_name("dlbook")
        start = time.perf_counter()
        load = os.getloadavg()[0]
        subprocess.run([str(dlbook), "grade", "--assignment", "ch01", str(folder), "--out",
                        str(out), "--jobs", str(args.jobs), "--sandbox", args.sandbox],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        load = max(load, os.getloadavg()[0])
        rows = out.read_text().splitlines()[1:]
    scores = [int(r.split(",")[1]) for r in rows]
    cores = os.cpu_count()
    text = (f"# Grading speed\n\n`dlbook grade --assignment ch01 --jobs {args.jobs} "
            f"--sandbox {args.sandbox}` on {args.n} submissions (half the solution, half the "
            f"untouched exercise), each in its own sandbox: **{seconds:.1f} s** wall time "
            f"({seconds / args.n:.2f} s per submission), mean score "
            f"{sum(scores) / len(scores):.1f} / 14.\n\nMachine: {cores} cores, "
            f"{platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, load average up to {load:.1f} during the run. "
            "Regenerate with `.venv/bin/python benchmarks/grading.py`.\n")
    (ROOT / "benchmarks" / "grading.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
