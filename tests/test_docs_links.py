"""Relative links and images in the Markdown pages point at files that exist.

Covers every Markdown file in docs/, the README and benchmarks/README.md. Web links
(http, https, mailto) are not checked (no network in CI); anchors after ``#`` are ignored.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [
    ROOT / "README.md",
    ROOT / "benchmarks" / "README.md",
]

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`+[^`]*`+")
# [text](target) and ![alt](target), target up to whitespace or ")" (an optional "title" follows)
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_HTML_SRC = re.compile(r"<(?:img|a)\s[^>]*(?:src|href)=[\"']([^\"']+)[\"']", re.IGNORECASE)
_INCLUDE = re.compile(r"^\s*(?:```|:::)\{include\}\s+(\S+)")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def local_targets(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every relative link, image, HTML src/href and MyST
    ``{include}`` in ``text``, outside fenced code blocks and inline code."""
    found, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if m := _INCLUDE.match(line):
            found.append((number, m.group(1)))
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        line = _INLINE_CODE.sub("", line)
        targets = _INLINE_LINK.findall(line) + _HTML_SRC.findall(line)
        if m := _REF_DEFINITION.match(line):
            targets.append(m.group(1))
        for target in targets:
            if _EXTERNAL.match(target) or target.startswith("#"):
                continue
            found.append((number, target))
    return found


def test_pages_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"docs/index.md", "docs/user_guide.md", "README.md", "benchmarks/README.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    broken = []
    for number, target in local_targets(page.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not path:
            continue
        resolved = (page.parent / path).resolve()
        if not resolved.exists() or not resolved.is_relative_to(ROOT):
            broken.append(f"line {number}: {target}")
    assert not broken, f"{page.relative_to(ROOT)}: broken relative links: {broken}"


def test_link_parser():
    text = """
See [the guide](user_guide.md#fit), ![a plot](img/steps.png "title") and
[a site](https://example.org), [an anchor](#here), `[not a link](nope.md)`.
<img src="img/x.png" width="40">

```python
x = "[not a link](in_code.md)"
```

[ref]: ../benchmarks/README.md
```{include} ../benchmarks/README.md
```
"""
    assert [t for _, t in local_targets(text)] == [
        "user_guide.md#fit",
        "img/steps.png",
        "img/x.png",
        "../benchmarks/README.md",
        "../benchmarks/README.md",
    ]
