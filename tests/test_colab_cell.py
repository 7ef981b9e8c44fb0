"""Every notebook opens in Colab and installs dlbook there without disturbing Colab's torch.

Checked offline: the first code cell installs dlbook only when ``google.colab`` is loaded, from
the repository named in ``_config.yml``, without extras; dlbook's own dependencies are lower
bounds only (no torch, no pins), so versions Colab already has satisfy them and pip leaves
them alone; and the "Open in Colab" link points at the notebook itself (for solutions/, at
the exercises/ notebook generated from it).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("book", "solutions", "exercises")
                   for p in (ROOT / folder).glob("ch*.ipynb"))
REPO = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
INSTALL = re.compile(r'%pip install -q "dlbook @ git\+(?P<url>\S+)"')
# Older than what Colab ships (it updates these every few months): if these satisfy dlbook's
# requirements, Colab's own copies do too and `pip install` keeps them.
COLAB_FLOOR = {"numpy": "1.26.4", "scipy": "1.13.1", "scikit-learn": "1.5.2", "tqdm": "4.66.5"}


def first_code_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_cell_installs_dlbook_only_in_colab(path):
    source = first_code_cell(path)
    assert source.startswith('import sys\n\nif "google.colab" in sys.modules:\n'), source
    match = INSTALL.search(source)
    assert match and match.group("url") == REPO, f"install line must use {REPO}: {source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_open_in_colab_link_points_at_the_notebook(path):
    cells = json.loads(path.read_text())["cells"]
    first = "".join(cells[0]["source"])
    github = REPO.removeprefix("https://github.com/")
    # solutions/ is the source of exercises/: its link is already the students' one.
    folder = "exercises" if path.parent.name == "solutions" else path.parent.name
    link = f"https://colab.research.google.com/github/{github}/blob/main/{folder}/{path.name}"
    assert link in first, f"{path.name}: no Open in Colab link to {link}"


def test_dlbook_requirements_keep_colabs_preinstalled_packages():
    listing = re.search(r"^dependencies = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(),
                        re.M | re.S)
    requirements = [Requirement(r) for r in re.findall(r'"([^"]+)"', listing.group(1))]
    assert requirements
    names = {r.name for r in requirements}
    assert "torch" not in names, "torch must stay an extra: Colab's CUDA build must not be replaced"
    for req in requirements:
        assert all(s.operator == ">=" for s in req.specifier), f"{req}: lower bounds only"
        assert req.name in COLAB_FLOOR, f"{req.name}: add the version Colab ships to COLAB_FLOOR"
        assert Version(COLAB_FLOOR[req.name]) in req.specifier, f"{req} rejects Colab's version"
