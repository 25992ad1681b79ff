"""The web page: GET / serves service/api/static/index.html (its CSS and JS are under /static). The page
holds no data; it calls the API with the key the user types in, when the server needs one."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

PUBLIC = True
router = APIRouter(tags=["web"], include_in_schema=False)

INDEX = Path(__file__).resolve().parent.parent / "static" / "index.html"


@router.get("/")
def index() -> FileResponse:
    return FileResponse(INDEX, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
