"""Whole-suite log scan: no test run may write a secret or personal data to its output (docs/operations.md,
Observability).

Collects what every test printed or logged (pytest's captured stdout, stderr and log records) and,
at the end of the run, fails the session if any of it holds the test SecretKey, the value of a
pre-signed URL parameter, or the personal data of the emulator's answers (OCR names and numbers, face
and card images). `find_secrets` is also used directly by tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

from local.emulator import LOCAL_SECRET_KEY, PERSONAL_DATA

WORKER_KEY = "faceid_secret_scan"

# The secret values the suite uses; any of them in output is a leak.
TEST_SECRETS = (
    LOCAL_SECRET_KEY,
    "WrongSecretKeyForTestsOnly0000000000",
    "SessionTokenForTestsOnly0000000000000",
    "RotatingSecretKeyA000000000000000000",
    "RotatingSecretKeyB000000000000000000",
    "0a1b2c3d4e5f60718293a4b5c6d7e8f9leaked",  # the q-signature value of tests' pre-signed URLs
    *PERSONAL_DATA,
    "VGVzdFdlYmhvb2tTZWNyZXRGb3JUZXN0c09ubHk=",  # the webhook signing secret of tests/integration/test_webhooks.py
    "TG9jYWxXZWJob29rU2VjcmV0Tm90Rm9yUHJvZHVjdGlvbg==",  # the local stack's webhook secret (local/env.sh)
    "ForwarderSecretKeyForTestsOnly0000000000",  # the COS forwarder's AWS secret key (tests/unit/test_cos_forwarder.py)
)

_SIGNED_PARAM = re.compile(
    r"(q-signature|q-ak|x-cos-security-token|x-amz-signature|x-amz-security-token)(=|%3D|%253D)([^&\s\"'<>\\]+)",
    re.IGNORECASE,
)


# A Standard Webhooks signing secret (`whsec_` + base64) in output is a leak, whoever's it is.
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{16,}=*")


def find_secrets(text: str, secrets: Iterable[str] = TEST_SECRETS) -> list[str]:
    """Secrets in `text`: the given values, any pre-signed URL parameter with a value, any webhook secret."""
    found = [s for s in secrets if s in text]
    found += [m.group(0) for m in _SIGNED_PARAM.finditer(text) if m.group(3) != "***"]
    found += [m.group(0) for m in _WEBHOOK_SECRET.finditer(text)]
    return found


class SecretScan:
    """Under pytest-xdist the controller scans every test's report (workers send it their captured output);
    what a worker's fixtures `scan()` directly is sent along with the worker's end (`workeroutput`)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.in_worker = hasattr(config, "workeroutput")
        self.leaks: list[tuple[str, str]] = []
        self.bytes_scanned = 0

    def scan(self, source: str, text: str) -> None:
        """Scan output that pytest does not capture (e.g. the local stack's function log)."""
        self.bytes_scanned += len(text)
        self._found(source, find_secrets(text))

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.in_worker:  # the controller gets this report and scans it
            return
        for _, text in report.sections:  # a phase's report repeats the sections of the phases before it
            self.bytes_scanned += len(text)
            self._found(report.nodeid, find_secrets(text))
        self._found(report.nodeid, find_secrets(report.longreprtext or ""))

    def _found(self, source: str, leaks: list[str]) -> None:
        self.leaks += [(source, leak[:60]) for leak in leaks if (source, leak[:60]) not in self.leaks]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        found = getattr(node, "workeroutput", {}).get(WORKER_KEY, {})
        for source, leak in found.get("leaks", []):
            self._found(source, [leak])
        self.bytes_scanned += found.get("bytes_scanned", 0)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.in_worker:
            self.config.workeroutput[WORKER_KEY] = {"leaks": self.leaks, "bytes_scanned": self.bytes_scanned}  # type: ignore[attr-defined]
        elif self.leaks:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.in_worker:
            return
        terminalreporter.write_sep("-", "secret scan")
        terminalreporter.write_line(
            f"scanned {self.bytes_scanned} bytes of captured test output and function logs; "
            f"secrets found: {len(self.leaks)}"
        )
        for nodeid, leak in self.leaks:
            terminalreporter.write_line(f"LEAK in {nodeid}: {leak}")
