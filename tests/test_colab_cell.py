"""Every notebook's Colab line and install cell come from the repository's home, set once.

The home is ``repository.url`` in ``_config.yml``; ``tools/colab_home.py`` writes the Colab
line of each notebook's first cell, its install cell, the README's chapter table, pyproject's
URLs and the dependent _config.yml lines. Checked here: all of them agree with the setting;
until it is set nothing links to any repository (the old default named a stranger's) and the
install cell, in Colab, says what to set; once set, the cell installs the release tag and
skips the install when dlbook already imports (run here through IPython's own input
transformer, with a stand-in for Colab); and dlbook's dependencies keep Colab's packages.
"""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_home  # noqa: E402

NOTEBOOKS = colab_home.notebooks()
HOME = colab_home.load_home()
EXAMPLE = colab_home.Home("https://github.com/example-org/dlbook", colab_home.release())
# Older than what Colab ships (it updates these every few months): if these satisfy dlbook's
# requirements, Colab's own copies do too and `pip install` keeps them.
COLAB_FLOOR = {"numpy": "1.26.4", "scipy": "1.13.1", "scikit-learn": "1.5.2", "tqdm": "4.66.5"}


def test_there_are_notebooks_in_every_folder():
    assert {p.parent.name for p in NOTEBOOKS} == set(colab_home.FOLDERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_agrees_with_the_home(path):
    nb = nbformat.read(path, as_version=4)
    notebook = path.relative_to(ROOT).as_posix()
    assert not colab_home.rewrite_notebook(nb, HOME, notebook), \
        f"{notebook} disagrees with repository.url: run python tools/colab_home.py"


def test_readme_pyproject_and_config_agree_with_the_home():
    stale = colab_home.update_text_files(HOME, check=True)
    assert not stale, f"{stale} disagree with repository.url: run python tools/colab_home.py"


def test_the_home_is_a_github_repository_or_unset():
    assert HOME.url == "" or colab_home.GITHUB.match(HOME.url)
    assert HOME.release == "v" + __import__("dlbook").__version__


def test_an_unset_home_links_nowhere():
    if HOME.is_set:
        pytest.skip("the home is set")
    texts = [p.read_text() for p in NOTEBOOKS]
    texts += [(ROOT / n).read_text() for n in ("README.md", "pyproject.toml", "_config.yml")]
    for text in texts:
        assert "colab.research.google.com/github/" not in text
        assert "git+https://" not in text
        assert "github.com/dlbook/dlbook" not in text


def test_unset_lines_say_what_to_set():
    home = colab_home.Home("", "v9.9.9")
    line = colab_home.badge_line(home, "book/ch01_x.ipynb")
    assert colab_home.BADGE_LINE.match(line) and "repository.url" in line
    # the one address it holds is Colab's own page (upload a notebook there), no repository
    assert re.findall(r"https?://[^\s)]+", line) == ["https://colab.research.google.com/"]
    assert "repository.url" in colab_home.install_cell(home)
    assert "http" not in colab_home.readme_colab_cell(home, "book/ch01_x.ipynb")
    assert "repository.url" in colab_home.banner(home)


def test_set_lines_open_and_install_the_release():
    line = colab_home.badge_line(EXAMPLE, "solutions/ch01_x.ipynb")
    assert line == (f"[Open in Colab](https://colab.research.google.com/github/example-org/"
                    f"dlbook/blob/{EXAMPLE.release}/exercises/ch01_x.ipynb)")
    assert colab_home.BADGE_LINE.match(line)
    assert f"git+https://github.com/example-org/dlbook@{EXAMPLE.release}" in \
        colab_home.install_cell(EXAMPLE)
    assert colab_home.banner(EXAMPLE) == ""


def test_config_and_pyproject_follow_the_home():
    config = (ROOT / "_config.yml").read_text()
    on = colab_home.config_text(config, EXAMPLE)
    assert "use_repository_button: true" in on and "colab_url: https://colab" in on
    off = colab_home.config_text(on, colab_home.Home("", EXAMPLE.release))
    assert "use_repository_button: false" in off and 'colab_url: ""' in off
    assert f"branch: {EXAMPLE.release}" in off
    pyproject = colab_home.pyproject_text((ROOT / "pyproject.toml").read_text(), EXAMPLE)
    assert 'Source = "https://github.com/example-org/dlbook"' in pyproject
    assert "Source" not in colab_home.pyproject_text(pyproject, colab_home.Home("", "v1"))


def run_install_cell(source: str, dlbook_imports: bool) -> list[str]:
    """Run the cell as IPython would in Colab; the %pip lines it would run."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls: list[str] = []
    shell = types.SimpleNamespace(run_line_magic=lambda name, line: calls.append(f"{name} {line}"))
    code = TransformerManager().transform_cell(source)
    saved = {k: sys.modules.get(k) for k in ("google.colab", "dlbook")}
    sys.modules["google.colab"] = types.ModuleType("google.colab")
    if not dlbook_imports:
        sys.modules["dlbook"] = None  # import dlbook raises ImportError
    try:
        exec(compile(code, "<install cell>", "exec"), {"get_ipython": lambda: shell})
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module
    return calls


def test_install_cell_installs_the_release_only_when_dlbook_is_missing():
    cell = colab_home.install_cell(EXAMPLE)
    assert run_install_cell(cell, dlbook_imports=True) == []
    calls = run_install_cell(cell, dlbook_imports=False)
    assert calls == [f'pip install -q "dlbook @ git+https://github.com/example-org/dlbook'
                     f'@{EXAMPLE.release}"'], calls


def test_unset_install_cell_stops_in_colab_with_what_to_set():
    cell = colab_home.install_cell(colab_home.Home("", "v1"))
    assert run_install_cell(cell, dlbook_imports=True) == []
    with pytest.raises(RuntimeError, match="repository.url"):
        run_install_cell(cell, dlbook_imports=False)


def test_install_cell_does_nothing_outside_colab():
    code = colab_home.install_cell(EXAMPLE).replace("%pip", "raise SystemExit #")
    exec(compile(code, "<install cell>", "exec"), {})  # google.colab is not loaded here


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


def test_prose_links_round_trip_between_set_and_unset():
    text = ("Do [the exercises](https://colab.research.google.com/github/old/name/blob/main/"
            "exercises/ch01_x.ipynb) and [`exercises/ch02_y.ipynb`](https://colab.research."
            "google.com/github/old/name/blob/main/exercises/ch02_y.ipynb).")
    unset = colab_home.prose_links(colab_home.Home("", "v1"), text)
    assert "http" not in unset and "`exercises/ch01_x.ipynb`" in unset
    assert unset.startswith("Do *the exercises* (Colab not set up: ")
    again = colab_home.prose_links(EXAMPLE, unset)
    assert again == colab_home.prose_links(EXAMPLE, text)
    assert again.count(f"github/example-org/dlbook/blob/{EXAMPLE.release}/exercises/") == 2
    assert "[`exercises/ch02_y.ipynb`](" in again
