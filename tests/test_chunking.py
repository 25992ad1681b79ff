"""Structure-aware chunking on the rendered corpus: units, sections, whole rows, exact text."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from retrieval.chunking import (
    Chunk,
    _fallback_units,
    chunk_document,
    find_issuers,
    find_year,
    heading_level,
    is_form_row_line,
    issuer_aliases,
    join_with_offsets,
    split_prose,
)
from retrieval.loaders import load_path
from retrieval.normalize import join_broken
from retrieval.types import Line

ROOT = Path(__file__).resolve().parent.parent
TXT = ROOT / "corpus" / "rendered" / "txt"
STEMS = sorted(p.stem for p in TXT.glob("*.txt"))
MAX = 400


@lru_cache(maxsize=None)
def loaded(stem: str):
    doc = load_path(TXT / f"{stem}.txt", max_bytes=50 * 1024 * 1024)
    try:
        from retrieval.segment import segment
    except ImportError:  # segmentation not there yet: the chunker's own fallback
        units = _fallback_units(doc)
    else:
        units = segment(doc)
    return doc, units, chunk_document(doc, units, max_chars=MAX)


def lines_of(doc, c: Chunk) -> list[Line]:
    return [ln for ln in doc.iter_lines() if (c.page, c.line_start) <= ln.key <= (c.page_end, c.line_end)]


def test_corpus_is_there():
    assert len(STEMS) == 5, "run scripts/make_corpus.py"


@pytest.mark.parametrize("stem", STEMS)
def test_chunks_never_straddle_units(stem):
    doc, units, chunks = loaded(stem)
    for c in chunks:
        inside = [u for u in units if (u.page_start, u.line_start) <= (c.page, c.line_start)
                  and (c.page_end, c.line_end) <= (u.page_end, u.line_end)]
        if c.unit_id is None:
            assert not any((u.page_start, u.line_start) <= (c.page, c.line_start) <= (u.page_end, u.line_end)
                           for u in units)
        else:
            assert [u.unit_id for u in inside] == [c.unit_id], (c.chunk_id, c.text[:40])
            unit = inside[0]
            assert c.unit_kind == unit.kind and c.project == unit.project


@pytest.mark.parametrize("stem", STEMS)
def test_table_rows_are_whole_chunks(stem):
    doc, _, chunks = loaded(stem)
    rows = {c.line_start: c for c in chunks if c.kind == "row"}
    by_key = {(c.page, c.line_start): c for c in chunks if c.kind == "row"}
    n_rows = 0
    for line in doc.iter_lines():
        if line.kind != "row":
            continue
        n_rows += 1
        c = by_key[line.key]
        assert c.text == line.text and (c.page_end, c.line_end) == line.key
    assert len(by_key) == n_rows
    assert rows or n_rows == 0


@pytest.mark.parametrize("stem", STEMS)
def test_prose_text_is_exact_and_bounded(stem):
    doc, _, chunks = loaded(stem)
    for c in chunks:
        assert c.embed_text.endswith(c.text)
        if c.kind == "row":
            continue  # a row's text is its line's TAB-joined text (test_table_rows_are_whole_chunks)
        joined = join_broken([ln.text for ln in lines_of(doc, c)])
        assert c.text in joined, c.chunk_id
        assert len(c.text) <= MAX


@pytest.mark.parametrize("stem", STEMS)
def test_every_line_is_in_a_chunk_or_a_heading(stem):
    doc, _, chunks = loaded(stem)
    covered = set()
    for c in chunks:
        covered.update(ln.key for ln in lines_of(doc, c))
    sections = " ".join(c.section for c in chunks)
    for line in doc.iter_lines():
        assert line.key in covered or line.text.strip() in sections, (line.key, line.text)


def test_indicator_rows_carry_header_and_levels():
    doc, _, chunks = loaded("003_gaoxin_hrss_selfeval")
    row = next(c for c in chunks if c.kind == "row" and "日常检查企业数(家)" in c.text
               and c.project == "劳动监察专项资金")
    assert row.text.startswith("\t\t\t")  # merged level-1/level-2 cells arrive empty …
    assert "产出指标(50) > 数量指标" in row.context  # … and are carried down from the row above
    assert "表头:" in row.context and "三级指标" in row.context
    assert row.year == 2020


def test_sections_follow_headings_and_units_name_projects():
    doc, _, chunks = loaded("004_zhongyuan_medsec_accounts")
    c = next(c for c in chunks if c.text.startswith("一是预算执行率较低;二是绩效目标设置过底"))
    assert "存在的问题" in c.section and c.project == "城乡医疗救助" and c.label == "城乡医疗救助"
    assert c.unit_kind == "project" and c.year == 2022
    # the flattened-table seeds: each form row is a chunk of its own
    doc0, _, chunks0 = loaded("001_shangjie_pension_subsidy")
    rows = [c for c in chunks0 if "970.00 970.00 909.50 93.76%" in c.text]
    assert len(rows) == 1 and rows[0].text.endswith("年度资金总额: 970.00 970.00 909.50 93.76% 10.00 9.38")
    assert any(c.text == "其中:本年财政拨款970.00 970.00 909.50" for c in chunks0)


def test_chunk_ids_are_stable_and_unique():
    _, units, chunks = loaded("002_soe_reform_medical")
    doc = loaded("002_soe_reform_medical")[0]
    again = chunk_document(doc, units, max_chars=MAX)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert all(Chunk.from_metadata(c.chunk_id, c.text, c.metadata()) == c for c in chunks)


@pytest.mark.parametrize(("text", "level"), [
    pytest.param("一、概述", 1, id="h1"),
    pytest.param("第三部分2022年度部门决算情况说明", 0, id="part"),
    pytest.param("(一)项目决策情况", 2, id="h2"),
    pytest.param("(二)项目绩效目标。", 2, id="h2-full-stop"),
    pytest.param("1.单位基本情况", 3, id="h3-dot"),
    pytest.param("3、绩效自评工作开展情况", 3, id="h3-dun"),
    pytest.param("1.细化预算编制工作,认真做好预算的编制。进一步加强", None, id="numbered-paragraph"),
    pytest.param("(3)评价方法:采取材料核实、选点抽查、访谈座谈、调阅", None, id="inline-heading"),
    pytest.param("2020年度,集体破产企业退休人员医疗费项目未发现违法违纪等问题", None, id="prose"),
    pytest.param("1.5万元", None, id="number"),
])
def test_heading_levels(text, level):
    assert heading_level(text) == level


def test_full_width_line_is_not_a_heading():
    # 29 characters is short for 003's 40-character lines but a full line in 002 (wrapped at ~29)
    assert heading_level("(2)评价主要指标体系设置一级指标体系三个二级指标体系七个", width=29) is None
    assert heading_level("(1)评价原则", width=29) == 3


def test_split_prose_packs_sentences():
    text = "甲" * 150 + "。" + "乙" * 150 + "。" + "丙" * 150 + "。"
    cuts = [151, 302, 453]
    pieces = split_prose(text, cuts, {453}, 400)
    assert [text[s:e] for s, e in pieces] == [text[:302], text[302:]]
    long = "字," * 300
    assert all(e - s <= 100 for s, e in split_prose(long, [len(long)], {len(long)}, 100))


def test_join_with_offsets_matches_join_broken():
    lines = [Line(1, i + 1, t) for i, t in enumerate(["预计支付9700000元,实际支付", "973万元。", "abc", "def"])]
    text, spans = join_with_offsets(lines)
    assert text == join_broken([ln.text for ln in lines])
    assert [text[s:e] for s, e in spans] == [ln.text for ln in lines]


def test_find_year_prefers_niandu():
    assert find_year(["2023年11月", "对2022年度项目资金进行科学论证"]) == 2022
    assert find_year(["2023年11月"]) == 2023
    assert find_year(["无"]) is None


def test_fallback_units_cover_projects():
    doc = loaded("004_zhongyuan_medsec_accounts")[0]
    units = _fallback_units(doc)
    assert any(u.project == "城乡医疗救助" for u in units)
    chunks = chunk_document(doc, units)
    assert all(c.unit_id for c in chunks)


def test_issuers_are_the_departments_that_issued_the_report():
    doc4 = loaded("004_zhongyuan_medsec_accounts")[0]
    assert find_issuers(list(doc4.iter_lines()))[0] == "郑州市中原区医疗保障局"
    doc0 = loaded("000_shangjie_retiree_medical")[0]
    assert {"上街区人社局", "郑州市上街区人力资源和社会保障局"} <= set(find_issuers(list(doc0.iter_lines())))
    assert find_issuers(list(loaded("002_soe_reform_medical")[0].iter_lines())) == []  # names none
    assert issuer_aliases("郑州市中原区医疗保障局") == ["郑州市中原区医疗保障局", "中原区医疗保障局", "医疗保障局"]
    chunks = loaded("004_zhongyuan_medsec_accounts")[2]
    assert all(c.issuer.split("|")[0] == "郑州市中原区医疗保障局" for c in chunks)


def test_prose_wrapped_after_a_number_is_not_a_form_row():
    assert is_form_row_line("预算编制合理性合理合理1.00 1.00")
    assert is_form_row_line("年度资金总额: 970.00 970.00 909.50 93.76% 10.00 9.38")
    assert not is_form_row_line("2022年度支出合计736.87万元,其中:基本支出617.86万元,占83.85%;项目支出119.02")
    chunks = loaded("004_zhongyuan_medsec_accounts")[2]
    assert any("基本支出617.86万元,占83.85%;项目支出119.02万元,占16.15%" in c.text for c in chunks)


def test_rows_that_only_label_columns_are_marked():
    chunks = loaded("003_gaoxin_hrss_selfeval")[2]
    funds = next(c for c in chunks if c.kind == "row" and c.text.startswith("\t预算数:\t5\t"))
    assert "预算执行进度" in funds.context and funds.role == ""  # the caption row above is its header
    caption = next(c for c in chunks if c.kind == "row" and c.text.startswith("二、预算执行情况"))
    assert caption.role == "header"
    chunks4 = loaded("004_zhongyuan_medsec_accounts")[2]
    assert next(c for c in chunks4 if c.text.startswith("项目\t行次\t决算数")).role == "header"
    assert next(c for c in chunks4 if c.text == "\t栏次\t1\t2\t3\t4\t5\t6").role == "header"
    # an indicator table's rows of names are rows, not headers
    row = next(c for c in chunks4 if c.text == "\t预算和财务管理\t预算编制完整性\t完整")
    assert row.role == "" and "表头:" in row.context and "年度指标值" in row.context
