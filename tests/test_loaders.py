"""Loaders on the real reports: the three renderings of each seed read alike, nothing of the seed is lost,
and every bad input is refused with its code."""
from __future__ import annotations

import hashlib
import io
import re
import shutil
from pathlib import Path

import pytest

from retrieval.loaders import SUPPORTED, load_bytes, load_path
from retrieval.normalize import join_broken, normalize_cell, normalize_text
from service.errors import InputError

try:
    from tests import badfiles
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    import badfiles

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "seeds"
RENDERED = ROOT / "corpus" / "rendered"
STEMS = sorted(p.stem for p in SEEDS.glob("*.txt"))
KINDS = ("txt", "pdf", "docx")
MB = 1024 * 1024
LIMIT = 100 * MB


def lines_of(doc):
    return [(ln.page, ln.line_no, ln.kind, ln.text) for ln in doc.iter_lines()]


@pytest.fixture(scope="module")
def rendered():
    """Every rendering of every report, loaded once (the PDFs are most of this module's time)."""
    return {stem: {kind: load_path(RENDERED / kind / f"{stem}.{kind}", max_bytes=LIMIT) for kind in KINDS}
            for stem in STEMS}


def test_five_reports():
    assert len(STEMS) == 5


@pytest.mark.parametrize("stem", STEMS)
def test_renderings_load_to_the_same_lines(rendered, stem):
    docs = rendered[stem]
    reference = lines_of(docs["txt"])
    assert len(reference) > 100
    for kind in ("pdf", "docx"):
        got = lines_of(docs[kind])
        first_diff = next((a, b) for a, b in zip(reference + [None], got + [None]) if a != b) if got != reference else None
        assert got == reference, f"{kind} differs from txt first at {first_diff}"
        assert len(docs[kind].pages) == len(docs["txt"].pages)
    assert len(docs["txt"].pages) > 1
    assert {d.title for d in docs.values()} == {docs["txt"].title}


@pytest.mark.parametrize("stem", STEMS)
def test_renderings_have_the_same_tables(rendered, stem):
    def shape(doc):
        return [[(t.first_line, t.texts()) for t in p.tables] for p in doc.pages]

    docs = rendered[stem]
    assert shape(docs["pdf"]) == shape(docs["txt"]) == shape(docs["docx"])


def _chars(texts) -> str:
    return re.sub(r"\s+", "", "".join(texts))


_MD_RULE_ROW = re.compile(r"^[-:\s]+$")


@pytest.mark.parametrize("stem", STEMS)
def test_no_text_lost_against_the_seed(rendered, stem):
    """The seed as the text loader reads it, markdown table rules aside (converter debris the generator
    drops), has exactly the characters of every rendering, in order."""
    seed = load_path(SEEDS / f"{stem}.txt", max_bytes=LIMIT)
    expected = _chars(ln.text for ln in seed.iter_lines() if not (ln.kind == "row" and _MD_RULE_ROW.match(ln.text)))
    assert len(expected) > 2000
    for kind in KINDS:
        got = _chars(ln.text for ln in rendered[stem][kind].iter_lines())
        if got != expected:
            at = next(i for i, (a, b) in enumerate(zip(expected + "\0", got + "\0")) if a != b)
            pytest.fail(f"{kind}: seed and rendering part at char {at}: {expected[at - 20:at + 20]!r} vs "
                        f"{got[at - 20:at + 20]!r}")


@pytest.mark.parametrize("stem", ["000_shangjie_retiree_medical", "002_soe_reform_medical",
                                  "004_zhongyuan_medsec_accounts"])
def test_seed_page_gaps_start_pages(rendered, stem):
    """Pages of the source survive: 3+ blank lines (000–002) or a `---` line (004) start a new page."""
    raw = (SEEDS / f"{stem}.txt").read_text(encoding="utf-8")
    gap = re.compile(r"^\s*-{3,}\s*$", re.M) if "\t" in raw else re.compile(r"\n(?:[ \t]*\n){3,}")
    chunks = [c for c in gap.split(raw) if c.strip()]
    assert len(chunks) > 2
    starts = [_chars([p.lines[0].text]) for p in rendered[stem]["pdf"].pages]
    for chunk in chunks[1:]:
        first = _chars([normalize_cell(next(x for x in chunk.splitlines()
                                            if normalize_text(x) and not _MD_RULE_ROW.match(x)))])
        assert any(s.startswith(first[:10]) for s in starts), f"no page starts with {first[:20]!r}"
    assert len(starts) >= len(chunks)


@pytest.mark.parametrize("stem", ["003_gaoxin_hrss_selfeval", "004_zhongyuan_medsec_accounts"])
def test_pdf_cells_carry_bboxes_that_hold_their_text(rendered, stem):
    import pdfplumber

    doc = rendered[stem]["pdf"]
    tables = [t for p in doc.pages for t in p.tables]
    assert len(tables) > 20
    for t in tables:
        x0, top, x1, bottom = t.bbox
        for row in t.rows:
            for cell in row:
                assert cell.bbox is not None
                cx0, ctop, cx1, cbottom = cell.bbox
                assert x0 - 0.5 <= cx0 < cx1 <= x1 + 0.5 and top - 0.5 <= ctop < cbottom <= bottom + 0.5
            assert [c.bbox[0] for c in row] == sorted(c.bbox[0] for c in row)
    # the text under a sample of bboxes, read independently, is the cell's text
    sample = [(p.number, c) for p in doc.pages[::7] for t in p.tables for r in t.rows[::5] for c in r if c.text]
    assert len(sample) > 20
    with pdfplumber.open(RENDERED / "pdf" / f"{stem}.pdf") as pdf:
        for number, cell in sample:
            text = pdf.pages[number - 1].crop(cell.bbox).extract_text()
            assert normalize_cell(join_broken(text.split("\n"))) == cell.text


def test_table_rows_are_row_lines(rendered):
    doc = rendered["004_zhongyuan_medsec_accounts"]["pdf"]
    row = next(ln for ln in doc.iter_lines() if ln.kind == "row" and ln.cells and ln.cells[0] == "2101501")
    assert row.cells == ["2101501", "行政运行", "497.17", "497.17", "0", "0", "0", "0", "0"]
    assert row.text == "\t".join(row.cells)
    table = doc.pages[row.page - 1].tables[row.table_index]
    assert table.texts()[row.row_index] == row.cells
    # split digits in the seed (`2 .84`, `1 0`) come out joined in every rendering
    for kind in KINDS:
        cells = [c for ln in rendered["004_zhongyuan_medsec_accounts"][kind].iter_lines() if ln.cells for c in ln.cells]
        assert "2.84" in cells and "≤10822251元" in cells and "2 .84" not in cells


@pytest.mark.parametrize("stem, pages, title", [
    ("000_shangjie_retiree_medical", 1, "上街区人社局财政预算项目绩效评价报告"),
    ("003_gaoxin_hrss_selfeval", 1, "人社局2020年度财政专项资金"),
    ("004_zhongyuan_medsec_accounts", 35, "2022年度"),
])
def test_raw_seeds_load(stem, pages, title):
    doc = load_path(SEEDS / f"{stem}.txt", max_bytes=LIMIT)
    assert doc.kind == "txt" and len(doc.pages) == pages and doc.title == title
    assert doc.doc_id == hashlib.sha256((SEEDS / f"{stem}.txt").read_bytes()).hexdigest()


def test_every_raw_seed_loads():
    for stem in STEMS:
        doc = load_path(SEEDS / f"{stem}.txt", max_bytes=LIMIT)
        assert doc.line_count > 100


def test_seed_003_one_cell_per_line_tables_become_rows():
    doc = load_path(SEEDS / "003_gaoxin_hrss_selfeval.txt", max_bytes=LIMIT)
    rows = [ln.cells for ln in doc.iter_lines() if ln.kind == "row"]
    assert ["", "预算数:", "5", "到位数:", "5", "执行数:", "4.9745", "99%"] in rows


def test_markdown_loads_like_text(tmp_path):
    src = SEEDS / "004_zhongyuan_medsec_accounts.txt"
    md = tmp_path / "report.md"
    shutil.copyfile(src, md)
    as_md, as_txt = load_path(md, max_bytes=LIMIT), load_path(src, max_bytes=LIMIT)
    assert as_md.kind == "md" and lines_of(as_md) == lines_of(as_txt)


def test_load_bytes_matches_load_path():
    path = RENDERED / "docx" / "000_shangjie_retiree_medical.docx"
    data = path.read_bytes()
    a, b = load_bytes(data, "000.docx", max_bytes=LIMIT), load_path(path, max_bytes=LIMIT)
    assert lines_of(a) == lines_of(b)
    assert a.doc_id == b.doc_id == hashlib.sha256(data).hexdigest() and a.size_bytes == len(data)
    assert a.kind == "docx" and a.filename == "000.docx"


def test_settings_give_the_limit():
    from service.settings import Settings

    path = RENDERED / "txt" / "000_shangjie_retiree_medical.txt"
    tiny = Settings(max_upload_mb=0.001)
    with pytest.raises(InputError) as err:
        load_path(path, tiny)
    assert err.value.code == "too_large" and "the 0.001 MB limit" in str(err.value)
    assert load_path(path, Settings(max_upload_mb=1)).line_count > 100


# ------------------------------------------------------------------------------------------ xlsx

def test_xlsx_sheets_are_pages_rows_are_lines(tmp_path):
    import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "公开01表"
    ws.append(["收入", None, None, "支出", None, None])
    ws.append(["项目", "行次", "决算数", "项目", "行次", "决算数"])
    ws.append(["一、一般公共预算财政拨款收入", 1, 732.48, "一、一般公共服务支出", 32, 0])
    ws.append([None, 9, None, "九、卫生健康支出", 40, 630.56])
    ws.append([None, None, None])
    ws.append(["执行数", 4.9745, 0.1 + 0.2, True, datetime.date(2023, 11, 30)])
    ws.merge_cells("A1:C1")
    wb.create_sheet("空表")
    wb.create_sheet("说明").append(["注：本表金额转换为万元时，因四舍五入可能存在尾差。"])
    path = tmp_path / "accounts.xlsx"
    wb.save(path)

    doc = load_path(path, max_bytes=LIMIT)
    assert doc.kind == "xlsx" and len(doc.pages) == 3
    first, empty, notes = doc.pages
    # a merged range is one cell as wide as the range (as in DOCX and PDF); its width is in the grid
    assert first.lines[0].grid == [(0, 3), (3, 1)]
    assert first.lines[1].grid == [(k, 1) for k in range(6)]
    assert [ln.cells for ln in first.lines] == [
        ["收入", "支出"],
        ["项目", "行次", "决算数", "项目", "行次", "决算数"],
        ["一、一般公共预算财政拨款收入", "1", "732.48", "一、一般公共服务支出", "32", "0"],
        ["", "9", "", "九、卫生健康支出", "40", "630.56"],
        ["执行数", "4.9745", "0.3", "TRUE", "2023-11-30"],
    ]
    assert [ln.line_no for ln in first.lines] == [1, 2, 3, 4, 5]
    assert len(first.tables) == 1 and first.tables[0].texts()[2][2] == "732.48"
    assert empty.lines == []
    assert notes.lines[0].text == "注:本表金额转换为万元时,因四舍五入可能存在尾差。"
    assert doc.title is None  # a workbook has rows, no prose


# ------------------------------------------------------------------------------------------ docx

def test_docx_merged_cells_and_page_breaks(tmp_path):
    from docx import Document
    from docx.enum.text import WD_BREAK

    d = Document()
    d.add_paragraph("项目绩效自评")
    t = d.add_table(rows=3, cols=4)
    for r, values in enumerate([["一级指标", "二级指标", "三级指标", "分值"],
                                ["产出指标", "数量指标", "享受补助人数", "10.00"],
                                ["", "质量指标", "资金发放政策合规率", "15.00"]]):
        for c, v in enumerate(values):
            t.cell(r, c).text = v
    t.cell(1, 0).merge(t.cell(2, 0))  # vertical: 产出指标 spans two rows
    t.cell(0, 1).merge(t.cell(0, 2))  # horizontal: one header over two columns
    p = d.add_paragraph("第一页末行")
    p.add_run().add_break(WD_BREAK.PAGE)
    p.add_run("第二页首行")
    d.add_paragraph("有 分 页 符 之 前").paragraph_format.page_break_before = True
    path = tmp_path / "merged.docx"
    d.save(path)

    doc = load_path(path, max_bytes=LIMIT)
    assert [[(ln.line_no, ln.kind, ln.text) for ln in pg.lines] for pg in doc.pages] == [
        [(1, "text", "项目绩效自评"),
         (2, "row", "一级指标\t二级指标三级指标\t分值"),
         (3, "row", "产出指标\t数量指标\t享受补助人数\t10.00"),
         (4, "row", "\t质量指标\t资金发放政策合规率\t15.00"),
         (5, "text", "第一页末行")],
        [(1, "text", "第二页首行")],
        [(1, "text", "有分页符之前")],
    ]


def test_docx_page_break_before_on_a_fresh_page_adds_no_blank_page(tmp_path):
    from docx import Document
    from docx.enum.text import WD_BREAK

    d = Document()
    d.add_paragraph("一、概述")
    d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    d.add_paragraph("二、评价工作简述").paragraph_format.page_break_before = True
    path = tmp_path / "breaks.docx"
    d.save(path)
    assert [[ln.text for ln in p.lines] for p in load_path(path, max_bytes=LIMIT).pages] == [["一、概述"], ["二、评价工作简述"]]


# ------------------------------------------------------------------------------------------- pdf

def test_pdf_spans_horizontal_dropped_vertical_kept_as_empty(tmp_path):
    """A horizontal span's covered slots are the spanning cell (dropped, as normalize_row says); a vertical
    span's lower slots keep their column as an empty cell, like the TAB rows of the seeds."""
    from reportlab.lib import colors
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Table, TableStyle

    font = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    if not font.exists():
        pytest.fail("fonts-wqy-microhei not installed: run `make sysdeps` (or `make test`, which installs it)")
    pdfmetrics.registerFont(TTFont("WQYTest", str(font), subfontIndex=0))
    data = [["一级指标", "二级指标", "三级指标", "分值"],
            ["产出指标", "数量指标", "享受补助人数", "10.00"],
            ["", "质量指标", "资金发放政策合规率", "15.00"],
            ["总分值", "", "", "100.00"]]
    table = Table(data, colWidths=[80, 80, 140, 60])
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), "WQYTest"), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("SPAN", (0, 1), (0, 2)), ("SPAN", (0, 3), (2, 3))]))
    path = tmp_path / "spans.pdf"
    c = Canvas(str(path), invariant=1)
    c.setFont("WQYTest", 12)
    c.drawString(72, 760, "绩效目标自评")
    table.wrapOn(c, 400, 400)
    table.drawOn(c, 72, 600)
    c.drawString(72, 560, "说明")
    c.save()

    doc = load_path(path, max_bytes=LIMIT)
    assert [(ln.kind, ln.cells or ln.text) for ln in doc.iter_lines()] == [
        ("text", "绩效目标自评"),
        ("row", ["一级指标", "二级指标", "三级指标", "分值"]),
        ("row", ["产出指标", "数量指标", "享受补助人数", "10.00"]),
        ("row", ["", "质量指标", "资金发放政策合规率", "15.00"]),
        ("row", ["总分值", "100.00"]),
        ("text", "说明"),
    ]
    row4 = doc.pages[0].tables[0].rows[3]
    assert row4[0].bbox[2] - row4[0].bbox[0] == pytest.approx(300, abs=1)  # the span is one cell


def test_pdf_page_frame_is_not_a_table(tmp_path):
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "framed.pdf"
    c = Canvas(str(path), invariant=1)
    c.rect(36, 36, 523, 770)  # a border around the page with a rule under the running header
    c.line(36, 740, 559, 740)
    c.setFont("Helvetica", 12)
    c.drawString(72, 760, "Zhongyuan District 2022")
    c.drawString(72, 700, "Performance self-evaluation")
    c.drawString(72, 680, "Budget execution rate 96.21%")
    c.save()
    doc = load_path(path, max_bytes=LIMIT)
    assert [(ln.kind, ln.text) for ln in doc.iter_lines()] == [
        ("text", "Zhongyuan District 2022"), ("text", "Performance self-evaluation"),
        ("text", "Budget execution rate 96.21%")]


# ------------------------------------------------------------------------------------------ bad inputs

BAD = [
    pytest.param(lambda d: badfiles.make_not_a_pdf(d), "not_a_pdf", "no %PDF header", id="not-a-pdf"),
    pytest.param(lambda d: badfiles.make_corrupt_pdf(d), "corrupt_pdf", "damaged", id="truncated-pdf"),
    pytest.param(lambda d: badfiles.make_encrypted_pdf(d), "encrypted_pdf", "password", id="encrypted-pdf"),
    pytest.param(lambda d: badfiles.make_scanned_pdf(d), "no_text_layer",
                 "no text layer — scanned PDFs are not supported yet", id="scanned-pdf"),
    pytest.param(lambda d: badfiles.make_cid_pdf(d), "cid_garbage", "no Unicode map", id="cid-pdf"),
    pytest.param(lambda d: badfiles.make_empty(d, ".pdf"), "empty_file", "empty", id="empty-pdf"),
    pytest.param(lambda d: badfiles.make_empty(d, ".xlsx"), "empty_file", "empty", id="empty-xlsx"),
    pytest.param(lambda d: badfiles.make_unsupported(d), "unsupported_type",
                 ".pdf, .docx, .xlsx, .txt, .md", id="legacy-doc"),
    pytest.param(lambda d: badfiles.make_oversized(d / "huge.pdf", 3 * 1024 * MB), "too_large", "100 MB limit",
                 id="oversized-sparse"),
    pytest.param(lambda d: badfiles.make_corrupt_docx(d), "corrupt_docx", "DOCX", id="corrupt-docx"),
    pytest.param(lambda d: badfiles.make_corrupt_xlsx(d), "corrupt_xlsx", "XLSX", id="corrupt-xlsx"),
    pytest.param(lambda d: d / "no-such-report.pdf", "missing_path", "no such file", id="missing"),
    pytest.param(lambda d: d, "missing_path", "not a regular file", id="directory"),
]


@pytest.mark.parametrize("make, code, words", BAD)
def test_bad_input_refused(tmp_path, make, code, words):
    path = make(tmp_path)
    with pytest.raises(InputError) as err:
        load_path(path, max_bytes=LIMIT)
    assert err.value.code == code
    message = str(err.value)
    assert words in message and "\n" not in message and path.name in message


@pytest.mark.parametrize("make, code, words", [p for p in BAD if p.id not in ("missing", "directory", "oversized-sparse")])
def test_bad_bytes_refused(tmp_path, make, code, words):
    path = make(tmp_path)
    with pytest.raises(InputError) as err:
        load_bytes(path.read_bytes(), path.name, max_bytes=LIMIT)
    assert err.value.code == code


@pytest.mark.parametrize("ext, data, code", [
    pytest.param(".txt", "\n \n\u3000\n\f\n".encode(), "no_text", id="blank-txt"),
    pytest.param(".md", b"---\n\n---\n", "no_text", id="only-page-breaks-md"),
])
def test_documents_without_lines(ext, data, code):
    with pytest.raises(InputError) as err:
        load_bytes(data, "x" + ext, max_bytes=LIMIT)
    assert err.value.code == code


def test_docx_and_xlsx_without_text(tmp_path):
    from docx import Document
    from openpyxl import Workbook

    d = Document()
    d.add_paragraph("   ")
    d.add_table(rows=2, cols=2)
    d.save(tmp_path / "blank.docx")
    Workbook().save(tmp_path / "blank.xlsx")
    for name in ("blank.docx", "blank.xlsx"):
        with pytest.raises(InputError) as err:
            load_path(tmp_path / name, max_bytes=LIMIT)
        assert err.value.code == "no_text"


@pytest.mark.parametrize("name, data, limit, code", [
    pytest.param("report.doc", b"", LIMIT, "unsupported_type", id="type-before-empty"),
    pytest.param("report.pdf", b"<html>" * 100, 100, "too_large", id="size-before-content"),
    pytest.param("REPORT.PDF", b"%PDF-1.4 garbage", LIMIT, "corrupt_pdf", id="extension-case-insensitive"),
    pytest.param("report", b"hello", LIMIT, "unsupported_type", id="no-extension"),
])
def test_validation_order(name, data, limit, code):
    with pytest.raises(InputError) as err:
        load_bytes(data, name, max_bytes=limit)
    assert err.value.code == code


def test_missing_path_checked_before_type(tmp_path):
    with pytest.raises(InputError) as err:
        load_path(tmp_path / "gone.doc", max_bytes=LIMIT)
    assert err.value.code == "missing_path"


def test_supported_extensions():
    assert SUPPORTED == (".pdf", ".docx", ".xlsx", ".txt", ".md")


# --- the grid: where each cell sits and how wide it is --------------------------------------------------------

def test_docx_rows_carry_grid_columns_and_spans():
    import docx

    d = docx.Document()
    t = d.add_table(rows=4, cols=8)
    t.cell(0, 1).merge(t.cell(0, 7))
    t.cell(0, 0).text, t.cell(0, 1).text = "项目名称", "城乡医疗救助"
    t.cell(1, 0).merge(t.cell(1, 1))
    for j, h in enumerate(["项目资金", "", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"]):
        if j != 1:
            t.cell(1, j).text = h
    t.cell(2, 0).merge(t.cell(3, 0))
    t.cell(2, 0).text = "绩效指标"
    for j, h in enumerate(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"], 1):
        t.cell(2, j).text = h
    for j, h in enumerate(["产出指标", "数量指标", "救助人次", "≥300人次", "320人次", "20", "20"], 1):
        t.cell(3, j).text = h
    buf = io.BytesIO()
    d.save(buf)
    lines = list(load_bytes(buf.getvalue(), "t.docx", max_bytes=LIMIT).iter_lines())
    assert lines[0].cells == ["项目名称", "城乡医疗救助"] and lines[0].grid == [(0, 1), (1, 7)]
    assert lines[1].cells[:2] == ["项目资金", "年初预算数"] and lines[1].grid[:3] == [(0, 2), (2, 1), (3, 1)]
    # the lower part of the vertical merge is an empty cell in its column
    assert lines[3].cells[0] == "" and lines[3].grid[0] == (0, 1) and lines[3].grid[-1] == (7, 1)


def test_ruled_pdf_rows_carry_grid_columns_from_cell_edges():
    doc = load_path(ROOT / "corpus" / "rendered" / "pdf" / "003_gaoxin_hrss_selfeval.pdf", max_bytes=LIMIT)
    row = next(ln for ln in doc.iter_lines() if ln.kind == "row" and ln.cells and ln.cells[0] == "一、基本情况")
    assert row.grid is not None and len(row.grid) == len(row.cells)
    starts = [g[0] for g in row.grid]
    assert starts == sorted(starts) and row.grid[-1][1] > 1  # the unit's name spans the last columns
    widths = {sum(g[1] for g in ln.grid) + ln.grid[0][0] for ln in doc.iter_lines()
              if ln.kind == "row" and ln.grid and ln.page == row.page and ln.table_index == row.table_index}
    assert max(widths) == 8


def test_text_tables_flattened_with_pipes_or_runs_of_spaces_are_rows():
    text = ("项目支出绩效自评表\n| 项目名称 | 城乡医疗救助 |\n|---|---|\n| 主管部门 | 某局 | 实施单位 | 某中心 |\n\n"
            "一级指标    二级指标    三级指标   年度指标值\n产出指标    数量指标    救助人次   ≥300人次\n"
            "总分  95\n合计  100\n这是一句正文，句中  偶有两个空格。\n")
    lines = list(load_bytes(text.encode(), "t.txt", max_bytes=LIMIT).iter_lines())
    kinds = [(ln.kind, ln.cells or ln.text) for ln in lines]
    assert kinds[1] == ("row", ["项目名称", "城乡医疗救助"])
    assert kinds[2] == ("row", ["主管部门", "某局", "实施单位", "某中心"])
    assert kinds[3][1] == ["一级指标", "二级指标", "三级指标", "年度指标值"]
    assert kinds[5] == ("row", ["总分", "95"]) and kinds[6] == ("row", ["合计", "100"])
    assert kinds[7][0] == "text"  # a lone double space in prose does not make a table
    assert all(ln.grid is None for ln in lines)  # flattened text knows the cell order, not the grid
