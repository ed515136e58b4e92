"""The baseline: a bare python-socketio server speaking the same wire shape as Reflex's
`/_event` endpoint (path and namespace `/_event`, websocket only) that answers every `event`
with one `event` carrying the payload back. Served by granian, as the app's prod backend is.

    granian --interface asgi bench.echo_server:app
"""

from __future__ import annotations

import socketio

NAMESPACE = "/_event"

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", transports=["websocket"])


@sio.on("connect", namespace=NAMESPACE)
async def connect(sid, environ, auth=None):
    return True


@sio.on("event", namespace=NAMESPACE)
async def event(sid, data):
    await sio.emit("event", {"delta": {"echo": data}, "events": [], "final": True}, to=sid,
                   namespace=NAMESPACE)


async def _ping(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]
            await send({"type": f"{kind}.complete"})
            if kind == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"pong"})


app = socketio.ASGIApp(sio, other_asgi_app=_ping, socketio_path="_event")
