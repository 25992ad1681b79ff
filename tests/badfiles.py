"""Factories for inputs the loaders must refuse, each written into a directory the caller owns.

Every factory returns the path it wrote. They build the bad file the way it happens in practice (a
download cut short, a scan, a PDF whose font lacks a Unicode map) rather than from random bytes, so a
loader that passes these has met the real failure.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path


def _small_pdf(text: str = "jixiao test page", pages: int = 2, **canvas_kw) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, invariant=1, **canvas_kw)
    for k in range(pages):
        c.setFont("Helvetica", 12)
        c.drawString(72, 720, f"{text} {k + 1}")
        c.drawString(72, 700, "Budget execution rate 99.49%")
        c.showPage()
    c.save()
    return buf.getvalue()


def make_not_a_pdf(tmp: Path, name: str = "report.pdf") -> Path:
    """A file named .pdf that is something else (here: an HTML error page saved by a browser)."""
    path = Path(tmp) / name
    path.write_text("<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>\n", encoding="utf-8")
    return path


def make_corrupt_pdf(tmp: Path, name: str = "truncated.pdf", keep: float = 0.6) -> Path:
    """A real PDF cut short, as an interrupted download leaves it: the header is there, the xref is not."""
    data = _small_pdf(pages=3)
    path = Path(tmp) / name
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_encrypted_pdf(tmp: Path, name: str = "encrypted.pdf", password: str = "secret") -> Path:
    """A PDF that needs a user password to open."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    path = Path(tmp) / name
    path.write_bytes(_small_pdf(encrypt=StandardEncryption(password, ownerPassword=password + "-owner")))
    return path


def make_scanned_pdf(tmp: Path, name: str = "scanned.pdf") -> Path:
    """A page image plus vector rules, no text objects: what a scanner produces without OCR."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    img = Image.new("L", (400, 300), 255)
    draw = ImageDraw.Draw(img)
    for y in range(20, 280, 24):  # dark bars where lines of text were
        draw.rectangle([20, y, 380 - (y % 60), y + 10], fill=30)
    buf = io.BytesIO()
    c = Canvas(buf, invariant=1)
    for _ in range(2):
        c.drawImage(ImageReader(img), 72, 400, width=400, height=300)
        c.rect(72, 100, 400, 200)
        c.line(72, 200, 472, 200)
        c.showPage()
    c.save()
    path = Path(tmp) / name
    path.write_bytes(buf.getvalue())
    return path


def _pdf_from_objects(objects: list[bytes]) -> bytes:
    """Assemble numbered objects (1-based, object 1 the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_cid_pdf(tmp: Path, name: str = "cid.pdf") -> Path:
    """A PDF whose text extracts as (cid:NNN): a Type0 font with Identity-H encoding, an Adobe-Identity
    CIDFont and no ToUnicode map — the glyph ids mean nothing without the font's own tables."""
    codes = "".join(f"{0x0300 + k:04X}" for k in range(24))
    content = (f"BT /F1 14 Tf 72 720 Td <{codes}> Tj 0 -20 Td <{codes[::-1]}> Tj ET").encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+SimSun /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+SimSun "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        b"/FontDescriptor 7 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /ABCDEF+SimSun /Flags 4 /FontBBox [0 -140 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -140 /CapHeight 700 /StemV 80 >>",
    ]
    path = Path(tmp) / name
    path.write_bytes(_pdf_from_objects(objects))
    return path


def make_empty(tmp: Path, ext: str) -> Path:
    path = Path(tmp) / f"empty{ext if ext.startswith('.') else '.' + ext}"
    path.write_bytes(b"")
    return path


def make_unsupported(tmp: Path, name: str = "report.doc") -> Path:
    """A legacy Word 97 file (OLE compound header): a type people really upload, which we do not read."""
    path = Path(tmp) / name
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    return path


def make_oversized(path: Path, size: int) -> Path:
    """A sparse file of `size` bytes: costs no disk, and a loader that reads it before checking the size
    would be slow enough to notice."""
    path = Path(path)
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def make_corrupt_docx(tmp: Path, name: str = "corrupt.docx") -> Path:
    """A zip that is not a Word package (no [Content_Types].xml, no word/document.xml)."""
    path = Path(tmp) / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not a document")
    return path


def make_corrupt_xlsx(tmp: Path, name: str = "corrupt.xlsx") -> Path:
    """An xlsx cut short: the zip's central directory is missing."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["项目名称", "预算数", "执行数"])
    wb.active.append(["劳动监察专项资金", 5, 4.9745])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    path = Path(tmp) / name
    path.write_bytes(data[: len(data) // 2])
    return path
