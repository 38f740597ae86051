"""Supply chain: every pin of the locks carries its files' hashes, and every install checks them."""

from __future__ import annotations

import re

import pytest

from deploy import package
from tests.conftest import ROOT

# requirements-sdk.txt is written by hand with its hash (a download, never installed: see its header).
LOCKS = ["requirements.txt", "requirements-dev.txt", "requirements-scan.txt"]


def entries(lock: str) -> dict[str, list[str]]:
    """Each requirement of a lock (`name==version`) with its hashes."""
    text = (ROOT / lock).read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            found[words[0]] = [w.removeprefix("--hash=") for w in words[1:] if w.startswith("--hash=")]
    return found


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_carries_hashes(lock: str) -> None:
    pins = entries(lock)
    assert pins
    for requirement, hashes in pins.items():
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[^=\s]+", requirement), requirement
        assert hashes, f"{lock}: {requirement} has no --hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), requirement


def test_what_both_locks_of_the_dev_venv_pin_they_pin_alike() -> None:
    # Installed together (`make setup`): a package in both must have one version and the same files.
    runtime, dev = entries("requirements.txt"), entries("requirements-dev.txt")
    names = {r.split("==")[0]: r for r in dev}
    shared = [r for r in runtime if r.split("==")[0] in names]
    assert shared
    for requirement in shared:
        assert names[requirement.split("==")[0]] == requirement
        assert runtime[requirement]
        assert set(dev[requirement]) == set(runtime[requirement]), requirement


def test_every_install_checks_the_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if re.search(r"pip (install|download)", line)]
    assert len(installs) == 3  # the dev venv, the scan venv, the SDK wheel
    assert all("--require-hashes" in line for line in installs), installs
    assert "--generate-hashes" in makefile  # `make lock` keeps them
    # the artifact: requirements.txt's pins with their hashes, installed with --require-hashes
    assert all(" --hash=sha256:" in pin for pin in package.requirements())
    assert '"--require-hashes", "-r"' in (ROOT / "deploy" / "package.py").read_text()
