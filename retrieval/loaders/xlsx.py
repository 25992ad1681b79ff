"""XLSX (openpyxl, read-only, cached values): one sheet is one page, each non-empty row one row line.

Values are what Excel last computed (`data_only`): a formula cell reads as its result, or empty if the
file was written by a tool that stores no results. Empty sheets stay as empty pages so that page numbers
are sheet numbers.
"""
from __future__ import annotations

import datetime as _dt
import io

from retrieval.loaders.common import PageBuilder
from retrieval.types import Page
from service.errors import InputError


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # 15 significant digits is what Excel shows; repr would print binary noise (0.30000000000000004)
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def load_xlsx(data: bytes, *, subject: str | None = None) -> list[Page]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"the XLSX is damaged or not an Excel workbook ({type(exc).__name__})",
                         subject=subject, code="corrupt_xlsx") from exc
    pages: list[Page] = []
    try:
        for number, sheet in enumerate(workbook.worksheets, start=1):
            builder = PageBuilder(number)
            first = True
            for row in sheet.iter_rows(values_only=True):
                before = len(builder.page.lines)
                builder.add_row([cell_text(v) for v in row], new_table=first)
                first = first and len(builder.page.lines) == before
            pages.append(builder.page)
    except Exception as exc:
        raise InputError(f"the XLSX is damaged and cannot be read ({type(exc).__name__})",
                         subject=subject, code="corrupt_xlsx") from exc
    finally:
        workbook.close()
    return pages
