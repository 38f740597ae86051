"""openapi.json is a contract a client generator accepts: openapi-python-client generates a client from it
(refusing any warning), and that client starts a session and reads it, over HTTP on 127.0.0.1.

The function runs behind the WSGI front the fuzz tests use (an API Gateway HTTP API event per request,
through handler.handler), served by wsgiref; FaceID is the emulator, COS a moto server, AWS moto.
The generated code lives in a temporary directory only.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from local.sample_photo import png
from tests.aws import COS_BUCKET, cos_put, md5
from tests.conftest import ROOT, Emulator
from tests.fuzz import wsgi
from tests.integration.test_results import finish

pytestmark = pytest.mark.usefixtures("aws")

PACKAGE = "faceid_fn_client"
PHOTO_KEY = "reference/alice.png"
# The generator is installed beside the interpreter that runs the tests (requirements-dev.txt).
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client package, generated once per module into a temporary directory."""
    assert GENERATOR.exists(), f"{GENERATOR} is missing: install requirements-dev.txt (`make setup`)"
    out = tmp_path_factory.mktemp("generated")
    config = out / "config.yml"
    config.write_text("post_hooks: []\n")  # no formatter run over the generated code: it is only imported
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            *("--path", str(ROOT / "openapi.json")),
            *("--output-path", str(out / PACKAGE)),
            *("--meta", "none"),
            *("--config", str(config)),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"openapi-python-client refused openapi.json:\n{run.stdout}\n{run.stderr}"
    return out


@pytest.fixture
def client_module(generated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], ModuleType]]:
    """Imports from the generated package; forgotten afterwards so nothing else can import it."""
    monkeypatch.syspath_prepend(str(generated))
    yield lambda name: importlib.import_module(f"{PACKAGE}.{name}" if name else PACKAGE)
    for loaded in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[loaded]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the signature is http.server's
        pass


@pytest.fixture
def function_url(configure: Callable[..., None], cos_server: str, emulator: Emulator) -> Iterator[str]:
    """The function over HTTP on 127.0.0.1 (default flow: the photo is read from the COS stand-in)."""
    configure(COS_ENDPOINT=cos_server)
    cos_put(cos_server, PHOTO_KEY, png())
    server: WSGIServer = make_server("127.0.0.1", 0, wsgi.app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="function-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_generated_client_starts_a_session_and_reads_it(
    client_module: Callable[[str], ModuleType], function_url: str, emulator: Emulator
) -> None:
    # GIVEN a client generated from openapi.json, pointed at the function
    client = client_module("").Client(base_url=function_url, raise_on_unexpected_status=True)
    models = client_module("models")
    start = client_module("api.default.post_verification_verifications_post")
    read = client_module("api.default.get_verification_verifications_biz_token_get")
    photo_url = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{PHOTO_KEY}"
    with client:
        # WHEN it starts a session
        started = start.sync_detailed(
            client=client,
            body=models.StartVerification(compare_image_url=photo_url, compare_image_md_5=md5(png())),
            idempotency_key="client-test-0001",
        )
        # THEN the answer parses into the generated Session model
        assert started.status_code == 201, started.content
        session = started.parsed
        assert isinstance(session, models.Session)
        assert session.verification_url == f"{emulator.url}/verify/{session.biz_token}"
        assert session.expires_at.tzinfo is not None  # a date-time, parsed
        # AND reading it before the person finished says pending
        pending = read.sync_detailed(session.biz_token, client=client)
        assert pending.status_code == 200, pending.content
        assert isinstance(pending.parsed, models.VerificationResult)
        assert pending.parsed.status == models.VerificationResultStatus.PENDING
        # AND once the person passed, the result and its attempt details parse too
        finish({"VerificationUrl": session.verification_url, "BizToken": session.biz_token}, "pass")
        passed = read.sync_detailed(session.biz_token, client=client)
        assert passed.status_code == 200, passed.content
        assert passed.parsed.status == models.VerificationResultStatus.PASSED
        assert passed.parsed.error_code == 0
        [detail] = passed.parsed.verification_detail_list
        assert isinstance(detail, models.VerificationDetail)
        assert detail.similarity == pytest.approx(92.5)
        # AND an error answer parses into the one documented envelope
        unknown = read.sync_detailed("UNKNOWN-TOKEN-0000", client=client)
        assert unknown.status_code == 404, unknown.content
        assert isinstance(unknown.parsed, models.ErrorBody)
        assert unknown.parsed.error.code == "InvalidParameterValue.BizTokenIllegal"
        assert unknown.parsed.error.message


def test_generated_client_lists_cancels_and_redacts_a_callers_sessions(
    client_module: Callable[[str], ModuleType],
    function_url: str,
    configure: Callable[..., None],
    cos_server: str,
) -> None:
    # GIVEN the function with the ledger and auth on (the WSGI front plays the JWT authorizer: the bearer
    # token is the caller), and a client generated from openapi.json for each of two callers
    from tests.aws import EVENT_BUS, SESSIONS_TABLE, create_ledger_and_bus

    create_ledger_and_bus()
    configure(COS_ENDPOINT=cos_server, AUTH_REQUIRED="true", SESSIONS_TABLE=SESSIONS_TABLE, EVENT_BUS_NAME=EVENT_BUS)
    own_key = "reference/alice/alice.png"
    cos_put(cos_server, own_key, png())
    package, models = client_module(""), client_module("models")
    start = client_module("api.default.post_verification_verifications_post")
    listing = client_module("api.default.list_verifications_verifications_get")
    cancel = client_module("api.default.cancel_verification_verifications_biz_token_cancel_post")
    redact = client_module("api.default.redact_verification_verifications_biz_token_redact_post")
    photo = models.StartVerification(
        compare_image_url=f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{own_key}",
        compare_image_md_5=md5(png()),
    )
    alice = package.AuthenticatedClient(base_url=function_url, token="alice")
    bob = package.AuthenticatedClient(base_url=function_url, token="bob")
    with alice, bob:
        tokens = [start.sync_detailed(client=alice, body=photo).parsed.biz_token for _ in range(2)]
        # WHEN alice lists hers, one a page: the pages parse into the generated SessionList
        first = listing.sync_detailed(client=alice, limit=1)
        assert first.status_code == 200, first.content
        assert isinstance(first.parsed, models.SessionList)
        [summary] = first.parsed.sessions
        assert isinstance(summary, models.SessionSummary)
        assert summary.status == models.SessionSummaryStatus.PENDING
        second = listing.sync_detailed(client=alice, limit=1, cursor=first.parsed.next_cursor)
        assert {summary.biz_token, second.parsed.sessions[0].biz_token} == set(tokens)
        # AND she cancels one, and redacts the other
        canceled = cancel.sync_detailed(tokens[0], client=alice)
        assert canceled.status_code == 200, canceled.content
        assert canceled.parsed.status == models.SessionSummaryStatus.CANCELED
        redacted = redact.sync_detailed(tokens[1], client=alice)
        assert redacted.status_code == 200, redacted.content
        assert isinstance(redacted.parsed, models.Redaction)
        assert redacted.parsed.redacted_at
        assert redacted.parsed.retained[0].where.startswith("Tencent FaceID")
        # AND the errors parse into the one envelope: a final session's cancel, a stranger's redact
        final = cancel.sync_detailed(tokens[1], client=alice)
        assert final.status_code == 410, final.content
        assert final.parsed.error.code == "SessionRedacted"
        stranger = redact.sync_detailed(tokens[0], client=bob)
        assert stranger.status_code == 404
        assert isinstance(stranger.parsed, models.ErrorBody)
        assert listing.sync_detailed(client=bob).parsed.sessions == []
