"""The web page: GET / serves service/api/static/index.html (its CSS and JS are under /static). The page
holds no data; it calls the API with the key the user types in, when the server needs one."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from service.api.origin import CSRF_COOKIE, csrf_cookie, new_csrf_token

PUBLIC = True
router = APIRouter(tags=["web"], include_in_schema=False)

INDEX = Path(__file__).resolve().parent.parent / "static" / "index.html"


@router.get("/")
def index(request: Request) -> FileResponse:
    res = FileResponse(INDEX, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
    # the CSRF token the page's script echoes in X-Jixiao-CSRF (service.api.origin); kept across reloads so
    # two open tabs do not invalidate each other. Readable by the page's script by design (double-submit).
    if not csrf_cookie({"cookie": request.headers.get("cookie", "")}):
        res.set_cookie(CSRF_COOKIE, new_csrf_token(), path="/", samesite="strict")
    return res
