"""Peak memory and time of loading hostile files, against loading a genuine report in the same run.

    python scripts/bench_hostile.py [--out DIR]

Builds the bombs of the hostile-input issue at a size this machine can write in seconds (a DOCX whose XML
declares 1 GiB, a DOCX with a 2 GiB zero media part, an XLSX shared string of 32 MiB, an XLSX whose rows
inflate ~1000×, a PDF renamed .txt, a 1 GB text of NULs is not built), loads each in a fresh process under
/usr/bin/time -v, and prints outcome, seconds and peak RSS. The genuine report is the bundled 003 DOCX."""
from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def docx_bytes() -> bytes:
    from docx import Document

    d = Document()
    d.add_paragraph("项目名称：测试项目")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["项目名称", "AB"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_member(data: bytes, name: str, size: int, body: bytes = b"\0", replace: bool = False,
                prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if replace and info.filename == name:
                continue
            dst.writestr(info.filename, src.read(info.filename))
        with dst.open(name, "w", force_zip64=True) as f:
            f.write(prefix)
            block = body * ((1 << 20) // len(body))
            for _ in range(size // len(block)):
                f.write(block)
            f.write(suffix)
    return out.getvalue()


def build(out: Path) -> list[tuple[str, Path]]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    doc = docx_bytes()
    xml = zipfile.ZipFile(io.BytesIO(doc)).read("word/document.xml")
    head, tail = xml.split(b"<w:body>")
    p = out / "xml_bomb_1GiB.docx"
    p.write_bytes(with_member(doc, "word/document.xml", 1 << 30, b"<w:p/>", replace=True,
                              prefix=head + b"<w:body>", suffix=b"</w:body></w:document>"))
    files.append(("DOCX, XML declaring 1 GiB", p))
    p = out / "media_2GiB.docx"
    p.write_bytes(with_member(doc, "word/media/image1.png", 2 << 30))
    files.append(("DOCX, 2 GiB zero media part", p))
    x = xlsx_bytes()
    sheet = zipfile.ZipFile(io.BytesIO(x)).read("xl/worksheets/sheet1.xml")
    p = out / "long_string.xlsx"
    src = zipfile.ZipFile(io.BytesIO(x))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<t>AB</t>", b"<t>" + b"X" * (32 << 20) + b"</t>")
            dst.writestr(info.filename, body)
    p.write_bytes(buf.getvalue())
    files.append(("XLSX, one 32 MiB cell", p))
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    pre, post = re.split(rb"<sheetData>.*</sheetData>", sheet, flags=re.S)[0], b"</sheetData></worksheet>"
    p = out / "row_bomb.xlsx"
    p.write_bytes(with_member(x, "xl/worksheets/sheet1.xml", 512 << 20, row, replace=True,
                              prefix=pre + b"<sheetData>", suffix=post))
    files.append(("XLSX, rows inflating to 512 MiB", p))
    p = out / "renamed_pdf.txt"
    p.write_bytes(next((ROOT / "corpus" / "rendered" / "pdf").glob("*.pdf")).read_bytes())
    files.append(("PDF renamed .txt", p))
    files.append(("genuine report (bundled 003 DOCX), baseline",
                  ROOT / "corpus" / "rendered" / "docx" / "003_gaoxin_hrss_selfeval.docx"))
    return files


PROBE = ("import sys,time; sys.path.insert(0, %r); from retrieval.loaders import load_path; t=time.time()\n"
         "try:\n    d=load_path(sys.argv[1], max_bytes=10**8); print('loaded', d.line_count, 'lines')\n"
         "except Exception as e:\n    print('refused', getattr(e, 'code', type(e).__name__))\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="jixiao-hostile-"))
    files = build(out)
    print(f"{'file':46} {'bytes':>10} {'outcome':28} {'seconds':>7} {'peak RSS MB':>11}")
    for label, path in files:
        r = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", PROBE % str(ROOT), str(path)],
                           capture_output=True, text=True, timeout=900)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", r.stderr)
        secs = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))) if wall else float("nan")
        print(f"{label:46} {path.stat().st_size:>10} {r.stdout.strip()[:28]:28} {secs:7.2f} "
              f"{int(rss.group(1)) / 1024 if rss else float('nan'):11.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
