"""Host and Origin checks for the keyless mode.

Without API keys the server trusts whoever can reach it, which `jixiao serve` limits to this machine by
binding to loopback. Loopback is not enough by itself: a page on another local origin (http://localhost:3000)
could POST an upload, and a DNS-rebinding page (evil.example resolving to 127.0.0.1) could reach every route.
So in keyless mode a request must name a loopback host (or the configured bind address) in its Host header,
and a state-changing request that carries an Origin must come from the same origin as the page it targets.
With API keys configured these checks are off: the key is the authentication and deployments sit behind
their own host names.
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class LocalOnly:
    def __init__(self, app: ASGIApp, allowed_hosts: set[str]):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts} | LOOPBACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get("host", "")
        if _host_name(host) not in self.allowed:
            await _refuse(send, 403, "forbidden", "this server answers only requests addressed to it on this machine "
                                                  "(Host header); set JIXIAO_API_KEYS to serve other hosts")
            return
        origin = headers.get("origin")
        if scope["method"] in UNSAFE and origin is not None:
            o = urlsplit(origin)
            if origin == "null" or o.netloc.lower() != host.lower():
                await _refuse(send, 403, "forbidden", "cross-origin request refused: uploads and changes are "
                                                      "accepted only from this server's own page")
                return
        await self.app(scope, receive, send)


__all__ = ["LocalOnly"]
