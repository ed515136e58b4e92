"""JSON routes under /api/v1 over the same services.

The visit routes serve the phone, which must work with no signal (docs/visits-api.md). They
are thin: check the edges (origin, size, JSON, session), run one unit of work in a thread so
the event loop is never blocked, and turn service errors into status codes. No answer is ever
cached, and none ever carries a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .db import get_engine, session_scope
from .edge_limits import Allowances, address_key, forwarded_client_ip
from .errors import NotAllowed, NotFound, Refusal, ValidationFailed
from .models import utcnow
from .permissions import Actor
from .services.documents import documents
from .services.trust import auth
from .services.visits import lone_working, phone_list, phone_log
from .settings import get_settings
from .state.auth import SESSION_COOKIE

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}
SIGNED_OUT = "Your session has ended. Sign in again: visits waiting to be sent are kept."
NOT_ALLOWED = "You do not have permission to do that."
TOO_MANY = "Too many attempts to sign in from this address. Wait a minute, then try again."

__all__ = ["api", "client_ip", "forwarded_client_ip"]


def client_ip(request: Request) -> str | None:
    peer = request.client.host if request.client else None
    hops = get_settings().trusted_proxy_hops
    return forwarded_client_ip(peer, request.headers.get("x-forwarded-for"), hops)


_session_posts: Allowances | None = None


def session_post_allowances() -> Allowances:
    """POST /api/v1/session's allowances, per client address (this worker's)."""
    global _session_posts
    if _session_posts is None:
        s = get_settings()
        _session_posts = Allowances(rate=s.session_posts_per_second, burst=s.session_post_burst,
                                    hard_limit=float("inf"))
    return _session_posts


def reset_session_post_allowances() -> None:
    """Forget every address's allowance (tests; settings changed)."""
    global _session_posts
    _session_posts = None


def _answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


async def health(_request: Request) -> JSONResponse:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        db = "ok"
    except Exception:  # health must answer, not raise
        db = "unavailable"
    return _answer(
        {"status": "ok" if db == "ok" else "degraded", "database": db},
        status=200 if db == "ok" else 503,
    )


class _SignedOut(Exception):
    """No session, or it has expired or been revoked."""


class _BadBody(Exception):
    def __init__(self, status: int, error: str):
        self.status, self.error = status, error


async def _json_object(request: Request) -> dict[str, Any]:
    """The request body: a JSON object of at most MAX_BODY bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise _BadBody(413, "too_large")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise _BadBody(400, "bad_request")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise _BadBody(413, "too_large")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # also bytes that are not UTF-8, or 20,000 [s
        raise _BadBody(400, "bad_request") from None
    if not isinstance(body, dict):
        raise _BadBody(400, "bad_request")
    return body


Work = Callable[[Session, Actor, dict[str, Any]], dict[str, Any]]


def _unit_of_work(token: str, ip: str | None, touch: bool, work: Work, body: dict) -> dict:
    with session_scope() as session:
        actor = auth.actor_for_token(session, token, ip=ip, touch=touch)
        if actor is None:
            raise _SignedOut
        return work(session, actor, body)


async def _serve(request: Request, work: Work, *, touch: bool = True) -> JSONResponse:
    """The edges every visit route shares, then `work` in one unit of work. A refusal still
    commits (its audit event is kept); any other error rolls back."""
    try:
        origin = request.headers.get("origin")
        if origin is not None and origin not in get_settings().allowed_origins:
            return _answer({"error": "not_allowed", "message": NOT_ALLOWED}, 403)
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token:
            raise _SignedOut
        body = await _json_object(request) if request.method == "POST" else {}
        return _answer(
            await run_in_threadpool(_unit_of_work, token, client_ip(request), touch, work, body)
        )
    except _SignedOut:
        return _answer({"error": "signed_out", "message": SIGNED_OUT}, 401)
    except _BadBody as exc:
        return _answer({"error": exc.error}, exc.status)
    except NotFound as exc:
        return _answer({"error": "not_found", "message": str(exc)}, 404)
    except Refusal as exc:
        return _answer({"error": "not_allowed", "message": str(exc)}, 403)
    except ValidationFailed as exc:
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return _answer({"error": "invalid", "errors": errors}, 422)
    except Exception as exc:  # never a stack trace, and no personal data in the log
        logger.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
        return _answer({"error": "server_error"}, 500)


def _cookie_headers(response: JSONResponse, token: str | None) -> JSONResponse:
    """Set (or, with None, clear) the session cookie: HttpOnly so no script can read it,
    SameSite=Lax, Secure outside local runs."""
    production = get_settings().production
    if token is None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=production, httponly=True, samesite="lax"
        )
    else:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=get_settings().session_absolute_hours * 3600,
            path="/",
            secure=production,
            httponly=True,
            samesite="lax",
        )
    return response


def _foreign_origin(request: Request) -> bool:
    """Cookie-setting routes need a same-site Origin: a cross-site form cannot sign anyone in
    or out (login CSRF)."""
    return request.headers.get("origin") not in get_settings().allowed_origins


def _start_session(ticket: Any, ip: str | None) -> str | None:
    with session_scope() as session:
        return auth.activate_session(session, ticket=ticket, ip=ip)


async def start_session(request: Request) -> JSONResponse:
    """POST {ticket}: exchange the one-time sign-in ticket for the HttpOnly session cookie."""
    if _foreign_origin(request):
        return _answer({"error": "not_allowed", "message": NOT_ALLOWED}, 403)
    ip = client_ip(request)
    # Nobody is signed in yet: the allowance is the client address's (edge_limits.py).
    if not session_post_allowances().take(address_key(ip)):
        logger.warning("POST /api/v1/session refused: over the rate limit for its address")
        return JSONResponse({"error": "too_many", "message": TOO_MANY}, status_code=429,
                            headers={**NO_STORE, "Retry-After": "60"})
    try:
        body = await _json_object(request)
    except _BadBody as exc:
        return _answer({"error": exc.error}, exc.status)
    token = await run_in_threadpool(_start_session, body.get("ticket"), ip)
    if token is None:
        return _answer({"error": "signed_out", "message": SIGNED_OUT}, 401)
    return _cookie_headers(_answer({"status": "signed_in"}), token)


def _end_session(token: str, ip: str | None) -> None:
    with session_scope() as session:
        actor = auth.actor_for_token(session, token, ip=ip, touch=False)
        auth.sign_out(session, token=token, actor=actor)


async def end_session(request: Request) -> JSONResponse:
    """DELETE: end every session of the signed-in user and clear the cookie."""
    if _foreign_origin(request):
        return _answer({"error": "not_allowed", "message": NOT_ALLOWED}, 403)
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        ip = client_ip(request)
        await run_in_threadpool(_end_session, token, ip)
    return _cookie_headers(_answer({"status": "signed_out"}), None)


async def visits_mine(request: Request) -> JSONResponse:
    return await _serve(request, lambda s, actor, _: phone_list.phone_list(s, actor=actor))


def _alerts(session: Session, actor: Actor, _body: dict) -> dict:
    found = lone_working.open_alerts_for(session, actor=actor, now=utcnow())
    return {"alerts": [a.to_json() for a in found]}


async def visit_alerts(request: Request) -> JSONResponse:
    # Polled while the page is open: not the officer's activity, so it keeps no session alive.
    return await _serve(request, _alerts, touch=False)


async def sync_visit(request: Request) -> JSONResponse:
    return await _serve(
        request, lambda s, actor, body: phone_log.sync_visit(s, actor=actor, payload=body)
    )


async def resolve_alert(request: Request) -> JSONResponse:
    alert_id = request.path_params["alert_id"]

    def work(session: Session, actor: Actor, body: dict) -> dict:
        resolved = lone_working.resolve_alerts(
            session, actor=actor, alert_id=alert_id, note=body.get("note")
        )
        return {"resolved": resolved}

    return await _serve(request, work)


def _document(token: str, ip: str | None, public_id: str) -> documents.DocumentFile | None:
    with session_scope() as session:
        actor = auth.actor_for_token(session, token, ip=ip, touch=True)
        if actor is None:
            return None
        return documents.fetch(session, actor=actor, public_id=public_id)


async def download_document(request: Request) -> Response:
    """GET: a stored notice or letter as its PDF, for whoever may read it (documents.fetch):
    signed out 401, a role that reads no documents 403, anyone else's document 404. The
    refusal's audit event is kept (session_scope commits on a Refusal)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    public_id = request.path_params["public_id"]
    try:
        found = await run_in_threadpool(_document, token, client_ip(request), public_id)
    except NotFound as exc:
        return _answer({"error": "not_found", "message": str(exc)}, 404)
    except NotAllowed:
        return _answer({"error": "not_allowed", "message": NOT_ALLOWED}, 403)
    except Refusal as exc:
        return _answer({"error": "refused", "message": str(exc)}, 409)
    if found is None:
        return _answer({"error": "signed_out", "message": SIGNED_OUT}, 401)
    return Response(found.content, media_type="application/pdf", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="{found.filename}"',
        "X-Content-Type-Options": "nosniff",
    })


api = Starlette(
    routes=[
        Route("/api/v1/health", health, methods=["GET"]),
        Route("/api/v1/session", start_session, methods=["POST"]),
        Route("/api/v1/session", end_session, methods=["DELETE"]),
        Route("/api/v1/visits/mine", visits_mine, methods=["GET"]),
        Route("/api/v1/visits/alerts", visit_alerts, methods=["GET"]),
        Route("/api/v1/visits", sync_visit, methods=["POST"]),
        Route("/api/v1/visits/alerts/{alert_id:int}/resolve", resolve_alert, methods=["POST"]),
        Route("/api/v1/documents/{public_id:str}", download_document, methods=["GET"]),
    ]
)
