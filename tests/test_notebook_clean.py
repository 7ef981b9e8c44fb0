"""Committed notebooks carry no execution timestamps and no leftover progress-bar widget state
(tools/strip_notebooks.py removes both), and the stripping keeps every other widget."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import strip_notebooks as sn  # noqa: E402

NOTEBOOKS = sn.notebooks([])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_stripped(path):
    removed = sn.strip(nbformat.read(path, as_version=4))
    assert not removed, (f"{path.relative_to(ROOT)}: {removed[:3]}: run "
                         "python tools/strip_notebooks.py")


def model(name: str, **state) -> dict:
    return {"model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
            "model_name": name, "state": state}


def view(model_id: str, text: str) -> dict:
    return nbformat.v4.new_output("display_data", data={
        sn.VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
        "text/plain": text})


def test_strip_removes_timestamps_and_progress_bars_but_keeps_explorers():
    state = {
        # tqdm's bar: HBox(HTML, FloatProgress, HTML), each with its layout/style.
        "bar": model("HBoxModel", children=["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"],
                     layout="IPY_MODEL_bl"),
        "l": model("HTMLModel", value="steps: 100%", style="IPY_MODEL_ls"),
        "ls": model("HTMLStyleModel"),
        "p": model("FloatProgressModel", value=100, max=100, layout="IPY_MODEL_pl"),
        "pl": model("LayoutModel"),
        "r": model("HTMLModel", value=" 100/100 [00:01<00:00, 80.1it/s]"),
        "bl": model("LayoutModel"),
        # An explorer: VBox(slider, Output), which the built book draws from this state.
        "box": model("VBoxModel", children=["IPY_MODEL_s", "IPY_MODEL_o"]),
        "s": model("IntSliderModel", value=3, layout="IPY_MODEL_sl"),
        "sl": model("LayoutModel"),
        "o": model("OutputModel", outputs=[]),
    }
    timing = {"iopub.execute_input": "2026-11-24T04:51:22.055705Z"}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("for _ in tqdm(range(100)): pass", metadata={
            "execution": timing, "tags": ["keep-me"]}, outputs=[view("bar", "steps:   0%|")]),
        nbformat.v4.new_code_cell("explorer()", outputs=[view("box", "VBox(...)")]),
    ])
    nb.metadata["widgets"] = {sn.STATE: {"state": state, "version_major": 2,
                                         "version_minor": 0}}
    removed = sn.strip(nb)
    assert removed
    kept = nb.metadata["widgets"][sn.STATE]["state"]  # (NotebookNode copied `state`)
    assert set(kept) == {"box", "s", "sl", "o"}
    bar_output, explorer_output = nb.cells[0].outputs[0], nb.cells[1].outputs[0]
    assert sn.VIEW not in bar_output.data and bar_output.data["text/plain"] == "steps:   0%|"
    assert explorer_output.data[sn.VIEW]["model_id"] == "box"
    assert nb.cells[0].metadata == {"tags": ["keep-me"]}
    assert sn.strip(nb) == []  # idempotent


def test_strip_drops_the_widget_metadata_when_only_bars_were_there():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x", outputs=[view("bar", "0%")])])
    nb.metadata["widgets"] = {sn.STATE: {"state": {
        "bar": model("HBoxModel", children=["IPY_MODEL_p"]),
        "p": model("FloatProgressModel", value=1)}}}
    sn.strip(nb)
    assert "widgets" not in nb.metadata
