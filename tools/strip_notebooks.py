"""Strip what changes on every run from committed notebooks, and nothing else.

- per-cell execution timestamps (``cell.metadata.execution``, which nbclient records:
  ``iopub.execute_input``, ``shell.execute_reply`` ...);
- progress bars' leftover widget state: a tqdm bar in a notebook is an ipywidgets HBox of
  HTML, FloatProgress and HTML models whose final state (count, rate, elapsed time) is saved
  in the notebook's ``metadata.widgets``. The bar's models are removed from that state, and
  its output keeps only its text form (nbval never compares widget views; the text is what
  the bar printed when it started, which every run prints the same).

Other widgets (the explorers' sliders, dropdowns and outputs) are kept: the built book draws
them from their saved state.

    python tools/strip_notebooks.py [--check] [NOTEBOOK ...]   (default: book/, solutions/,
                                                                exercises/)

Each notebook is read, stripped and written at once, under the team's notebook lock
(/work/coord/nblock) when it exists. To keep timestamps out in the first place, execute with
``jupyter nbconvert --execute --ExecutePreprocessor.record_timing=False``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("book", "solutions", "exercises")
NBLOCK = Path("/work/coord/nblock")
STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"
PREFIX = "IPY_MODEL_"


def _references(value: object) -> set[str]:
    """Model ids referenced (as ``IPY_MODEL_<id>``) anywhere inside a model's state."""
    if isinstance(value, str):
        return {value.removeprefix(PREFIX)} if value.startswith(PREFIX) else set()
    if isinstance(value, dict):
        return set().union(*map(_references, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_references, value)) if value else set()
    return set()


def progress_bars(state: dict) -> set[str]:
    """Ids of the HBox models that hold a FloatProgress model: tqdm's notebook bars."""
    return {mid for mid, model in state.items()
            if model.get("model_name") == "HBoxModel"
            and any(state.get(child, {}).get("model_name") == "FloatProgressModel"
                    for child in _references(model.get("state", {}).get("children", [])))}


def _tree(state: dict, root: str) -> set[str]:
    """``root`` and every model it references, transitively."""
    seen, todo = set(), [root]
    while todo:
        mid = todo.pop()
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        todo.extend(_references(state[mid].get("state", {})))
    return seen


def strip(nb: nbformat.NotebookNode) -> list[str]:
    """Strip ``nb`` in place; what was removed, one line each (empty: it was clean)."""
    removed = []
    for index, cell in enumerate(nb.cells):
        if "execution" in cell.get("metadata", {}):
            del cell.metadata["execution"]
            removed.append(f"cell {index}: execution timestamps")
    widgets = nb.metadata.get("widgets", {}).get(STATE)
    state = widgets.get("state", {}) if widgets else {}
    bars = progress_bars(state)
    if not bars:
        return removed
    drop = set().union(*(_tree(state, bar) for bar in bars))
    kept = {mid: model for mid, model in state.items() if mid not in drop}
    # A model that a kept widget still references stays (none is shared in practice).
    still = set().union(*(_references(m.get("state", {})) for m in kept.values())) if kept \
        else set()
    drop -= still
    for mid in drop:
        del state[mid]
    removed.append(f"{len(bars)} progress bar(s): {len(drop)} widget models")
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(VIEW)
            if view and view.get("model_id") in drop:
                del output.data[VIEW]
                removed.append(f"cell {index}: progress bar view")
    if not state:
        del nb.metadata["widgets"]
    return removed


def notebooks(paths: list[str]) -> list[Path]:
    if paths:
        return [Path(p).resolve() for p in paths]
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb"))


def strip_file(path: Path) -> list[str]:
    """Read, strip and write back one notebook (call inside its lock)."""
    nb = nbformat.read(path, as_version=4)
    removed = strip(nb)
    if removed:
        nbformat.write(nb, path)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebook of "
                        + ", ".join(f"{f}/" for f in FOLDERS))
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook needs stripping")
    parser.add_argument("--unlocked", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    dirty = []
    for path in notebooks(args.notebooks):
        removed = strip(nbformat.read(path, as_version=4))
        if not removed:
            continue
        dirty.append(path)
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{name}: {'; '.join(removed[:3])}{' ...' if len(removed) > 3 else ''}")
        if args.check:
            continue
        if NBLOCK.exists() and not args.unlocked:
            subprocess.run([str(NBLOCK), str(path), sys.executable, __file__, "--unlocked",
                            str(path)], check=True, stdout=subprocess.DEVNULL)
        else:
            strip_file(path)
    if args.check and dirty:
        print(f"{len(dirty)} notebook(s) carry timestamps or progress-bar state: "
              "run python tools/strip_notebooks.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
