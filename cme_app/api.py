"""JSON routes under /api/v1 over the same services."""

from __future__ import annotations

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .db import get_engine


async def health(_request: Request) -> JSONResponse:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        db = "ok"
    except Exception:  # health must answer, not raise
        db = "unavailable"
    return JSONResponse(
        {"status": "ok" if db == "ok" else "degraded", "database": db},
        status_code=200 if db == "ok" else 503,
        headers={"Cache-Control": "no-store"},
    )


api = Starlette(routes=[Route("/api/v1/health", health, methods=["GET"])])
