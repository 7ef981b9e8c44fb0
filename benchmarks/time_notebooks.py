"""Time every chapter notebook as `make test` runs it: a fresh kernel, one BLAS thread.

    .venv/bin/python benchmarks/time_notebooks.py [NOTEBOOK ...]   (default: book/*.ipynb)

Executes each notebook top to bottom in a temporary copy (the committed file is not touched)
with OPENBLAS/OMP/MKL_NUM_THREADS=1, and writes benchmarks/notebooks.json and
benchmarks/notebooks.md (the table the book's benchmarks page shows): wall time per chapter,
its slowest cells, and the total (a run on some notebooks replaces only their rows). With
DLBOOK_RESULTS set for the kernels, every headline result the chapters `record` lands in
book/results.json, and book/results_table.md (the book's results page) is written from it
with the runtimes; each chapter page's runtime line and the README's chapter table are
updated too (benchmarks/chapter_runtimes.py). A run on all of book/ rebuilds the registry.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from chapter_runtimes import TIMES, load_runtimes, update_all
from nbclient import NotebookClient
from tqdm.auto import tqdm

from dlbook.bench.report import machine_info
from dlbook.results import ENV_VAR, load, markdown_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks"
REGISTRY = ROOT / "book" / "results.json"
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def time_notebook(path: Path) -> dict:
    """Run ``path`` in a fresh kernel; its wall time and the three slowest cells."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    total = time.perf_counter() - start
    cells = []
    for index, cell in enumerate(nb.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            began = datetime.datetime.fromisoformat(stamps["iopub.execute_input"].rstrip("Z"))
            ended = datetime.datetime.fromisoformat(stamps["shell.execute_reply"].rstrip("Z"))
            first_line = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
            cells.append({"cell": index, "seconds": (ended - began).total_seconds(),
                          "first_line": first_line})
    cells.sort(key=lambda c: -c["seconds"])
    return {"notebook": str(path.relative_to(ROOT)), "seconds": total, "slowest": cells[:3]}


def markdown(rows: list[dict], machine: str) -> str:
    lines = [f"Each chapter notebook executed top to bottom in a fresh kernel with one BLAS "
             f"thread, as `make test` runs it, on {machine}.", "",
             "| notebook | wall time (s) | slowest cell (s) |", "|---|---:|---|"]
    for r in rows:
        slow = r["slowest"][0] if r["slowest"] else {"seconds": 0.0, "first_line": ""}
        lines.append(f"| `{r['notebook']}` | {r['seconds']:.1f} | {slow['seconds']:.1f}: "
                     f"`{slow['first_line']}` |")
    lines += ["", f"Total: {sum(r['seconds'] for r in rows):.0f} s for {len(rows)} notebooks."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    os.environ.update(SINGLE_THREAD)  # inherited by the kernels
    os.environ[ENV_VAR] = str(REGISTRY)
    paths = [Path(p).resolve() for p in argv] or sorted((ROOT / "book").glob("*.ipynb"))
    if not argv:  # a full run rebuilds the registry: results no chapter records any more go
        REGISTRY.unlink(missing_ok=True)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    rows = [time_notebook(p) for p in tqdm(paths, desc="notebooks")]
    info = machine_info()
    machine = f"{info['cpu']} ({info['cores']} cores)"
    if argv and TIMES.exists():  # a partial run replaces only the notebooks it timed
        timed = {r["notebook"] for r in rows}
        kept = [r for r in json.loads(TIMES.read_text())["notebooks"]
                if r["notebook"] not in timed]
        rows = sorted(kept + rows, key=lambda r: r["notebook"])
    TIMES.write_text(json.dumps(
        {"machine": machine, "date": datetime.date.today().isoformat(), "notebooks": rows},
        indent=1) + "\n")
    OUT.joinpath("notebooks.md").write_text(markdown(rows, machine))
    runtimes = {Path(r["notebook"]).stem.split("_")[0]: r["seconds"] for r in rows}
    (ROOT / "book" / "results_table.md").write_text(markdown_table(load(REGISTRY), runtimes))
    for path in update_all(load_runtimes(TIMES)):
        print(f"runtime updated in {path.relative_to(ROOT)}")
    print(markdown(rows, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
