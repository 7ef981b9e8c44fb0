"""How long ``dlbook grade`` takes for a class: 20 chapter-1 submissions, ``--jobs 2``.

Half the submissions are the solution notebook (14/14), half the untouched exercise
(0/14), so both the full run and the not-implemented path are timed. Run from the
repository root::

    .venv/bin/python benchmarks/grading.py [--n 20] [--jobs 2]

It prints the wall time and the gradebook's mean score and writes benchmarks/grading.md.
A benchmark, not a test: the time depends on the machine.
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for i in range(args.n):
            shutil.copy(SOLUTION if i % 2 == 0 else EXERCISE, folder / f"student{i:02d}.ipynb")
        out = Path(tmp) / "grades.csv"
        dlbook = Path(sys.executable).with_name("dlbook")
        start = time.perf_counter()
        subprocess.run([str(dlbook), "grade", "--assignment", "ch01", str(folder), "--out",
                        str(out), "--jobs", str(args.jobs)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        rows = out.read_text().splitlines()[1:]
    scores = [int(r.split(",")[1]) for r in rows]
    cores = os.cpu_count()
    text = (f"# Grading speed\n\n`dlbook grade --assignment ch01 --jobs {args.jobs}` on "
            f"{args.n} submissions (half the solution, half the untouched exercise): "
            f"**{seconds:.1f} s** wall time ({seconds / args.n:.2f} s per submission), "
            f"mean score {sum(scores) / len(scores):.1f} / 14.\n\nMachine: {cores} cores, "
            f"{platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}. Regenerate with `.venv/bin/python "
            "benchmarks/grading.py`.\n")
    (ROOT / "benchmarks" / "grading.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
