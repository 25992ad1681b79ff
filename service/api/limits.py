"""Request-body limit for every route but the upload (which enforces the upload limit itself, streaming).

JSON bodies here are small (a question and its filters); anything over MAX_JSON_BODY is refused with 413
`too_large` — from Content-Length before reading, or as soon as a chunked body grows past it.
"""
from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_BODY = 1024 * 1024
_EXEMPT = {("POST", "/documents")}


async def _refuse(send: Send) -> None:
    body = json.dumps({"error": {"code": "too_large", "message": f"request body over {MAX_JSON_BODY} bytes"}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_JSON_BODY):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"].rstrip("/") or "/") in _EXEMPT:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await _refuse(send)
                    return
        seen = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal seen, started, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Answer now and let the app see a disconnect: FastAPI would turn an exception raised
                    # while it reads the body into a generic 400.
                    refused = True
                    if not started:
                        started = True
                        await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we have answered already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
