"""Report units of the five seed reports, found from content; the renderings cut the same way."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from retrieval.loaders import load_bytes, load_path
from retrieval.segment import segment, unit_lines

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "seeds"
RENDERED = ROOT / "corpus" / "rendered"
STEMS = sorted(p.stem for p in SEEDS.glob("*.txt"))


def seed(stem: str):
    return load_path(SEEDS / f"{stem}.txt", max_bytes=10**8)


@pytest.fixture(scope="module")
def units():
    return {stem: segment(seed(stem)) for stem in STEMS}


def _kinds(us) -> list[str]:
    return [u.kind for u in us]


def test_unit_ids_and_order(units):
    for stem, us in units.items():
        doc = seed(stem)
        assert [u.unit_id for u in us] == [f"{doc.doc_id[:12]}-u{k:03d}" for k in range(1, len(us) + 1)]
        keys = [((u.page_start, u.line_start), (u.page_end, u.line_end)) for u in us]
        assert all(a[0] <= a[1] for a in keys)
        assert all(prev[1] < cur[0] for prev, cur in zip(keys, keys[1:])), "units overlap or run backwards"


def test_units_cover_every_line(units):
    for stem, us in units.items():
        doc = seed(stem)
        covered = sum(len(unit_lines(doc, u)) for u in us)
        assert covered == doc.line_count, stem


def test_henan_narrative_and_table_are_one_project():
    for stem, name in (("000_shangjie_retiree_medical", "集体破产(困难)企业退休人员医疗费"),
                       ("001_shangjie_pension_subsidy", "城乡居民基本养老保险费财政补助资金")):
        us = segment(seed(stem))
        assert [(u.kind, u.project) for u in us] == [("project", name)]
        assert (us[0].page_start, us[0].line_start) == (1, 1)


def test_narrative_report_and_framework():
    us = segment(seed("002_soe_reform_medical"))
    assert [(u.kind, u.project) for u in us] == [("project", "国有企业改制职工医疗保险"), ("framework", None)]
    assert us[1].title.endswith("绩效评价指标体系框架")


def test_hebei_tables_sections_and_project_prose(units):
    us = units["003_gaoxin_hrss_selfeval"]
    tables = [u for u in us if u.kind == "project" and u.line_end - u.line_start >= 15]
    assert len(tables) == 22
    assert len({u.project for u in tables}) == 22
    # an office section followed by one table joins it; the report's opening stays apart
    assert us[0].kind == "other" and us[0].title.startswith("人社局")
    labour = next(u for u in us if u.project == "劳动监察专项资金")
    assert labour.line_start == 8 and labour.line_end == 57
    # sub-headings that name a project start that project's prose, spellings linked by name
    prose = {u.project: u for u in us if u.kind == "project" and u.line_end - u.line_start < 15}
    assert prose["劳务派遣人员专项资金"].line_start == 189  # `2.劳务派遣人员专项资金资金`
    assert prose["组织人事及重点工作大督查"].line_start == 314  # `(二)…大督查工作经费`
    assert prose["基层党建工作经费(专项)"].line_start == 334  # `(四)基层党建工作经费`
    # the table's title lines belong to the table, not to the prose above it
    party = next(u for u in tables if u.project == "建国前老党员生活补贴(专项资金)")
    assert party.line_start == 349


def test_zhongyuan_units(units):
    us = units["004_zhongyuan_medsec_accounts"]
    kinds = _kinds(us)
    assert kinds[0] == "accounts" and kinds[-1] == "accounts"
    assert kinds.count("project") == 16 and kinds.count("summary") == 1 and kinds.count("department") == 1
    names = [u.project for u in us if u.kind == "project"]
    # two different projects that differ only by 的
    assert "提前下达2022年省级财政医疗救助补助的资金" in names and "提前下达2022年省级财政医疗救助补助资金" in names
    summary = next(u for u in us if u.kind == "summary")
    assert (summary.page_start, summary.line_start) == (35, 28)  # the issuer line above the title
    dept = next(u for u in us if u.kind == "department")
    assert (dept.page_start, dept.line_start, dept.page_end) == (35, 105, 35)


def test_a_unit_never_straddles_two_projects(units):
    for stem, us in units.items():
        doc = seed(stem)
        for u in us:
            if u.kind != "project":
                continue  # a summary table lists many projects by design
            text = "\n".join(l.text for l in unit_lines(doc, u))
            assert len(re.findall(r"项目名称", text)) <= 1, (stem, u.unit_id)


def test_layout_from_content_not_file_name():
    data = (SEEDS / "003_gaoxin_hrss_selfeval.txt").read_bytes()
    doc = load_bytes(data, "000_shangjie_retiree_medical.txt", max_bytes=10**8)
    us = segment(doc)
    assert sum(1 for u in us if u.kind == "project") == len([u for u in segment(seed("003_gaoxin_hrss_selfeval"))
                                                              if u.kind == "project"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["txt", "pdf", "docx"])
def test_renderings_cut_like_each_other(kind):
    def shape(doc):
        return [(u.kind, u.title, u.project, u.page_start, u.line_start, u.page_end, u.line_end) for u in segment(doc)]

    for stem in STEMS:
        base = shape(load_path(RENDERED / "txt" / f"{stem}.txt", max_bytes=10**8))
        assert shape(load_path(RENDERED / kind / f"{stem}.{kind}", max_bytes=10**8)) == base, stem
