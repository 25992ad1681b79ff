"""Every error leaves the API as {"error": {"code": …, "message": …}} with a stable code."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import ConfigError, ExtractionError, InputError, JixiaoError, LLMError, NotFoundError

log = logging.getLogger(__name__)

_STATUS_BY_CODE = {"too_large": 413, "unsupported_type": 415, "unauthorized": 401, "forbidden": 403,
                   "internal_error": 500, "writer_busy": 503}
_STATUS_BY_TYPE: tuple[tuple[type[JixiaoError], int], ...] = (
    (NotFoundError, 404), (InputError, 400), (ExtractionError, 422), (LLMError, 502), (ConfigError, 500),
)
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 415: "unsupported_type", 422: "invalid_request"}


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def status_for(exc: JixiaoError) -> int:
    if exc.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[exc.code]
    return next((status for cls, status in _STATUS_BY_TYPE if isinstance(exc, cls)), 500)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(JixiaoError)
    async def _jixiao(_: Request, exc: JixiaoError):
        status = status_for(exc)
        headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
        if status >= 500:
            log.error("%s: %s", exc.code, exc)
        return JSONResponse(error_body(exc.code, str(exc)), status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(error_body("invalid_request", f"{where}: {first.get('msg', 'invalid request')}"),
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):
        log.exception("unhandled error")
        return JSONResponse(error_body("internal_error", type(exc).__name__), status_code=500)
