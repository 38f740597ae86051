"""The hosted verification page at the VerificationUrl: it shows the steps of the session's CheckMode
(document capture and selfie for 1, selfie and comparison with the app's photo for 2, selfie only for 3,
document only for 4), the tester picks the outcome FaceID reports, then the page redirects to the
RedirectURL with ?token=<BizToken> ("leave unfinished" stays)."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from local.emulator.catalog import FACE_CHECK_MODES, OCR_CHECK_MODES, OUTCOMES, PHOTO_CHECK_MODES
from local.emulator.state import Answer, EmulatorState, WebSession

_PAGE_STYLE = """body{font-family:system-ui,sans-serif;background:#f4f6f9;color:#1b1f24;margin:0}
main{max-width:28rem;margin:2rem auto;background:#fff;border-radius:1rem;padding:1.5rem 1.5rem 1rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem;margin:.2rem 0 .6rem}.brand{color:#2d72f1;
font-weight:700;font-size:.85rem;letter-spacing:.05em;text-transform:uppercase}.lead{line-height:1.45}
.camera{position:relative;height:13rem;border-radius:.8rem;background:#1f2933;display:flex;
align-items:center;justify-content:center;margin:1rem 0;color:#9aa5b1}.camera span{position:absolute;
bottom:.6rem;font-size:.8rem}.oval{width:7.5rem;height:9.5rem;border:3px dashed #9aa5b1;border-radius:50%}
.choices{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}.choices button{padding:.7rem .5rem;
font:inherit;border-radius:.6rem;border:1px solid #cbd2d9;background:#fff;cursor:pointer;text-align:left}
.choices button small{display:block;color:#616e7c;font-size:.75rem}.choices .ok{background:#2d72f1;
color:#fff;border-color:#2d72f1;grid-column:1/-1}.choices .ok small{color:#dbe7fd}.choices .bad{
border-color:#e3a5a1}.meta{color:#616e7c;font-size:.8rem;margin-top:1rem;word-break:break-all}
.steps{padding-left:1.2rem;line-height:1.5}.card{width:10rem;height:6.3rem;border:3px dashed #9aa5b1;
border-radius:.5rem}.note{color:#616e7c;font-size:.85rem}"""


_VERDICTS = ("liveness", "compare", "faces", "document")


def _button_class(outcome: str) -> str:
    return "ok" if outcome == "pass" else ("bad" if outcome in _VERDICTS else "other")


def _page(status: int, title: str, body: str) -> Answer:
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · FaceID (local emulator)</title>
<style>{_PAGE_STYLE}</style></head><body><main><div class="brand">FaceID · local emulator</div>
<h1>{html.escape(title)}</h1>
{body}</main></body></html>"""
    return Answer(status, page.encode(), "text/html; charset=utf-8")


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"token": token})))


def _takes_selfie(session: WebSession) -> bool:
    return session.flow == "legacy" or session.check_mode in FACE_CHECK_MODES


def _compares_with(session: WebSession) -> str | None:
    """What the selfie is compared with: the document's photo (1), the app's photo (2, legacy), or None."""
    if session.flow == "legacy" or session.check_mode in PHOTO_CHECK_MODES:
        return "the reference photo the app sent"
    return "the photo on your document" if session.check_mode in OCR_CHECK_MODES and _takes_selfie(session) else None


def _steps(session: WebSession) -> str:
    """The session's steps as FaceID's page would play them, one list item each (ids for the tests)."""
    steps = []
    if session.reads_document:
        card = html.escape(session.id_card_type or "your identity document")
        steps.append(f'<li id="step-document">Document: hold {card} to the camera (read by OCR).</li>')
    if _takes_selfie(session):
        steps.append('<li id="step-selfie">Selfie: look at the camera and follow the prompts (liveness).</li>')
    compared = _compares_with(session)
    if compared:
        steps.append(f'<li id="step-compare">Comparison: your face is compared with {compared}.</li>')
    items = "\n".join(steps)
    unused = ""
    if session.flow == "intl" and session.photo_sent and session.check_mode not in PHOTO_CHECK_MODES:
        unused = f'<p class="note" id="photo-unused">CheckMode {session.check_mode} does not use the photo sent.</p>'
    return f'<ol class="steps" id="steps">\n{items}\n</ol>{unused}'


class Page(EmulatorState):
    """The page's side of a session: what it offers, and the choice made on it."""

    def outcomes_for(self, session: WebSession) -> list[str]:
        """The outcomes the page offers for this session (document checks only in the OCR modes)."""
        choices = ["pass"]
        if _takes_selfie(session):
            choices.append("liveness")
        if _compares_with(session):
            choices += ["compare", "faces"]
        if session.reads_document:
            choices.append("document")
        return [*choices, "left", "timeout", "unfinished"]

    def verification_page(self, token: str) -> Answer:
        session = self.sessions.get(token)
        if session is None or self.now() - session.created_at > session.ttl_s:
            return _page(404, "Link expired", "<p>This verification link is not valid or has expired.</p>")
        with self._lock:
            session.opened = True
        safe = html.escape(token)
        buttons = "\n".join(
            f'<button type="submit" name="outcome" value="{key}" id="{key}" class="{_button_class(key)}">'
            f"{html.escape(OUTCOMES[key]['label'])}<small>ErrorCode {OUTCOMES[key]['code']}</small></button>"
            for key in self.outcomes_for(session)
        )
        shape = "card" if session.reads_document and not _takes_selfie(session) else "oval"
        body = f"""<p class="lead">This is the local FaceID emulator: no camera is used. The steps FaceID would
take you through:</p>
{_steps(session)}
<div class="camera" aria-label="camera preview (placeholder)"><div class="{shape}"></div>
<span>Camera preview</span></div>
<p class="lead">Choose the outcome FaceID should report, and you are sent back to the app.</p>
<form method="post" action="/verify/{safe}" class="choices">
{buttons}
</form>
<p class="meta">Session <code id="biz-token">{safe}</code> · {html.escape(session.flow)} flow
{f"· CheckMode {session.check_mode}" if session.flow == "intl" else ""}
{f"· RuleId {html.escape(session.rule_id)}" if session.rule_id else ""}</p>"""
        return _page(200, "Verify your identity", body)

    def finish_verification(self, token: str, form: bytes) -> Answer:
        session = self.sessions.get(token)
        outcome = parse_qs(form.decode("utf-8", "replace")).get("outcome", [""])[0]
        if session is None or outcome not in OUTCOMES:
            return _page(400, "Unknown choice", "<p>Unknown session or outcome.</p>")
        if self.now() - session.created_at > session.ttl_s:
            return _page(404, "Link expired", "<p>This verification link is not valid or has expired.</p>")
        if outcome not in (*self.outcomes_for(session), "fail"):
            return _page(400, "Not offered", "<p>That outcome is not offered for this session.</p>")
        with self._lock:
            if session.outcome in (None, "unfinished"):  # the first final choice wins
                session.outcome = outcome
                session.finished_at = self.now()
        back = html.escape(_with_token(session.redirect_url, token))
        if OUTCOMES[outcome].get("stays"):
            # FaceID does not redirect a person who has not finished: the page stays, the result stays 17.
            return _page(
                200,
                "Verification not finished",
                f"""<p id="unfinished-note">You left the verification unfinished. FaceID reports ErrorCode 17
until the link expires (then 15). You can close this page, or come back to the link to finish.</p>
<p><a id="back" href="{back}">Go back to the app without finishing</a></p>""",
            )
        return Answer(302, b"", "text/plain", {"Location": _with_token(session.redirect_url, token)})
