"""Load a file into pages of numbered lines (retrieval.types.LoadedDocument).

    load_path(path, settings=None, *, max_bytes=None)
    load_bytes(data, filename, settings=None, *, max_bytes=None)

The size limit is `max_bytes` when given, else `settings.max_upload_bytes` (get_settings() as a last
resort). Checks run in a fixed order so that the cheapest, most useful message wins: missing_path,
unsupported_type, empty_file, too_large, then the format's own (not_a_pdf, corrupt_pdf, encrypted_pdf,
no_text_layer, cid_garbage, corrupt_docx, corrupt_xlsx, no_text). A path's size is checked before the
file is read.
"""
from __future__ import annotations

from pathlib import Path

from retrieval.loaders.common import sha256_bytes
from retrieval.types import LoadedDocument, Page
from service.errors import InputError

SUPPORTED = (".pdf", ".docx", ".xlsx", ".txt", ".md")
_MB = 1024 * 1024

__all__ = ["SUPPORTED", "load_bytes", "load_path"]


def _limit(settings, max_bytes: int | None) -> int:
    if max_bytes is not None:
        return max_bytes
    if settings is None:
        from service.settings import get_settings

        settings = get_settings()
    return settings.max_upload_bytes


def _mb(n: float) -> str:
    mb = n / _MB
    text = f"{mb:.2f}" if mb >= 0.01 else f"{mb:.2g}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check_type(name: str) -> str:
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED:
        shown = ext or "(no extension)"
        raise InputError(f"unsupported file type {shown}; supported: {', '.join(SUPPORTED)}",
                         subject=name, code="unsupported_type")
    return ext


def _check_size(name: str, size: int, limit: int) -> None:
    if size == 0:
        raise InputError("the file is empty", subject=name, code="empty_file")
    if size > limit:
        raise InputError(f"the file is {_mb(size)} MB, over the {_mb(limit)} MB limit",
                         subject=name, code="too_large")


def _pages(data: bytes, ext: str, name: str) -> list[Page]:
    if ext == ".pdf":
        from retrieval.loaders.pdf import load_pdf

        return load_pdf(data, subject=name)  # raises no_text_layer itself
    if ext == ".docx":
        from retrieval.loaders.docx import load_docx

        pages = load_docx(data, subject=name)
    elif ext == ".xlsx":
        from retrieval.loaders.xlsx import load_xlsx

        pages = load_xlsx(data, subject=name)
    else:
        from retrieval.loaders.text import load_text, sniff_text

        sniff_text(data, subject=name)
        pages = load_text(data)
    if not any(p.lines for p in pages):
        raise InputError("the file contains no text", subject=name, code="no_text")
    return pages


def load_bytes(data: bytes, filename: str, settings=None, *, max_bytes: int | None = None) -> LoadedDocument:
    from retrieval.loaders.limits import Limits, applied

    name = Path(filename).name or filename
    ext = _check_type(name)
    _check_size(name, len(data), _limit(settings, max_bytes))
    if settings is None and max_bytes is None:
        from service.settings import get_settings

        settings = get_settings()
    with applied(Limits.from_settings(settings)):
        pages = _pages(data, ext, name)
    title = next((ln.text for p in pages for ln in p.lines if ln.kind == "text"), None)
    return LoadedDocument(filename=name, kind=ext[1:], sha256=sha256_bytes(data), size_bytes=len(data),
                          pages=pages, title=title)


def load_path(path, settings=None, *, max_bytes: int | None = None) -> LoadedDocument:
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", subject=str(p), code="missing_path")
    if not p.is_file():
        raise InputError("not a regular file", subject=str(p), code="missing_path")
    _check_type(p.name)
    _check_size(p.name, p.stat().st_size, _limit(settings, max_bytes))
    return load_bytes(p.read_bytes(), p.name, settings, max_bytes=max_bytes)
