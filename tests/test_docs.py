"""The Markdown documents' links resolve, and every citation of the measured notes names a section that exists.

Anchors follow GitHub's rules: the heading's text lowercased, punctuation dropped, spaces turned into '-',
a repeated heading suffixed -1, -2, ...
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "benchmarks").glob("*.md")), *sorted((ROOT / "experiments").glob("*.md"))]
CITING = ("s2t", "probes", "study", "benchmarks", "experiments", "tests", "configs", "scripts")  # code and configs
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)\)")
NOTES = r"(?:benchmarks/RESULTS|experiments/RECIPES|experiments/FINDINGS)\.md"
CITATION = re.compile(rf"({NOTES})(#[\w-]+)?")


def outside_fences(text: str) -> list[str]:
    """The lines of a Markdown text that are not inside a fenced code block."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading's text (inline code and emphasis marks dropped with the other punctuation)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of every heading of a Markdown file, repeated headings numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for line in outside_fences(path.read_text()):
        match = HEADING.match(line)
        if match:
            base = anchor(match.group(2))
            found.add(f"{base}-{seen[base]}" if base in seen else base)
            seen[base] = seen.get(base, 0) + 1
    return found


def links(path: Path) -> list[str]:
    """The targets of the links and images of a Markdown file's prose (code blocks and code spans left out)."""
    prose = "\n".join(CODE_SPAN.sub("", line) for line in outside_fences(path.read_text()))
    return LINK.findall(prose)


def broken(path: Path, target: str) -> str | None:
    """Why a relative link of ``path`` does not resolve, or None; links with a scheme are not followed."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target):
        return None
    file, _, fragment = target.partition("#")
    resolved = (path.parent / file).resolve() if file else path
    if not resolved.exists():
        return f"{target}: no such file"
    if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
        return f"{target}: no heading #{fragment} in {resolved.name}"
    return None


def test_anchors_links_and_their_checks_on_a_planted_document(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Results\n\n## ASR + ST quality: `multi_asr_st` (preset xs), 2026-12-01\n\n```sh\n# not a heading\n```\n"
                   "## Which map's noise? [Saliency](x.md) vs CA\n\n## Results\n")
    assert anchors(doc) == {"results", "asr--st-quality-multi_asr_st-preset-xs-2026-12-01",
                            "which-maps-noise-saliency-vs-ca", "results-1"}
    doc.write_text("# Results\n[a](doc.md#results) `[b](missing.md)` ![c](doc.md)\n```\n[d](gone.md)\n```\n"
                   "[e](doc.md#nowhere) [f](missing.md) [g](https://example.org/x#y)\n")
    assert links(doc) == ["doc.md#results", "doc.md", "doc.md#nowhere", "missing.md", "https://example.org/x#y"]
    assert [broken(doc, target) for target in links(doc)] == [
        None, None, "doc.md#nowhere: no heading #nowhere in doc.md", "missing.md: no such file", None]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    assert [why for target in links(path) if (why := broken(path, target))] == []


def test_code_configs_and_tests_cite_a_section_that_exists() -> None:
    files = [p for folder in CITING for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".yaml", ".sh"}]
    cited, wrong = 0, []
    for path in [*files, ROOT / "Makefile"]:
        if path == Path(__file__).resolve():
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for document, fragment in CITATION.findall(line):
                cited += 1
                if not fragment or fragment[1:] not in anchors(ROOT / document):
                    wrong.append(f"{path.relative_to(ROOT)}:{n}: {document}{fragment} (a section of it, #heading)")
    assert cited and wrong == []


def test_the_readme_cites_the_notes_by_links_only() -> None:
    prose = LINK.sub("", "\n".join(outside_fences((ROOT / "README.md").read_text())))  # links (text and target) out
    assert CITATION.findall(prose) == []
