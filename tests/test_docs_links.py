"""The docs point only at what is in the repository: every relative link (and its #anchor)
resolves, and no page names a file kept outside it or one machine's path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
OUTSIDE = ("design.md", "testsigma-api.md", "/work/", "/home/user")


def _text(page: Path) -> str:
    """The page without its code blocks (their brackets are not links)."""
    return re.sub(r"(?ms)^```.*?^```", "", page.read_text(encoding="utf-8"))


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of the page's headings."""
    found = set()
    for heading in re.findall(r"(?m)^#+ (.+)$", _text(page)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    for target in LINK.findall(_text(page)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        assert where.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
        if anchor and where.suffix == ".md":
            assert anchor in anchors(where), f"{page.relative_to(ROOT)}: no #{anchor} in {path}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_names_a_file_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for name in OUTSIDE:
        assert not re.search(rf"(?<![\w/.-]){re.escape(name)}", text), (page.name, name)


def test_the_license_is_the_one_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "rerunorch developers" in text
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
