"""How long ``dlbook grade`` takes for a class: 20 chapter-1 submissions, ``--jobs 2``.

Half the submissions are the solution notebook (full marks), half the untouched exercise
(0), so both the full run and the not-implemented path are timed. Every submission runs
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ch01_perceptron_mlp.ipynb"
EXERCISE = ROOT / "exercises" / "ch01_perceptron_mlp.ipynb"


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, user + system seconds) of a process, from /proc; None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter(threading.Thread):
    """Samples, every 0.1 s, the CPU seconds of every descendant of ``root`` (the grader, its
    sandboxes and kernels, which are killed, not waited for, so getrusage misses them)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.seen, self.done = root, {root: 0.0}, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            stats = {int(p): _stat(p) for p in os.listdir("/proc") if p.isdigit()}
            for pid, stat in stats.items():
                if stat is None:
                    continue
                parent = stat[0]
                while parent not in self.seen and parent in stats and stats[parent]:
                    parent = stats[parent][0]
                if parent in self.seen or pid == self.root:
                    self.seen[pid] = max(self.seen.get(pid, 0.0), stat[1])

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="kernels at once (default 2)")
    parser.add_argument("--sandbox", default="bwrap", help="bwrap (default), docker, podman")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="where solutions/ and exercises/ come from (default: this one)")
    args = parser.parse_args()
    solution = args.checkout / SOLUTION.relative_to(ROOT)
    exercise = args.checkout / EXERCISE.relative_to(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for i in range(args.n):
            shutil.copy(solution if i % 2 == 0 else exercise, folder / f"student{i:02d}.ipynb")
        out = Path(tmp) / "grades.csv"
        dlbook = Path(sys.executable).with_name("dlbook")
        start = time.perf_counter()
        load = os.getloadavg()[0]
        grade = subprocess.Popen([str(dlbook), "grade", "--assignment", "ch01", str(folder),
                                  "--out", str(out), "--jobs", str(args.jobs), "--sandbox",
                                  args.sandbox, "--solutions", str(solution.parent)],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        meter = CpuMeter(grade.pid)
        meter.start()
        if grade.wait():
            raise SystemExit(f"dlbook grade failed ({grade.returncode})")
        seconds = time.perf_counter() - start
        meter.done.set()
        meter.join()
        cpu = meter.seconds
        load = max(load, os.getloadavg()[0])
        rows = out.read_text().splitlines()[1:]
    scores = [int(r.split(",")[1]) for r in rows]
    full = max(scores)  # the solution notebooks score full marks
    cores = os.cpu_count()
    text = (f"# Grading speed\n\n`dlbook grade --assignment ch01 --jobs {args.jobs} "
            f"--sandbox {args.sandbox}` on {args.n} submissions (half the solution, half the "
            f"untouched exercise), each in its own sandbox: **{seconds:.1f} s** wall time "
            f"({seconds / args.n:.2f} s per submission), mean score "
            f"{sum(scores) / len(scores):.1f} / {full} (the solutions {full}, the stubs "
            f"{min(scores)}).\n\nMachine: {cores} cores, "
            f"{platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, load average up to {load:.1f} during the run. "
            f"CPU time of the grader and its kernels (sampled): {cpu:.0f} s, so about "
            f"{cpu / min(args.jobs, cores or 1):.0f} s of wall time on an otherwise idle machine "
            f"with {min(args.jobs, cores or 1)} cores. Regenerate with `.venv/bin/python "
            "benchmarks/grading.py`.\n")
    (ROOT / "benchmarks" / "grading.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
