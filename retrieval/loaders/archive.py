"""Bounds on what a DOCX or XLSX (a zip of XML parts) may expand to, checked from the zip's central directory
before any part is inflated.

The upload limit counts compressed bytes, so by itself it bounds nothing: a 3.7 MB DOCX can inflate past
8 GB, a 69 KB XLSX holds a 32 MiB shared string. Python's zipfile never inflates a member past the size its
directory entry declares (ZipExtFile stops at file_size and checks the CRC), so checking the declared sizes
bounds the real ones: every part, the sum of all parts, and the inflation ratio of large parts (real Office
XML inflates 5–30×; bombs inflate hundreds or thousands of times). python-docx loads every part of the
package into memory, media included, so media parts count too.
"""
from __future__ import annotations

import io
import zipfile

from service.errors import InputError

MAX_MEMBERS = 5_000
MAX_PART_BYTES = 128 * 1024 * 1024  # media (a scanned page, a photo)
MAX_XML_BYTES = 48 * 1024 * 1024  # one XML part: lxml holds a parsed tree many times its size
MAX_TOTAL_BYTES = 384 * 1024 * 1024
MAX_RATIO = 200  # for parts above RATIO_FLOOR inflated bytes
RATIO_FLOOR = 8 * 1024 * 1024


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MiB"


def check_zip(data: bytes, *, subject: str | None, kind: str) -> None:
    """Raise InputError (code `archive_bomb`, or `corrupt_<kind>`) when the package would expand beyond the
    bounds; return None when it may be opened."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"the {kind.upper()} is damaged or not an Office file ({type(exc).__name__})",
                         subject=subject, code=f"corrupt_{kind}") from exc
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"the {kind.upper()} holds {len(infos)} parts, over the {MAX_MEMBERS} a document may have",
                         subject=subject, code="archive_bomb")
    total = 0
    for info in infos:
        size = info.file_size
        total += size
        xml = info.filename.lower().endswith((".xml", ".rels", ".vml"))
        if xml and size > MAX_XML_BYTES:
            raise InputError(f"part {info.filename!r} would expand to {_mib(size)} of XML, over the "
                             f"{_mib(MAX_XML_BYTES)} limit for one part: refused before opening",
                             subject=subject, code="archive_bomb")
        if size > MAX_PART_BYTES:
            raise InputError(f"part {info.filename!r} would expand to {_mib(size)}, over the {_mib(MAX_PART_BYTES)} "
                             f"limit for one part: refused before opening", subject=subject, code="archive_bomb")
        if size > RATIO_FLOOR and size > MAX_RATIO * max(1, info.compress_size):
            raise InputError(f"part {info.filename!r} would expand {size // max(1, info.compress_size)}× "
                             f"({_mib(size)}): a decompression bomb, refused before opening",
                             subject=subject, code="archive_bomb")
    from retrieval.loaders.limits import current

    limit = min(MAX_TOTAL_BYTES, current().expanded_bytes)
    if total > limit:
        raise InputError(f"the {kind.upper()} would expand to {_mib(total)}, over the {_mib(limit)} limit "
                         f"(JIXIAO_MAX_EXPANDED_MB): refused before opening", subject=subject, code="archive_bomb")


__all__ = ["check_zip", "MAX_PART_BYTES", "MAX_TOTAL_BYTES", "MAX_RATIO"]
