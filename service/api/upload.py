"""Reading one uploaded file from a multipart/form-data body, with the size limit enforced while streaming.

Starlette's `request.form()` spools every file to disk before the handler sees it, whatever its size. Here
the body is fed chunk by chunk to python-multipart's parser: a Content-Length over the limit is refused
before a byte is read, and a body that grows past it (chunked, or lying about its length) is refused as soon
as it does. The client's file name is only ever a label: it is reduced to a safe base name and never used
as a path.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from service.errors import InputError

FIELD = "file"
MULTIPART_SLACK = 64 * 1024  # part headers, boundaries and small form fields around the file
MAX_NAME_CHARS = 200


def too_large(limit: int) -> InputError:
    mb = limit / (1024 * 1024)
    shown = f"{mb:.2f}".rstrip("0").rstrip(".") if mb >= 0.01 else f"{mb:.2g}"
    return InputError(f"the upload is over the {shown} MB limit", code="too_large")


def safe_filename(raw: str | None) -> str:
    """The base name of a client-supplied file name, without directories, control characters or leading
    dots: `../../etc/passwd` -> `passwd`, `C:\\x\\报告.pdf` -> `报告.pdf`. Only ever used as a label."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        keep = ext[:16] if dot else ""
        name = (stem if dot else name)[: MAX_NAME_CHARS - len(keep) - 1] + (f".{keep}" if keep else "")
    if not name:
        raise InputError("the uploaded file has no usable file name", code="invalid_input")
    return name


def _disposition(value: bytes) -> tuple[str | None, str | None]:
    """(field name, file name) of a part's Content-Disposition header. Browsers send the file name as raw
    UTF-8; RFC 7578 forbids the `filename*` form, and python-multipart ignores it."""
    _, params = parse_options_header(value)

    def text(b: bytes | None) -> str | None:
        return None if b is None else b.decode("utf-8", errors="replace")

    return text(params.get(b"name")), text(params.get(b"filename"))


@dataclass
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    keep: bool = False


@dataclass
class Upload:
    filename: str
    data: bytes


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The single file of the `file` field, at most max_bytes long."""
    ctype = request.headers.get("content-type", "")
    kind, params = parse_options_header(ctype)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InputError("send the report as multipart/form-data, in a field named 'file'", code="invalid_input")
    body_limit = max_bytes + MULTIPART_SLACK
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > body_limit:
                raise too_large(max_bytes)
        except ValueError:
            raise InputError("bad Content-Length header", code="invalid_input") from None

    parts: list[_Part] = []
    current: list[_Part] = []
    header_field = bytearray()
    header_value = bytearray()
    overflow: list[bool] = []

    def on_part_begin() -> None:
        current[:] = [_Part()]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        current[0].headers[header_field.decode("latin-1").lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        part = current[0]
        part.name, part.filename = _disposition(part.headers.get("content-disposition", b""))
        part.keep = part.name == FIELD
        if part.keep:
            parts.append(part)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = current[0]
        if not part.keep or overflow:
            return
        if len(part.data) + (end - start) > max_bytes:
            overflow.append(True)
            part.data.clear()  # free it now; the request is refused
            return
        part.data.extend(data[start:end])

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
    })
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise too_large(max_bytes)
            parser.write(chunk)
            if overflow:
                raise too_large(max_bytes)
        parser.finalize()
    except InputError:
        raise
    except Exception as exc:  # python-multipart's own errors: a malformed body
        raise InputError(f"malformed multipart body ({type(exc).__name__})", code="invalid_input") from None

    if not parts:
        raise InputError("no file in the request: send it in a multipart field named 'file'", code="invalid_input")
    if len(parts) > 1:
        raise InputError("one file per request, please", code="invalid_input")
    part = parts[0]
    if part.filename is None:
        raise InputError("the 'file' field is not a file upload (no file name)", code="invalid_input")
    return Upload(filename=safe_filename(part.filename), data=bytes(part.data))
