"""The front door and the contract of record: README.md stays short and starts with the newcomer's two
commands, it links every page of docs/, every relative link of the docs leads to a file and heading that
exist, and every environment variable the function reads is in the configuration table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from faceid_fn.adapters.tencent.credentials import EXTENSION_PORT_ENV, EXTENSION_TTL_ENV
from faceid_fn.config import Settings
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = ("http.md", "configuration.md", "deploying.md", "operations.md", "architecture.md", "testing.md", "bench.md")
DOCUMENTS = ("README.md", "bench/README.md", *(f"docs/{page}" for page in PAGES))

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(path: Path) -> str:
    """The text without its fenced code blocks (a `[x](y)` in code is not a link)."""
    return _FENCE.sub("", path.read_text())


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, spaces as hyphens."""
    anchors: set[str] = set()
    for line in _prose(path).splitlines():
        if not line.startswith("#"):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:  # a repeated heading gets -1, -2, ...
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def test_the_readme_is_a_short_front_door_with_the_two_commands_first() -> None:
    text = README.read_text()
    assert len(text.encode()) <= 10 * 1024
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert [command for command in commands if command] == ["make run", "make test"]
    assert "\n## Trust boundary\n" in text


def test_the_readme_links_every_page_of_the_docs() -> None:
    assert sorted(path.name for path in DOCS.glob("*.md")) == sorted(PAGES)
    links = set(_LINK.findall(_prose(README)))
    assert {f"docs/{page}" for page in PAGES} <= links


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(document: str) -> None:
    source = ROOT / document
    broken = []
    for target in _LINK.findall(_prose(source)):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        if not linked.exists() or (anchor and (linked.suffix != ".md" or anchor not in _anchors(linked))):
            broken.append(target)
    assert broken == []


def test_every_environment_variable_is_in_the_configuration_table() -> None:
    rows = [line for line in (DOCS / "configuration.md").read_text().splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    read = {field.upper() for field in Settings.model_fields} | {EXTENSION_PORT_ENV, EXTENSION_TTL_ENV}
    assert sorted(read - documented) == []
