"""The repository's home, set once, and everything built from it: Colab badges, install cells.

The home is ``repository.url`` in ``_config.yml`` (the same setting jupyter-book's repository
button and Colab launch button read). It is empty by default, so that nothing points at a
repository that may belong to someone else: until its owner sets it,

- each notebook's first markdown cell says what to set instead of linking to Colab,
- each notebook's install cell, run in Colab, stops with the same message,
- ``make book`` prints a loud banner (``--warn``) and the book has no Colab/repository button,
- pyproject's ``[project.urls]`` is empty, and the README's chapter table says "not set".

Once set, every notebook opens in Colab from the release tag ``v<dlbook.__version__>`` and its
install cell installs that same tag (never the tip of main), unless dlbook already imports.

    python tools/colab_home.py                 rewrite every notebook, README, pyproject, _config
    python tools/colab_home.py --set URL       set repository.url in _config.yml, then rewrite
    python tools/colab_home.py --check         write nothing; exit 1 where anything disagrees
    python tools/colab_home.py --warn          print the banner when the home is not set

Notebooks are edited in place: the badge line of the first cell, the first code cell, and any
other Colab link in the prose (a chapter's link to its exercises), nothing else;
each write goes through the notebook lock ``/work/coord/nblock`` when it exists.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
PYPROJECT = ROOT / "pyproject.toml"
FOLDERS = ("book", "solutions", "exercises")
COLAB = "https://colab.research.google.com"
NBLOCK = Path("/work/coord/nblock")
HOW = ("set repository.url in _config.yml to this repository's GitHub URL and run "
       "`python tools/colab_home.py` (README, section Colab)")
# Until then a reader still has a way in that names no repository: Colab's own page.
UNTIL_SET = ("Until then: run it locally (README, \"Installing\"), or open "
             f"[Colab]({COLAB}/), upload this notebook (File > Upload notebook) and "
             "`%pip install` a dlbook wheel built with `python -m build`.")
# The badge line of a first cell: a link once the home is set, the instruction until then.
BADGE_LINE = re.compile(r"^(\[Open in Colab\]\(\S+\)|\*Open in Colab: not set up\b.*\*)$")
GITHUB = re.compile(r"^https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
# Other Colab links in the prose (a chapter's link to its exercises), set and unset forms.
_PATH = r"(?P<path>(?:book|solutions|exercises)/ch\d\d_\w+\.ipynb)"
LINK = re.compile(r"\[(?P<text>[^\]\n]+)\]\(https://colab\.research\.google\.com/github/"
                  r"[\w.-]+/[\w.-]+/blob/[\w.-]+/" + _PATH + r"\)")
UNSET_LINK = re.compile(r"\*(?P<text>[^*\n]+)\* \(Colab not set up: `" + _PATH + r"`\)")


@dataclass(frozen=True)
class Home:
    """The repository (``https://github.com/ORG/REPO``, or "" when not set) and its release."""

    url: str
    release: str

    @property
    def is_set(self) -> bool:
        return bool(self.url)

    def colab_link(self, notebook: str) -> str:
        """The Colab URL that opens ``notebook`` (``"book/ch01_x.ipynb"``) at the release."""
        if not self.is_set:
            raise ValueError(f"the repository's home is not set: {HOW}")
        github = self.url.removeprefix("https://github.com/")
        return f"{COLAB}/github/{github}/blob/{self.release}/{notebook}"


def release() -> str:
    """``v`` + dlbook's version, read from dlbook/__init__.py (the one place it is set)."""
    text = (ROOT / "dlbook" / "__init__.py").read_text()
    return "v" + re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def load_home(config: Path = CONFIG) -> Home:
    url = (yaml.safe_load(config.read_text()).get("repository") or {}).get("url") or ""
    url = url.strip().removesuffix("/").removesuffix(".git")
    if url and not GITHUB.match(url):
        raise ValueError(f"repository.url in {config.name} must be https://github.com/ORG/REPO, "
                         f"not {url!r}")
    return Home(url, release())


# -- what each place says -------------------------------------------------------------------


def badge_line(home: Home, notebook: str) -> str:
    """The first cell's Colab line for ``notebook`` (solutions/ link to their exercises/)."""
    folder, name = notebook.split("/")
    target = f"exercises/{name}" if folder == "solutions" else notebook
    if not home.is_set:
        return f"*Open in Colab: not set up yet. The owner of this copy must {HOW}. {UNTIL_SET}*"
    return f"[Open in Colab]({home.colab_link(target)})"


def install_cell(home: Home) -> str:
    """The first code cell: in Colab only, install the release unless dlbook already imports."""
    head = ('import sys\n\nif "google.colab" in sys.modules:\n    try:\n'
            "        import dlbook  # noqa: F401  (installed already: keep it)\n"
            "    except ImportError:\n")
    if not home.is_set:
        message = f"dlbook's repository is not set: its owner must {HOW}."
        lines = [f'            "{piece} "' for piece in textwrap.wrap(message, 72)]
        lines[-1] = lines[-1].removesuffix(' "') + '"'
        return head + "        raise RuntimeError(\n" + "\n".join(lines) + "\n        ) from None"
    return head + f'        %pip install -q "dlbook @ git+{home.url}@{home.release}"'


def prose_links(home: Home, text: str) -> str:
    """``text`` with each Colab link to a notebook in the form for ``home``: a link to the
    release once set, the text and the notebook's path (no link) until then."""
    def link(found: re.Match) -> str:
        if home.is_set:
            return f"[{found['text']}]({home.colab_link(found['path'])})"
        return f"*{found['text']}* (Colab not set up: `{found['path']}`)"

    return UNSET_LINK.sub(link, LINK.sub(link, text))


def readme_colab_cell(home: Home, notebook: str) -> str:
    """The Colab column of the README's chapter table for ``notebook``."""
    if not home.is_set:
        return "not set up (README, \"Colab\")"
    badge = f"{COLAB}/assets/colab-badge.svg"
    return f"[![Open In Colab]({badge})]({home.colab_link(notebook)})"


# -- rewriting ------------------------------------------------------------------------------


def notebooks() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("ch[0-9][0-9]_*.ipynb"))


def rewrite_notebook(nb: nbformat.NotebookNode, home: Home, notebook: str) -> bool:
    """Set the badge line and the install cell of ``nb``; True when it changed."""
    cells = nb["cells"]
    first = cells[0]
    if first["cell_type"] != "markdown":
        raise ValueError(f"{notebook}: the first cell must be markdown (title, Colab link)")
    lines = "".join(first["source"]).split("\n")
    where = [i for i, line in enumerate(lines) if BADGE_LINE.match(line)]
    if len(where) != 1:
        raise ValueError(f"{notebook}: the first cell needs exactly one Colab line")
    code = next(c for c in cells if c["cell_type"] == "code")
    if not "".join(code["source"]).startswith('import sys\n\nif "google.colab" in sys.modules:'):
        raise ValueError(f"{notebook}: the first code cell is not the Colab install cell")
    changed = False
    line = badge_line(home, notebook)
    if lines[where[0]] != line:
        lines[where[0]] = line
        first["source"] = "\n".join(lines)
        changed = True
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        lines = cell["source"].split("\n")
        new = [text if index == 0 and i == where[0] else prose_links(home, text)
               for i, text in enumerate(lines)]
        if new != lines:
            cell["source"] = "\n".join(new)
            changed = True
    source = install_cell(home)
    if "".join(code["source"]) != source:
        code["source"] = source
        changed = True
    return changed


def _write_notebook(path: Path, home: Home) -> bool:
    """Read, rewrite and write one notebook at once (inside the notebook lock)."""
    nb = nbformat.read(path, as_version=4)
    if not rewrite_notebook(nb, home, path.relative_to(ROOT).as_posix()):
        return False
    nbformat.write(nb, path)
    return True


def update_notebooks(home: Home, check: bool) -> list[Path]:
    stale = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        if not rewrite_notebook(nb, home, path.relative_to(ROOT).as_posix()):
            continue
        stale.append(path)
        if check:
            continue
        if NBLOCK.exists():  # the team's per-notebook write lock
            subprocess.run([str(NBLOCK), str(path.relative_to(ROOT)), sys.executable,
                            __file__, "--one", str(path)], cwd=ROOT, check=True)
        else:
            _write_notebook(path, home)
    return stale


def config_text(text: str, home: Home) -> str:
    """_config.yml with the repository and Colab buttons on exactly when the home is set
    (jupyter-book refuses a repository button, and the Colab button fails, without a URL)."""
    text = re.sub(r"^(  use_repository_button:) \S+", rf"\1 {str(home.is_set).lower()}", text,
                  flags=re.M)
    colab = f"{COLAB}" if home.is_set else '""'
    text = re.sub(r"^(  colab_url:) \S+", rf"\1 {colab}", text, flags=re.M)
    return re.sub(r"^(  branch:) \S+", rf"\1 {home.release}", text, flags=re.M)


def pyproject_text(text: str, home: Home) -> str:
    urls = ""
    if home.is_set:
        urls = (f'Homepage = "{home.url}"\nSource = "{home.url}"\n'
                f'Issues = "{home.url}/issues"\n')
    return re.sub(r"^\[project\.urls\]\n(?:[A-Za-z]+ = .*\n)*", "[project.urls]\n" + urls, text,
                  flags=re.M)


def update_text_files(home: Home, check: bool) -> list[Path]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import chapter_runtimes

    stale = []
    readme = chapter_runtimes.README
    for path, fix in ((CONFIG, config_text), (PYPROJECT, pyproject_text),
                      (readme, lambda t, h: chapter_runtimes.update_readme(
                          t, chapter_runtimes.load_runtimes(), h))):
        text = path.read_text(encoding="utf-8")
        new = fix(text, home)
        if new != text:
            stale.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return stale


def set_url(url: str) -> None:
    url = url.strip().removesuffix("/").removesuffix(".git")
    if not GITHUB.match(url):
        raise SystemExit(f"error: {url!r} is not https://github.com/ORG/REPO")
    text = CONFIG.read_text(encoding="utf-8")
    new, count = re.subn(r"^(  url:) .*$", rf"\1 {url}", text, count=1, flags=re.M)
    if count != 1:
        raise SystemExit("error: no `  url:` line under repository: in _config.yml")
    CONFIG.write_text(new, encoding="utf-8")


def banner(home: Home) -> str:
    """The warning ``make book`` prints while the home is not set ("" once it is)."""
    if home.is_set:
        return ""
    rule = "!" * 88
    return (f"{rule}\n!! dlbook: this copy has no home, so the book and the notebooks have no "
            f"Colab links\n!! and Colab cannot install dlbook. To fix: {HOW}.\n{rule}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", metavar="URL", help="set repository.url first")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument("--warn", action="store_true", help="print the banner if not set")
    parser.add_argument("--one", metavar="NOTEBOOK", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.set:
        set_url(args.set)
    home = load_home()
    if args.one:
        _write_notebook(Path(args.one).resolve(), home)
        return 0
    if args.warn:
        if not home.is_set:
            print(banner(home), file=sys.stderr)
        return 0
    stale = update_text_files(home, args.check) + update_notebooks(home, args.check)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    where = home.url or "not set"
    if args.check and stale:
        print(f"out of date with repository.url ({where}): run python tools/colab_home.py")
        return 1
    print(f"home: {where}, release {home.release}; {len(notebooks())} notebooks agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
