"""Fast checks of the book configuration: _toc.yml, _config.yml and nbval_sanitize.cfg.

The full build (`make book-strict`) is what proves the book; these catch the common slips in
a second: a chapter notebook missing from the table of contents, a setting that would make
the build execute notebooks or fetch from the network, a sanitize regex that does not compile.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def load_yaml(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def toc_files(node: dict) -> list[str]:
    """Every `file:` below a jb-book table of contents node (parts, chapters, sections)."""
    files = [node["file"]] if "file" in node else []
    for key in ("parts", "chapters", "sections"):
        for child in node.get(key) or []:
            files += toc_files(child)
    return files


def strip_suffix(path: str) -> str:
    return re.sub(r"\.(ipynb|md)$", "", path)


@pytest.fixture(scope="module")
def toc() -> dict:
    return load_yaml("_toc.yml")


@pytest.fixture(scope="module")
def config() -> dict:
    return load_yaml("_config.yml")


def test_toc_is_a_book_rooted_at_the_intro(toc):
    assert toc["format"] == "jb-book"
    assert strip_suffix(toc["root"]) == "book/intro"
    assert (ROOT / "book/intro.md").is_file()


def test_toc_lists_every_chapter_notebook(toc):
    listed = {strip_suffix(f) for f in toc_files(toc)}
    notebooks = {str(p.relative_to(ROOT).with_suffix("")) for p in ROOT.glob("book/*.ipynb")}
    assert not notebooks - listed, f"book notebooks missing from _toc.yml: {notebooks - listed}"


def test_toc_entries_exist(toc):
    for entry in toc_files(toc):
        stem = strip_suffix(entry)
        found = [s for s in (".ipynb", ".md") if (ROOT / (stem + s)).is_file()]
        assert found, f"_toc.yml lists {entry}, but there is no {stem}.ipynb or {stem}.md"


def test_chapters_are_in_chapter_order(toc):
    names = [Path(f).name for f in toc_files(toc)]
    numbers = [int(m.group(1)) for n in names if (m := re.match(r"ch(\d\d)_", n))]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_notebooks_are_not_executed_at_build_time(config):
    assert config["execute"]["execute_notebooks"] == "off"


def test_repository_url_and_colab_button(config):
    """The home is unset (nothing links anywhere) or a GitHub repository, whose release tag the
    buttons open; the buttons are on exactly when it is set (jupyter-book refuses a repository
    button without a URL). tests/test_colab_cell.py checks the notebooks agree with it."""
    url = config["repository"]["url"]
    assert url == "" or re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    assert "dlbook/dlbook" not in url, "the old default names a stranger's repository"
    version = re.search(r'__version__ = "(.+)"', (ROOT / "dlbook/__init__.py").read_text())[1]
    assert config["repository"]["branch"] == f"v{version}"
    assert config["html"]["use_repository_button"] is bool(url)
    assert config["launch_buttons"]["colab_url"] == ("https://colab.research.google.com"
                                                     if url else "")
    assert not config["launch_buttons"].get("thebe")


def test_footer_states_the_licences(config):
    footer = config["html"]["extra_footer"]
    assert "CC BY-SA 4.0" in footer and "MIT" in footer and "Alpaydin" in footer
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "Attribution-ShareAlike 4.0 International" in (ROOT / "LICENSE-text").read_text()


def test_mathjax_and_widget_scripts_are_local(config):
    sphinx = config["sphinx"]["config"]
    assert not re.match(r"(https?:)?//", sphinx["mathjax_path"])
    static = [ROOT / p for p in sphinx["html_static_path"]]
    assert all(p.name != "_static" for p in static)
    assert any((p / "mathjax").as_posix().endswith("_assets/mathjax") for p in static)
    scripts = list(sphinx["nb_ipywidgets_js"])
    assert scripts, "nb_ipywidgets_js must replace myst-nb's CDN defaults"
    assert not [s for s in scripts if re.match(r"(https?:)?//", s)]
    committed = [s for s in scripts if any((p / s).is_file() for p in static)]
    assert committed, "the local widget loader script must be in a committed static folder"


def test_build_folders_are_excluded(config):
    excluded = set(config["exclude_patterns"])
    for name in ("_build", ".venv", "node_modules", "exercises", "solutions", "tests"):
        assert name in excluded, f"{name} must be in exclude_patterns"


def test_sanitize_patterns_compile():
    text = (ROOT / "nbval_sanitize.cfg").read_text(encoding="utf-8")
    # The exact pairing nbval reads (nbval.plugin.get_sanitize_patterns).
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.MULTILINE)
    assert len(pairs) == text.count("\nregex: "), "every regex: line needs a replace: line"
    assert pairs
    for regex, _ in pairs:
        re.compile(regex)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("<object object at 0x7fd1c561b290>", "<object object at 0xADDRESS>"),
        ("50/50 [00:00<00:00, 3770.64it/s]", "50/50 [TQDM-STATS]"),
        ("done in 1.23 s", "done in TIME"),
        ("step took 1.2 ms", "step took TIME"),
        ("IPY_MODEL_0cb1f63cc6d141a188b6d541e0487043", "IPY_MODEL_WIDGET-ID"),
        ("loss 0.1234 after 3 epochs", "loss 0.1234 after 3 epochs"),
    ],
)
def test_sanitize_masks_what_varies_and_nothing_else(raw, masked):
    text = (ROOT / "nbval_sanitize.cfg").read_text(encoding="utf-8")
    for regex, replace in re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.MULTILINE):
        raw = re.sub(regex, replace, raw)
    assert raw == masked


def load_check_offline():
    spec = importlib.util.spec_from_file_location("check_offline", ROOT / "tools/check_offline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_offline_flags_remote_loads_but_not_hyperlinks(tmp_path):
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="_static/local.css">'
        '<script src="https://cdn.jsdelivr.net/npm/x.js"></script>'
        '<link href="//fonts.googleapis.com/css?family=Lato" rel="stylesheet">'
        '<style>@import "https://example.org/a.css";</style>'
        '<div style="background: url(http://example.org/bg.png)"></div>'
        '<img srcset="_images/a.png 1x, https://example.org/b.png 2x">'
        '<a href="https://colab.research.google.com/github/example-org/dlbook">Colab</a>',
        encoding="utf-8",
    )
    (tmp_path / "theme.css").write_text("a { background: url('../img/x.png') }", encoding="utf-8")
    count, problems = load_check_offline().scan(tmp_path)
    assert count == 2
    urls = sorted(line.rsplit(" ", 1)[1] for line in problems)
    assert urls == [
        "//fonts.googleapis.com/css?family=Lato",
        "http://example.org/bg.png",
        "https://cdn.jsdelivr.net/npm/x.js",
        "https://example.org/a.css",
        "https://example.org/b.png",
    ]


@pytest.mark.parametrize("solution", sorted((ROOT / "solutions").glob("ch*.ipynb")),
                         ids=lambda p: p.stem)
def test_each_chapter_with_exercises_points_to_them(solution):
    chapter = ROOT / "book" / solution.name
    assert chapter.exists(), f"solutions/{solution.name} has no chapter book/{solution.name}"
    cells = json.loads(chapter.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "## Exercises" in text, f"book/{solution.name} has no Exercises section"
    assert f"exercises/{solution.name}" in text, f"book/{solution.name} does not link its exercises"
