"""The deterministic extractor on the real reports: seed facts, provenance, renderings, the benchmark."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from eval.extraction import score_document, summarize, to_gold_shape
from retrieval.loaders import load_bytes, load_path
from service.extraction import extract_document
from service.errors import ConfigError
from service.extraction.names import link_names, loose_key, match_name
from service.extraction.spans import quote_is_valid
from service.models import Figure, Indicator, NarrativeClaim, SourceRef, StatedCount, SummaryRow, TextField
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "seeds"
RENDERED = ROOT / "corpus" / "rendered"
GOLD = ROOT / "eval" / "gold" / "extraction"
STEMS = sorted(p.stem for p in SEEDS.glob("*.txt"))
D = Decimal


@pytest.fixture(scope="module")
def seeds():
    out = {}
    for stem in STEMS:
        doc = load_path(SEEDS / f"{stem}.txt", max_bytes=10**8)
        out[stem] = (doc, extract_document(doc))
    return out


def project(seeds, stem: str, name: str):
    return next(p for p in seeds[stem][1].projects if p.project == name)


def indicator(p, level3: str) -> Indicator:
    return next(i for i in p.indicators if i.level3 == level3)


def v(fig: Figure | None) -> Decimal | None:
    return fig.value if fig is not None else None


# --- Henan 上街区 (000, 001) -----------------------------------------------------------------------------

def test_001_funds_total_and_claims(seeds):
    p = project(seeds, "001_shangjie_pension_subsidy", "城乡居民基本养老保险费财政补助资金")
    f = p.funds
    assert (v(f.initial_budget), v(f.adjusted_budget), v(f.executed)) == (D("970.00"), D("970.00"), D("909.50"))
    assert (v(f.reported_rate), v(f.exec_weight), v(f.exec_score)) == (D("93.76"), D("10.00"), D("9.38"))
    assert f.unit == "万元" and [s.name for s in f.sources] == ["本年财政拨款", "其他资金"]
    assert v(p.reported_total) == D("99.31") and p.reported_grade.text == "优"
    executed = [c for c in p.narrative_claims if c.kind == "executed_amount"]
    assert any(c.value == D("973") and c.unit == "万元" and "实际支付973万元" in c.ref.quote for c in executed)
    assert any(c.kind == "budget_amount" and c.value == D("9700000") and c.unit == "元" for c in p.narrative_claims)
    # Σ indicator scores + execution score = the stated total
    assert sum(i.score for i in p.indicators) + v(f.exec_score) == D("99.31")


def test_001_broken_rows(seeds):
    p = project(seeds, "001_shangjie_pension_subsidy", "城乡居民基本养老保险费财政补助资金")
    rate = indicator(p, "预算执行率")
    assert (rate.target.raw, rate.actual.raw, rate.weight, rate.score) == ("100%", "93.76%", D("1.00"), D("0.93"))
    assert rate.deviation_note == "享受补贴人数不固定"  # the note on the lines after the row
    people = indicator(p, "享受补贴人数")
    assert (people.target.op, people.target.value, people.target.unit) == (">=", D("1.1"), "万人")
    assert people.actual.raw == "约发放人数1.11万人" and people.actual.value == D("1.11")
    social = indicator(p, "保障群众基本生活")
    assert (social.level2, social.target.raw, social.actual.raw) == ("社会效益", "有效保障", "100%")
    assert p.stated_measures is not None and p.stated_measures.text.startswith("1.细化预算编制工作")
    assert "原因" in p.stated_problems.text


def test_000_indicators_from_text_lines(seeds):
    p = project(seeds, "000_shangjie_retiree_medical", "集体破产(困难)企业退休人员医疗费")
    assert len(p.indicators) == 16
    assert sum(i.weight for i in p.indicators) + v(p.funds.exec_weight) == 100
    wrapped = indicator(p, "保障我区集体破产企业退休人员正常的医疗待遇享受")  # a name over three lines
    assert (wrapped.level1, wrapped.level2, wrapped.target.raw, wrapped.actual.raw) == ("效益指标", "社会效益", "有效保障", "有效保障")
    rule = indicator(p, "项目管理制度健全性")  # not the label 项目管理 + 制度健全性
    assert (rule.level2, rule.target.raw) == ("项目管理", "健全")
    assert p.aliases == ["集体破产企业退休人员医疗费"]
    assert p.department == "郑州市上街区人力资源和社会保障局" and p.year == 2020


# --- narrative (002) ---------------------------------------------------------------------------------------

def test_002_total_grade_in_prose(seeds):
    (p,) = seeds["002_soe_reform_medical"][1].projects
    assert p.project == "国有企业改制职工医疗保险" and p.stamp.layout == "narrative"
    assert v(p.reported_total) == D("100") and p.reported_grade.text == "优"
    assert p.funds.adjusted_budget is None
    cost = indicator(p, "破产改制退休职工医保缴费数")
    assert (cost.target.op, cost.target.value, cost.actual.raw) == (">=", D("100"), "100万元")
    assert all(i.weight is None and i.score is None for i in p.indicators)


# --- Hebei 高新区 (003) -------------------------------------------------------------------------------------

def test_003_rate_execution_row_and_weights(seeds):
    p = project(seeds, "003_gaoxin_hrss_selfeval", "创业扶持资金")
    assert v(p.funds.reported_rate) == D("52.73") and v(p.funds.executed) == D("263.65")
    assert v(p.funds.adjusted_budget) == D("500") and v(p.funds.available) == D("500")
    row = next(i for i in p.indicators if i.level1 == "预算执行率")
    assert row.score == D("10") and row.weight is None
    assert v(p.funds.exec_weight) == D("10") and v(p.funds.exec_score) == D("10")
    assert p.category_weights == {"产出指标": D("50"), "效益指标": D("30"), "满意度指标": D("10"), "预算执行率": D("10")}
    monthly = indicator(p, "孵化基地按要求开展活动数量")
    assert (monthly.target.op, monthly.target.value, monthly.target.unit) == (">=", D("3"), "次/月")


def test_003_extra_column_and_merged_cells(seeds):
    p = project(seeds, "003_gaoxin_hrss_selfeval", "劳动监察专项资金")
    first = indicator(p, "规模以上企业劳动合同签订率(%)")  # 8 cells: an unnamed 指标解释 column
    assert (first.target.raw, first.actual.raw, first.score) == ("≥100%", "100.00", D("9"))
    sat = indicator(p, "服务对象达到满意")  # 7 cells: no explanation
    assert (sat.level1, sat.target.raw, sat.actual.raw, sat.score) == ("满意度指标", "≥100%", "100.00", D("10"))
    assert p.stated_problems is None  # the template prompt `(主要填写…)` states nothing
    assert v(p.reported_total) == D("95") and p.reported_grade.text == "优"


def test_003_prose_claims_attached_by_section_and_name(seeds):
    doc, x = seeds["003_gaoxin_hrss_selfeval"]
    labour = project(seeds, "003_gaoxin_hrss_selfeval", "劳动监察专项资金")
    kinds = {(c.kind, c.value, c.text) for c in labour.narrative_claims}
    assert ("total_score", D("95"), "总分为95分") in kinds and ("grade", None, "优秀") in kinds
    land = project(seeds, "003_gaoxin_hrss_selfeval", "被征地农民社会保障费")
    assert any(c.kind == "budget_amount" and c.value == D("3000") for c in land.narrative_claims)
    assert v(land.funds.adjusted_budget) == D("2000") and v(land.reported_total) == D("90")
    party = project(seeds, "003_gaoxin_hrss_selfeval", "建国前老党员生活补贴(专项资金)")
    assert {(c.kind, c.value) for c in party.narrative_claims} >= {("budget_amount", D("3")), ("other_amount", D("4.06")),
                                                                   ("total_score", D("91"))}
    dispatch = project(seeds, "003_gaoxin_hrss_selfeval", "劳务派遣人员专项资金")
    assert any(c.value == D("439") and c.kind == "budget_amount" for c in dispatch.narrative_claims)
    assert "劳务派遣人员专项资金资金" in dispatch.aliases
    # the opening list gives 年初 arrangements under other names: not claims
    nine = project(seeds, "003_gaoxin_hrss_selfeval", "9村村民参加企业职工养老保险区级财政补贴资金")
    assert nine.narrative_claims == []
    jobs = project(seeds, "003_gaoxin_hrss_selfeval", "就业专项资金")
    assert any(c.kind == "executed_amount" and c.value == D("1039") for c in jobs.narrative_claims)
    assert v(jobs.funds.executed) == D("139")  # the table disagrees with its own 具体完成情况: for the checks


def test_003_section_departments(seeds):
    x = seeds["003_gaoxin_hrss_selfeval"][1]
    names = [d.department for d in x.departments]
    assert names == ["劳动监察大队", "人才交流中心", "人事处", "组织部", "劳动处", "社保局"]
    hr = x.departments[2]
    assert hr.reported_grade.text == "优" and len(hr.projects) == 4
    assert {(c.label, c.value) for c in hr.stated_counts} == {("评价项目数", D("4")), ("优", D("4")), ("评优率", D("100"))}


# --- Zhongyuan 中原区 (004) ---------------------------------------------------------------------------------

def test_004_civil_servant_subsidy(seeds):
    p = project(seeds, "004_zhongyuan_medsec_accounts", "公务员医疗补助")
    assert sum(i.score for i in p.indicators) == D("67.5")
    assert sum(i.weight for i in p.indicators) == D("70")
    assert v(p.reported_total) == D("97.24") and p.reported_grade.text == "优"
    assert (v(p.funds.initial_budget), v(p.funds.executed), v(p.funds.reported_rate)) == (D("3700.00"), D("3602.40"), D("97.36"))
    assert p.stated_problems is None and p.stated_measures is None  # every item says 无
    assert p.stamp.layout == "zhongyuan"


def test_004_broken_rows_merged(seeds):
    audit = project(seeds, "004_zhongyuan_medsec_accounts", "委托第三方督导检查and专项审计费")
    row = indicator(audit, "监督检查工作效率提升度")  # `效|社会|监|…|1|1` + `益指标|效益指标|督检查…|||3|3`
    assert (row.level1, row.level2, row.weight, row.score) == ("效益指标", "社会效益指标", D("13"), D("13"))
    assert sum(i.weight for i in audit.indicators) == 70
    assert len(audit.indicators) == 10
    hire = project(seeds, "004_zhongyuan_medsec_accounts", "购买大病保险经办服务使用区财政资金")
    sat = indicator(hire, "受聘人员满意度")  # vertical text over the three name cells
    assert (sat.level1, sat.level2, sat.target.raw) == ("满意度指标", "服务对象满意度指标", "≥90%")
    assert sat.ref.line_end == sat.ref.line_start + 1
    prov = project(seeds, "004_zhongyuan_medsec_accounts", "提前下达2022年省级财政医疗救助补助的资金")
    assert indicator(prov, "重点救助对象政策范围内门诊自付费用年度限额内救助比例").target.raw == "≥50%"
    assert indicator(prov, "医疗救助对象医疗待遇保障情况").weight == D("25")  # the report's own spelling
    extra = project(seeds, "004_zhongyuan_medsec_accounts", "公务员医疗补助追加")
    assert indicator(extra, "医保中心满意度").score == D("2")  # the row continued on the next page
    assert not any(set(i.level3) <= set("-") for p in seeds["004_zhongyuan_medsec_accounts"][1].projects
                   for i in p.indicators)


def test_004_summary_rows_and_links(seeds):
    x = seeds["004_zhongyuan_medsec_accounts"][1]
    (table,) = x.summaries
    assert table.title == "项目自评汇总表" and len(table.rows) == 20
    assert [r.group for r in table.rows].count("可执行项目") == 13
    by = {(r.group, r.project): r for r in table.rows}
    assert by[("可执行项目", "破产困难企业退休人员大病医疗补助金")].linked_project == "破产、困难企业退休人员大病医疗补助金"
    assert by[("可执行项目", "委托第三方督导检查和专项审计费")].linked_project == "委托第三方督导检查and专项审计费"
    assert by[("可执行项目", "提前下达2022年省级财政医疗救助补助的资金")].linked_project == "提前下达2022年省级财政医疗救助补助的资金"
    assert by[("待分项目", "提前下达2022年省级财政医疗救助补助资金")].linked_project == "提前下达2022年省级财政医疗救助补助资金"
    row = by[("可执行项目", "城乡医疗救助")]
    assert (row.budget.value, row.rate.value, row.score.value) == (D("15"), D("0"), D("88.41"))
    assert row.category_rates["产出指标"] == D("94.7")
    assert "破产困难企业退休人员大病医疗补助金" in project(seeds, "004_zhongyuan_medsec_accounts",
                                                      "破产、困难企业退休人员大病医疗补助金").aliases


def test_004_department(seeds):
    (d,) = seeds["004_zhongyuan_medsec_accounts"][1].departments
    assert v(d.reported_total) == D("95.04") and d.reported_grade.text == "优"
    assert [(r.level3, r.weight, r.score) for r in d.score_rows][0] == ("预算执行率", D("10"), D("8"))
    counts = {(c.label, c.value) for c in d.stated_counts}
    assert {("优", D("13")), ("良", D("6")), ("中", D("1")), ("差", D("0")), ("项目数", D("20"))} <= counts
    assert len(d.stated_counts) == len({(c.label, c.value) for c in d.stated_counts})  # stated twice, kept once


def test_004_project_claims(seeds):
    p = project(seeds, "004_zhongyuan_medsec_accounts", "城乡医疗救助")
    assert [(c.kind, c.value, c.text) for c in p.narrative_claims][:2] == [
        ("total_score", D("88.41"), "总得分88.41分"), ("grade", None, "良")]
    assert any(c.text == "偏离度" and c.value == D("27.83") for c in p.narrative_claims)


# --- names ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "mention,expected",
    [
        pytest.param("破产困难企业退休人员大病医疗补助金", "破产、困难企业退休人员大病医疗补助金", id="punctuation"),
        pytest.param("委托第三方督导检查和专项审计费", "委托第三方督导检查and专项审计费", id="he-vs-and"),
        pytest.param("提前下达2022年省级财政医疗救助补助的资金", "提前下达2022年省级财政医疗救助补助的资金", id="de-exact"),
        pytest.param("提前下达2022年省级财政医疗救助补助资金", "提前下达2022年省级财政医疗救助补助资金", id="no-de-exact"),
        pytest.param("购买大病保险经办服务延续项目", "购买大病保险经办服务延续项目", id="trailing-number-exact"),
        pytest.param("劳务派遣人员专项资金资金", "劳务派遣人员专项资金", id="doubled-word"),
        pytest.param("基层党建工作经费", "基层党建工作经费(专项)", id="parenthetical"),
        pytest.param("提前下达2022年省级财政医疗救助补助经费的资金", None, id="unknown"),
    ],
)
def test_match_name(mention, expected):
    names = ["破产、困难企业退休人员大病医疗补助金", "委托第三方督导检查and专项审计费",
             "提前下达2022年省级财政医疗救助补助的资金", "提前下达2022年省级财政医疗救助补助资金",
             "购买大病保险经办服务延续项目", "购买大病保险经办服务延续项目1", "劳务派遣人员专项资金", "基层党建工作经费(专项)"]
    assert match_name(mention, names) == expected


def test_ambiguous_names_are_not_linked():
    names = ["提前下达2022年省级财政医疗救助补助的资金", "提前下达2022年省级财政医疗救助补助资金"]
    assert loose_key(names[0]) == loose_key(names[1])
    assert match_name("提前下达2022年省级财政医疗救助补助 的资金 ", names) == names[0]
    assert match_name("提前下达2022年省级财政医疗救助补助和资金", names) is None
    assert link_names(["购买大病保险经办服务延续项目2"], ["购买大病保险经办服务延续项目", "购买大病保险经办服务延续项目1"]) == {}


# --- provenance, stamps, entry point -----------------------------------------------------------------------

def _walk(o):
    if isinstance(o, BaseModel):
        yield o
        for k in o.__class__.model_fields:
            yield from _walk(getattr(o, k))
    elif isinstance(o, (list, tuple)):
        for x in o:
            yield from _walk(x)
    elif isinstance(o, dict):
        for x in o.values():
            yield from _walk(x)


def test_every_value_cites_its_lines(seeds):
    for stem, (doc, x) in seeds.items():
        lines = {(l.page, l.line_no): l for l in doc.iter_lines()}
        n = 0
        for obj in _walk(x):
            if isinstance(obj, (Figure, TextField, NarrativeClaim, Indicator, StatedCount, SummaryRow)):
                assert obj.ref is not None, (stem, obj)
            if isinstance(obj, SourceRef):
                assert obj.doc_id == doc.doc_id and quote_is_valid(lines, obj), (stem, obj)
                n += 1
        assert n > 10, stem


def test_stamps(seeds):
    expected = Settings.model_construct().settings_hash()
    layouts = {stem: {p.stamp.layout for p in x.projects} for stem, (_, x) in seeds.items()}
    assert layouts == {
        "000_shangjie_retiree_medical": {"henan"}, "001_shangjie_pension_subsidy": {"henan"},
        "002_soe_reform_medical": {"narrative"}, "003_gaoxin_hrss_selfeval": {"hebei"},
        "004_zhongyuan_medsec_accounts": {"zhongyuan"},
    }
    for _, x in seeds.values():
        assert all(p.stamp.backend == "rules" and p.stamp.settings_hash == expected for p in x.projects)
        assert x.units and all(p.unit_id in {u.unit_id for u in x.units} for p in x.projects)


def test_settings_hash_is_stamped(seeds):
    doc = seeds["000_shangjie_retiree_medical"][0]
    s = Settings.model_construct(embedding_dim=64)
    x = extract_document(doc, s)
    assert x.projects[0].stamp.settings_hash == s.settings_hash() != Settings.model_construct().settings_hash()


def test_llm_chain_only_when_configured(seeds, monkeypatch):
    import service.extraction.llm_backend as backend_mod

    calls = []

    def run_llm_backend(extraction, doc, settings, *, backend, llm=None):
        calls.append((settings.llm_model, backend))
        return extraction

    monkeypatch.setattr(backend_mod, "run_llm_backend", run_llm_backend)
    doc = seeds["000_shangjie_retiree_medical"][0]
    extract_document(doc, Settings.model_construct())
    assert calls == []
    configured = Settings.model_construct(llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    extract_document(doc, configured)
    assert calls == [("m", "auto")]
    extract_document(doc, configured, backend="rules")
    extract_document(doc, configured, backend="llm")
    assert calls == [("m", "auto"), ("m", "llm")]
    with pytest.raises(ConfigError):
        extract_document(doc, Settings.model_construct(), backend="llm")  # asked for, not configured: an error


def test_layout_detected_from_content_not_name():
    data = (SEEDS / "004_zhongyuan_medsec_accounts.txt").read_bytes()
    x = extract_document(load_bytes(data, "report.txt", max_bytes=10**8))
    assert len(x.projects) == 16 and {p.stamp.layout for p in x.projects} == {"zhongyuan"}


# --- renderings --------------------------------------------------------------------------------------------

def _records(x) -> dict:
    """The extraction without provenance: doc_id, unit_id and every SourceRef removed."""
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(val) for k, val in o.items() if k not in {"doc_id", "unit_id", "ref", "refs", "units"}}
        if isinstance(o, list):
            return [strip(val) for val in o]
        return o

    return strip(x.model_dump(mode="json"))


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_renderings_give_identical_records(stem):
    base = _records(extract_document(load_path(RENDERED / "txt" / f"{stem}.txt", max_bytes=10**8)))
    for kind in ("pdf", "docx"):
        other = _records(extract_document(load_path(RENDERED / kind / f"{stem}.{kind}", max_bytes=10**8)))
        assert other == base, f"{stem}: {kind} differs from txt"


def test_rendered_txt_matches_seed_records(seeds):
    for stem, (_, x) in seeds.items():
        rendered = extract_document(load_path(RENDERED / "txt" / f"{stem}.txt", max_bytes=10**8))
        assert to_gold_shape(rendered) == to_gold_shape(x), stem


# --- the benchmark -----------------------------------------------------------------------------------------

def test_eval_meets_the_targets(seeds):
    results = []
    for path in sorted(GOLD.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        results.append(score_document(gold, to_gold_shape(seeds[gold["stem"]][1])))
    assert len(results) == 5
    report = summarize(results)
    assert report["unit_recall"] == 1.0
    assert report["numeric_exact"] >= 0.99
    assert report["indicator_f1"] >= 0.97


def test_eval_scoring_rules():
    gold = {"stem": "t", "projects": [{
        "project": "甲项目", "aliases": ["甲 项目 1"],
        "funds": {"unit": "万元", "executed": "10.00", "reported_rate": "50", "sources": []},
        "indicators": [{"level1": "产出指标(50)", "level2": "数量指标", "level3": "人数", "target": "≥302人",
                        "actual": "302人", "weight": "10", "score": "10", "deviation_note": None}],
        "reported_total": "90", "reported_grade": "优",
        "narrative_claims": [{"kind": "grade", "value": None, "text": "优秀", "unit": None, "quote": "x"}],
    }], "summaries": [], "departments": []}
    pred = {"projects": [{
        "project": "甲项目1", "aliases": [],
        "funds": {"unit": "万元", "executed": "10", "reported_rate": "50.0", "sources": []},
        "indicators": [{"level1": "产出指标", "level2": "数量指标", "level3": "人数", "target": "≥ 302 人",
                        "actual": "302人", "weight": "10.00", "score": "9", "deviation_note": None}],
        "reported_total": "90.00", "reported_grade": "优", "narrative_claims": [{"kind": "grade", "text": "优"}],
    }], "summaries": [], "departments": []}
    res = summarize([score_document(gold, pred)])
    assert res["unit_recall"] == 1.0  # by loose key (trailing number)
    assert res["fields"]["funds.executed"]["f1"] == 1.0  # Decimal equality
    assert res["fields"]["indicators.target"]["f1"] == 1.0  # same meaning
    assert res["fields"]["indicators.score"]["tp"] == 0 and res["indicator_f1"] == 0.0  # a value differs
    assert res["fields"]["narrative_claims"]["f1"] == 1.0  # 优秀 = 优
    assert res["numeric"] == {"gold": 5, "exact": 4}  # executed, rate, weight, score, total


def test_eval_cli_json():
    from typer.testing import CliRunner

    from service.cli import app

    result = CliRunner().invoke(app, ["eval", "extraction", "--format", "json", "--rendering", "seed"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for key in ("unit_recall", "indicator_f1", "numeric_exact", "fields", "documents", "commit", "settings_hash"):
        assert key in report
    assert set(report["documents"]) == set(STEMS)
