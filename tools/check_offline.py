#!/usr/bin/env python3
"""Fail if a built book page loads anything from the network.

Usage: python tools/check_offline.py [_build/html]

Scans every built HTML page for resources the browser would fetch by itself: the src, href,
srcset, data, poster and data-jupyter-widgets-cdn attributes of every tag except <a>
(script, link, img, iframe, source, video, audio, embed, object, ...), url(...) and @import
in inline <style> blocks and style="" attributes, and the same in every built CSS file.
A value counts as remote when it starts with http://, https:// or // (protocol-relative).
Plain <a href="https://..."> hyperlinks are allowed: they load only when the reader clicks.
Prints each offending file, tag and URL and exits 1; prints a one-line summary and exits 0
when everything is local.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
# url(...) and @import "..." in CSS: what a stylesheet fetches.
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
LOAD_ATTRS = {"src", "href", "srcset", "data", "poster", "data-jupyter-widgets-cdn"}


def remote_css_urls(css: str) -> list[str]:
    """Remote URLs that a piece of CSS would fetch."""
    found = []
    for match in CSS_URL.finditer(css):
        url = match.group(1) or match.group(2)
        if REMOTE.match(url):
            found.append(url)
    return found


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of an img srcset: "a.png 1x, b.png 2x" -> ["a.png", "b.png"]."""
    return [candidate.split()[0] for candidate in srcset.split(",") if candidate.strip()]


class LoadFinder(HTMLParser):
    """Collects (tag, attribute, url) for every remote load in one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.loads += [(tag, name, url) for url in remote_css_urls(value)]
            elif tag != "a" and name in LOAD_ATTRS:
                urls = srcset_urls(value) if name == "srcset" else [value.strip()]
                self.loads += [(tag, name, url) for url in urls if REMOTE.match(url)]

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.loads += [("style", "css", url) for url in remote_css_urls(data)]


def scan(root: Path) -> tuple[int, list[str]]:
    """Return (number of files scanned, one line per remote load found)."""
    problems = []
    files = sorted(root.rglob("*.html")) + sorted(root.rglob("*.css"))
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".css":
            loads = [("css", "url", url) for url in remote_css_urls(text)]
        else:
            finder = LoadFinder()
            finder.feed(text)
            loads = finder.loads
        rel = path.relative_to(root)
        problems += [f"{rel}: <{tag} {attr}> {url}" for tag, attr, url in loads]
    return len(files), problems


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "_build/html")
    if not (root / "index.html").is_file():
        print(f"check_offline: no built book in {root} (run `make book` first)", file=sys.stderr)
        return 2
    count, problems = scan(root)
    if problems:
        print(f"check_offline: {len(problems)} network load(s) in the built book:")
        print("\n".join(f"  {line}" for line in problems))
        return 1
    print(f"check_offline: {count} HTML/CSS files, every script, style, font and image is local")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
