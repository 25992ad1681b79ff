"""Host and Origin checks for the keyless mode.

Without API keys the server trusts whoever can reach it, which `jixiao serve` limits to this machine by
binding to loopback. Loopback is not enough by itself: a page on another local origin (http://localhost:3000)
could POST an upload, and a DNS-rebinding page (evil.example resolving to 127.0.0.1) could reach every route.
So in keyless mode a request must name a loopback host (or the configured bind address) in its Host header,
and a state-changing request that carries an Origin must come from the same origin as the page it targets.

A browser's state-changing request must also carry a CSRF token (double-submit): the page (GET /) sets the
cookie `jixiao_csrf` to a random value, the page's script copies it into the `X-Jixiao-CSRF` header, and a
write whose header does not equal the cookie is refused. Origin alone is not enough: older browsers send no
Origin on a form POST, and a page on another localhost port shares our cookies (cookies ignore ports) but can
neither read them nor send a custom header cross-origin without a CORS preflight, which this server never
grants. A request is treated as a browser's when it carries any header a browser adds by itself (Origin,
Referer, Sec-Fetch-*, Cookie); curl and the CLI send none of them and need no token.
With API keys configured these checks are off: the key is the authentication and deployments sit behind
their own host names.
"""
from __future__ import annotations

import hmac
import json
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_COOKIE = "jixiao_csrf"
CSRF_HEADER = "x-jixiao-csrf"
_BROWSER_HEADERS = ("origin", "referer", "sec-fetch-site", "sec-fetch-mode", "cookie")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_cookie(headers: dict[str, str]) -> str | None:
    """The request's jixiao_csrf cookie value, None when absent or unparseable."""
    raw = headers.get("cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    m = jar.get(CSRF_COOKIE)
    return m.value if m and m.value else None


def csrf_ok(headers: dict[str, str]) -> bool:
    """A non-browser client passes; a browser's write needs header == cookie (both present)."""
    if not any(h in headers for h in _BROWSER_HEADERS):
        return True
    cookie, sent = csrf_cookie(headers), headers.get(CSRF_HEADER, "")
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie.encode(), sent.encode())


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
        if scope["method"] in UNSAFE and not csrf_ok(headers):
            await _refuse(send, 403, "csrf", "missing or wrong CSRF token: reload this server's page and try again "
                                             "(a browser's upload or change must come from the page, which sends "
                                             "the X-Jixiao-CSRF header)")
            return
        await self.app(scope, receive, send)


__all__ = ["CSRF_COOKIE", "CSRF_HEADER", "LocalOnly", "csrf_cookie", "csrf_ok", "new_csrf_token"]
