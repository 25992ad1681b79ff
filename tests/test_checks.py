"""The check engine: each rule on named hand-built cases (facts taken from the seed reports), scheme
detection, determinism, and the must-catch / must-stay-quiet examples on the real documents in every
rendering."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from retrieval.loaders import load_path
from retrieval.types import LoadedDocument
from service.checks import RULE_BY_ID, RULES, detect_scheme, run_checks
from service.checks.numbers import grade_of, normalize_grade
from service.checks.text import is_empty_explanation, match_names
from service.extraction import extract_document
from service.extraction.spans import quote_is_valid
from service.extraction.targets import parse_target
from service.models import (
    DepartmentEvaluation,
    DocumentExtraction,
    Figure,
    Funds,
    FundsSource,
    Indicator,
    NarrativeClaim,
    ProjectEvaluation,
    SourceRef,
    StatedCount,
    SummaryRow,
    SummaryTable,
    TextField,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = "d" * 64
PLACEHOLDER = "(主要填写项目绩效存在问题及原因分析,下一步拟采取的纠偏措施及对策建议,项目绩效目标指标设定存在的问题及修改完善措施)"

# --------------------------------------------------------------------------------------------------------
# Builders: units by hand, from facts printed in the seeds


class _Lines:
    n = 0


def ref(quote: str) -> SourceRef:
    _Lines.n += 1
    return SourceRef(doc_id=DOC, page=1, line_start=_Lines.n, line_end=_Lines.n, quote=quote)


def fig(raw: str | None) -> Figure | None:
    if raw is None:
        return None
    return Figure(raw=raw, value=Decimal(raw.rstrip("%")), unit="%" if raw.endswith("%") else None, ref=ref(raw))


def ind(l1, l2, l3, target, actual, weight=None, score=None, note=None) -> Indicator:
    return Indicator(level1=l1, level2=l2, level3=l3,
                     target=parse_target(target) if target is not None else None,
                     actual=parse_target(actual) if actual is not None else None,
                     weight=Decimal(weight) if weight is not None else None,
                     score=Decimal(score) if score is not None else None, deviation_note=note,
                     ref=ref(f"{l3}\t{target}\t{actual}"))


def funds(initial=None, adjusted=None, executed=None, rate=None, exec_weight=None, exec_score=None,
          sources=()) -> Funds:
    return Funds(initial_budget=fig(initial), adjusted_budget=fig(adjusted), executed=fig(executed),
                 reported_rate=fig(rate), exec_weight=fig(exec_weight), exec_score=fig(exec_score),
                 sources=[FundsSource(name=n, initial_budget=fig(a), adjusted_budget=fig(b), executed=fig(c))
                          for n, a, b, c in sources])


def claim(kind, value=None, text=None, unit=None, quote="") -> NarrativeClaim:
    return NarrativeClaim(kind=kind, value=Decimal(value) if value is not None else None, text=text, unit=unit,
                          ref=ref(quote or str(value)))


def proj(name="项目", uid="u001", total=None, grade=None, problems=None, measures=None, **kw) -> ProjectEvaluation:
    return ProjectEvaluation(
        unit_id=uid, doc_id=DOC, project=name, reported_total=fig(total),
        reported_grade=TextField(text=grade, ref=ref(grade)) if grade else None,
        stated_problems=TextField(text=problems, ref=ref(problems or "-")) if problems is not None else None,
        stated_measures=TextField(text=measures, ref=ref(measures)) if measures is not None else None,
        ref=ref(name), **kw)


HEBEI = {"产出指标": Decimal(50), "效益指标": Decimal(30), "满意度指标": Decimal(10), "预算执行率": Decimal(10)}


def hebei(name="创业扶持资金", *, budget="500", executed="263.65", rate="52.73%", exec_actual="100%",
          exec_score="10", scores=("20", "20", "10", "10", "10", "10", "10"), total="100", grade="优",
          problems="", **kw) -> ProjectEvaluation:
    """Seed 003 創业扶持资金 (1:159-181) unless told otherwise."""
    s = list(scores)
    cats = kw.pop("category_weights", dict(HEBEI))
    return proj(name, funds=funds(adjusted=budget, executed=executed, rate=rate,
                                  sources=[("财政资金", None, budget, executed), ("其他", None, "0", "0")]),
                category_weights=cats,
                indicators=[
                    ind("产出指标(50)", "质量指标", "孵化基地日常管理情况", "基地管理办法执行率≥90%", "100%", score=s[0]),
                    ind("产出指标(50)", "时效指标", "各项补贴及时发放", "100%", "100%", score=s[1]),
                    ind("产出指标(50)", "成本指标", "孵化基地按要求开展活动数量", "每月至少3次", "≥3次/月/家", score=s[2]),
                    ind("效益指标(30)", "社会效益指标", "各项孵化基地政策享受情况", "80%以上", "100%", score=s[3]),
                    ind("效益指标(30)", "可持续影响指标", "完成孵化基地考核工作", "85分以上", "90", score=s[4]),
                    ind("效益指标(30)", "经济效益指标", "带动各类失业人员就业", "≥2人", "≥2人/家", score=s[5]),
                    ind("满意度指标(10)", "满意度指标", "创业者满意度", "90%以上", "100%", score=s[6]),
                    ind("预算执行率(10)", "预算执行率", "资金执行情况", "100%", exec_actual, score=exec_score),
                ], total=total, grade=grade, problems=problems, **kw)


def zy_funds(adj, ex, rate, initial="0.00") -> Funds:
    return funds(initial=initial, adjusted=adj, executed=ex, rate=rate,
                 sources=[("政府预算资金", initial, adj, ex), ("财政专户管理资金", "0.00", "0.00", "0.00"),
                          ("单位资金", "0.00", "0.00", "0.00")])


def gwy(**over) -> ProjectEvaluation:
    """Seed 004 公务员医疗补助 (pages 6-7): 67.5 + 10 × 97.36% + 20 = 97.24."""
    kw = dict(funds=zy_funds("3700.00", "3602.40", "97.36%", "3700.00"), indicators=[
        ind("成本指标", "经济成本指标", "医务人员医疗补助总成本", "≤48000000元", "36024000元", "10", "10"),
        ind("产出指标", "数量指标", "医务人员医疗补助覆盖率", "≥95%", "100%", "10", "10"),
        ind("产出指标", "质量指标", "拨付资金的准确性", "准确", "100%", "10", "10"),
        ind("产出指标", "时效指标", "补助资金给付的及时性", "及时", "100%", "10", "10"),
        ind("效益指标", "社会效益指标", "公共服务均等化水平提高", "提高", "90%", "25", "22.5", "有待进一步提升"),
        ind("满意度指标", "服务对象满意度指标", "医保中心满意度", "≥95%", "96%", "5", "5"),
    ], total="97.24", grade="优", problems="无")
    kw["uid"] = "u004"
    kw.update(over)
    return proj("公务员医疗补助", **kw)


def zy_with(extra: Indicator, weight_of_rest="60", total=None, rate="100.0%", adj="4.00", ex="4.00") -> ProjectEvaluation:
    """A zhongyuan table: one indicator under test plus a filler row carrying the rest of the 70 points."""
    rest = ind("满意度指标", "服务对象满意度指标", "满意度", "≥85%", "90%", weight_of_rest, weight_of_rest)
    s = (extra.score or Decimal(0)) + Decimal(weight_of_rest)
    rate_v = Decimal(rate.rstrip("%"))
    t = total or str((s + (Decimal(10) * min(rate_v, Decimal(100)) / 100).quantize(Decimal("0.01")) + 20))
    return proj("测试项目", funds=zy_funds(adj, ex, rate), indicators=[extra, rest], total=t,
                grade=grade_of(Decimal(t)), problems="部分指标未完成")


def findings(*units, summaries=(), departments=(), doc=None):
    ex = DocumentExtraction(doc_id=DOC, projects=list(units), summaries=list(summaries),
                            departments=list(departments))
    return run_checks(ex, doc)


def by_rule(fs, rule):
    return [f for f in fs if f.rule_id == rule]


def sev(fs, rule) -> str | None:
    """The most severe level at which `rule` fired, or None."""
    levels = [f.severity for f in by_rule(fs, rule)]
    for s in ("error", "warning", "info"):
        if s in levels:
            return s
    return None


# --------------------------------------------------------------------------------------------------------
# Rules, one named case at a time


def rated(budget, executed, rate):
    """A Hebei table whose 预算执行率 row restates the funds block's rate, so only the block is under test."""
    return hebei(budget=budget, executed=executed, rate=rate, exec_actual=rate)


@pytest.mark.parametrize("unit, expected", [
    pytest.param(rated("5", "4.9745", "99%"), None, id="003-labour-99pct-rounds"),
    pytest.param(rated("2.08", "1.88", "90.86%"), "error", id="003-remote-edu-90.86-vs-90.38"),
    pytest.param(rated("15.00", "14.99", "100.00%"), "error", id="003-cadres-100.00-vs-99.93-budget-exact"),
    pytest.param(rated("49.85", "40.74", "81.72%"), "info", id="003-81.72-within-executed-rounding"),
    pytest.param(rated("1039", "139", "100%"), "error", id="003-employment-139-of-1039"),
])
def test_exec_rate(unit, expected):
    assert sev(findings(unit), "R-EXEC-RATE") == expected


@pytest.mark.parametrize("name, actual, expected", [
    pytest.param("资金执行情况", "100%", "error", id="003-startup-row-says-100"),
    pytest.param("年初预算执行情况", "66.55%", "error", id="003-dispatch-row-says-66.55"),
    pytest.param("预算执行进度", "52.73%", None, id="row-agrees"),
    pytest.param("按相关规定拨付使用补助资金", "100%", None, id="003-compliance-wording-not-a-rate"),
])
def test_exec_rate_of_the_execution_row(name, actual, expected):
    u = hebei(exec_actual=actual)
    u.indicators[-1].level3 = name
    assert sev(findings(u), "R-EXEC-RATE") == expected


def test_exec_over():
    assert sev(findings(hebei(budget="10", executed="12", rate="120%")), "R-EXEC-OVER") == "error"
    assert sev(findings(hebei(budget="10", executed="10", rate="100%")), "R-EXEC-OVER") is None


@pytest.mark.parametrize("sources, expected", [
    pytest.param([("财政资金", None, "10839", "139"), ("其他", None, None, None)], "error", id="003-employment-10839"),
    pytest.param([("本年财政拨款", None, "1039", "139"), ("其他资金", None, "0.00", "0.00")], None, id="adds-up"),
    pytest.param([("a", None, "519.50", "69"), ("b", None, "519.51", "70")], "info", id="within-rounding"),
])
def test_exec_rows(sources, expected):
    u = proj("就业专项资金", funds=funds(adjusted="1039", executed="139", rate="13.38%", sources=sources))
    assert sev(findings(u), "R-EXEC-ROWS") == expected


@pytest.mark.parametrize("unit, expected", [
    pytest.param(hebei(), "error", id="003-startup-52.73-scored-10"),
    pytest.param(hebei(budget="1135", executed="1114.61", rate="98.20%"), None, id="98.2-scored-10-whole-number"),
    pytest.param(hebei(budget="20", executed="10.1", rate="50.5%", exec_score="1", total="91"), "warning",
                 id="003-party-building-50.5-scored-1"),
    pytest.param(hebei(budget="2000", executed="2000", rate="100%", exec_score="55", total="145"), "error",
                 id="003-land-55-above-weight"),
])
def test_exec_score_hebei(unit, expected):
    assert sev(findings(unit), "R-EXEC-SCORE") == expected


def test_exec_score_henan_quiet_and_inflated():
    ok = proj("城乡居民养老", funds=funds(adjusted="970.00", executed="909.50", rate="93.76%", exec_weight="10.00",
                                        exec_score="9.38"))
    assert sev(findings(ok), "R-EXEC-SCORE") is None
    bad = proj("城乡居民养老", funds=funds(adjusted="970.00", executed="909.50", rate="93.76%", exec_weight="10.00",
                                         exec_score="10.00"))
    fs = by_rule(findings(bad), "R-EXEC-SCORE")
    assert fs[0].severity == "error" and fs[0].recomputed == "9.38" and fs[0].variant == "henan-exec10"


def test_exec_score_zhongyuan_is_left_to_total():
    assert by_rule(findings(gwy()), "R-EXEC-SCORE") == []


@pytest.mark.parametrize("unit, expected", [
    pytest.param(hebei(), "warning", id="003-startup-empty-problems"),
    pytest.param(hebei(problems=PLACEHOLDER), "warning", id="placeholder-counts-as-empty"),
    pytest.param(hebei(problems="无"), "warning", id="wu-counts-as-empty"),
    pytest.param(hebei(problems="督促各个镇办及时提交申报补贴材料"), None, id="003-stated-reason"),
    pytest.param(hebei(budget="5", executed="4.9745", rate="99%"), None, id="not-low"),
])
def test_exec_explain(unit, expected):
    assert sev(findings(unit), "R-EXEC-EXPLAIN") == expected


def test_exec_explain_uses_the_threshold_the_form_states():
    hint = "预算执行率低于70%或项目实施存在较大问题时，请说明原因和改进措施(默认显示，或提示信息）"
    low = proj("x", funds=funds(adjusted="100", executed="65", rate="65%"), problems=hint)
    mid = proj("x", funds=funds(adjusted="100", executed="80", rate="80%"), problems=hint)
    fs = by_rule(findings(low), "R-EXEC-EXPLAIN")
    assert fs and "70%" in fs[0].message_zh
    assert by_rule(findings(mid), "R-EXEC-EXPLAIN") == []


@pytest.mark.parametrize("kind", ["xlsx", "tsv", "pdf_ruled"])
def test_exec_explain_cites_the_line_stating_the_threshold_or_says_the_form_states_none(kind):
    from formbuilder import national

    # printed rate 60%: below 90% and below a stated 70%, above a stated 50%
    none = by_rule(_forms_checked([national(rate="60%")], kind), "R-EXEC-EXPLAIN")
    assert len(none) == 1 and "表格未列明阈值" in none[0].message_zh and "90%" in none[0].message_zh
    stated = by_rule(_forms_checked([national(rate="60%", extra_rows=[[None, "说明", "预算执行率未达到70%的需说明原因"]])],
                                    kind), "R-EXEC-EXPLAIN")
    assert len(stated) == 1 and "表格规定" in stated[0].message_zh and "低于70%" in stated[0].message_zh
    assert any("未达到70%" in r.quote for r in stated[0].refs)  # the form's own words, cited on their line
    assert by_rule(_forms_checked([national(rate="60%", extra_rows=[[None, "说明", "低于50%的须说明原因"]])], kind),
                   "R-EXEC-EXPLAIN") == []


@pytest.mark.parametrize("indicator, expected", [
    pytest.param(ind("产出指标", "数量指标", "门诊救助人次", "≥767人次", "544人次", "3", "2.13", "疫情"), None,
                 id="004-outpatients-formula-holds"),
    pytest.param(ind("产出指标", "数量指标", "门诊救助人次", "≥767人次", "544人次", "3", "3", "疫情"), "error",
                 id="missed-full-score"),
    pytest.param(ind("产出指标", "数量指标", "门诊救助人次", "≥767人次", "544人次", "3", "1.5", "疫情"), "warning",
                 id="below-formula"),
    pytest.param(ind("投入和管理目标", "投入管理", "预算执行率", "100%", "93.76%", "1.00", "0.93", "不固定"), "warning",
                 id="001-truncated-0.93"),
    pytest.param(ind("产出指标", "数量指标", "资助参保人次", "≥1000人次", "947人次", "5", "4.73", "疫情"), "info",
                 id="004-4.735-rounds-either-way"),
])
def test_quant_pos(indicator, expected):
    assert sev(findings(zy_with(indicator, weight_of_rest=str(70 - int(indicator.weight)))), "R-QUANT-POS") == expected


@pytest.mark.parametrize("indicator, expected", [
    pytest.param(ind("成本指标", "经济成本指标", "成本", "≤100元", "120元", "10", "10", "超支"), "error", id="over-cost-full"),
    pytest.param(ind("成本指标", "经济成本指标", "成本", "≤100元", "120元", "10", "8.33", "超支"), None, id="target-over-actual"),
    pytest.param(ind("成本指标", "经济成本指标", "成本", "≤100元", "120元", "10", "8", "超支"), None, id="vendor-variant"),
    pytest.param(ind("成本指标", "经济成本指标", "成本", "≤800000元", "0元", "10", "10"), None, id="004-zero-spent-met"),
])
def test_quant_neg(indicator, expected):
    assert sev(findings(zy_with(indicator)), "R-QUANT-NEG") == expected


@pytest.mark.parametrize("indicator, expected", [
    pytest.param(ind("产出指标", "质量指标", "完成率", "=100%", "100%", "10", "10"), None, id="met"),
    pytest.param(ind("产出指标", "质量指标", "完成率", "=100%", "90%", "10", "10", "x"), "error", id="missed-full"),
    pytest.param(ind("产出指标", "质量指标", "事故数", "=0起", "0起", "10", "10"), None, id="zero-target-met"),
    pytest.param(ind("产出指标", "质量指标", "事故数", "=0起", "2起", "10", "10", "x"), "error", id="zero-target-missed-full"),
])
def test_quant_eq(indicator, expected):
    assert sev(findings(zy_with(indicator)), "R-QUANT-EQ") == expected


def test_quant_eq_004_project_cost_below_formula():
    cost = ind("成本指标", "经济成本指标", "项目资金成本", "=231000.00元", "80400元", "10", "0.35", "疫情影响资金支出缓慢")
    fs = findings(zy_with(cost, rate="3.48%", adj="231.00", ex="8.04"))
    assert sev(fs, "R-QUANT-EQ") == "warning"
    f = by_rule(fs, "R-QUANT-EQ")[0]
    assert f.recomputed == "3.48" and "2310000" in f.message_zh  # the score fits the 231.00万元 budget


@pytest.mark.parametrize("indicator, expected", [
    pytest.param(ind("效益指标", "社会效益指标", "均等化水平提高", "提高", "90%", "25", "22.5", "有待提升"), None,
                 id="004-90pct-scored-90pct"),
    pytest.param(ind("效益指标", "社会效益指标", "均等化水平提高", "提高", "90%", "25", "25"), "error",
                 id="partial-full-score"),
    pytest.param(ind("效益指标", "可持续影响", "激励", "是", "产生一定激励效果", "5", "5"), "error",
                 id="003-partly-worded-full"),
    pytest.param(ind("效益指标", "社会效益指标", "专款专用", "是", "是", "5", "5"), None, id="met"),
    pytest.param(ind("时效指标", "时效指标", "补贴发放及时性", "及时", "0%", "10", "0", "财政局要求"), None,
                 id="004-missed-scored-0"),
])
def test_qual(indicator, expected):
    assert sev(findings(zy_with(indicator, weight_of_rest=str(70 - int(indicator.weight)))), "R-QUAL") == expected


def test_full_but_deducted_is_info():
    i = ind("产出指标", "数量指标", "城乡医疗救助人次", ">600人次", "947人次", "10", "8.41", "年初设置目标过低。")
    fs = findings(zy_with(i))
    assert sev(fs, "R-FULL-BUT-DEDUCTED") == "info"
    assert sev(fs, "R-QUANT-POS") is None


@pytest.mark.parametrize("unit, expected", [
    pytest.param(zy_with(ind("产出指标", "数量指标", "住院救助人次", "≥710人次", "403人次", "3", "1.7")), "warning",
                 id="missed-empty-note"),
    pytest.param(zy_with(ind("产出指标", "数量指标", "住院救助人次", "≥710人次", "403人次", "3", "1.7", "疫情")), None,
                 id="004-missed-with-note"),
    pytest.param(hebei(budget="5", executed="4.9745", rate="99%", exec_actual="99%",
                       scores=("9", "9", "10", "10", "10", "10", "10"), total="95", problems=PLACEHOLDER), None,
                 id="003-labour-category-deduction-not-judged"),
])
def test_deviation(unit, expected):
    assert sev(findings(unit), "R-DEVIATION") == expected


@pytest.mark.parametrize("target, actual, problems, expected", [
    pytest.param("≥10人", "8人", PLACEHOLDER, "warning", id="hebei-missed-placeholder"),
    pytest.param("≥10人", "8人", "两人因病退出", None, id="hebei-missed-explained"),
    pytest.param("≥100%", "72.00", PLACEHOLDER, None, id="003-count-vs-rate-not-comparable"),
])
def test_deviation_hebei(target, actual, problems, expected):
    u = hebei(budget="5", executed="5", rate="100%", problems=problems)
    u.indicators[0] = ind("产出指标(50)", "数量指标", "日常检查企业数(家)" if "72" in actual else "培训人数",
                          target, actual, score="20")
    assert sev(findings(u), "R-DEVIATION") == expected


@pytest.mark.parametrize("indicator, adj, ex, expected", [
    pytest.param(ind("成本指标", "经济成本指标", "医务人员医疗补助项目成本", "≤11400000.00元", "742.81元", "10", "10"),
                 "1140.00", "742.81", "error", id="004-742.81-yuan"),
    pytest.param(ind("成本指标", "经济成本指标", "医务人员医疗补助总成本", "≤48000000元", "36024000元", "10", "10"),
                 "3700.00", "3602.40", None, id="004-36024000-yuan-right"),
    pytest.param(ind("成本指标", "经济成本指标", "项目资金成本", "=231000.00元", "80400元", "10", "0.35", "x"),
                 "231.00", "8.04", None, id="004-231000-off-by-ten-is-not-a-unit-slip"),
    pytest.param(ind("成本指标", "经济成本指标", "人均补助标准", "≥30元/人", "30元/人", "10", "10"),
                 "4.00", "4.00", None, id="per-person-not-an-amount"),
])
def test_unit_magnitude(indicator, adj, ex, expected):
    rate = f"{Decimal(ex) / Decimal(adj) * 100:.2f}%"
    assert sev(findings(zy_with(indicator, rate=rate, adj=adj, ex=ex)), "R-UNIT-MAGNITUDE") == expected


def test_weight_l1():
    short = gwy(indicators=gwy().indicators[:-1], total="92.24")  # 65 points printed
    assert sev(findings(short), "R-WEIGHT-L1") == "warning"
    assert sev(findings(gwy()), "R-WEIGHT-L1") is None
    cats = dict(HEBEI)
    cats["效益指标"] = Decimal(20)
    assert sev(findings(hebei(category_weights=cats)), "R-WEIGHT-L1") == "warning"


def test_category_sum_and_lost_heading():
    over = hebei(scores=("30", "20", "10", "10", "10", "10", "10"), total="110")
    assert sev(findings(over), "R-CATEGORY-SUM") == "warning"
    # seed 003 人事处 tables: 社会效益指标 rows under the merged 产出指标(50) cell, no 效益指标(30) heading
    def lost(stray_score: str):
        return proj("劳务派遣人员专项资金", funds=funds(adjusted="439", executed="98.33", rate="22.4%"),
                    category_weights={"产出指标": Decimal(50), "满意度指标": Decimal(10), "预算执行率": Decimal(10)},
                    indicators=[ind("产出指标(50)", "数量指标", "工资发放人数", "65人", "65人", score="25"),
                                ind("产出指标(50)", "数量指标", "保险缴纳人数", "65人", "65人", score="25"),
                                ind("产出指标(50)", "社会效益指标", "工资按时发放", "≥100%", "100%", score=stray_score),
                                ind("产出指标(50)", "社会效益指标", "保险按时缴纳", "≥100%", "100%", score=stray_score),
                                ind("满意度指标(10)", "满意度指标", "满意度", "≥100%", "100%", score="10")],
                    total="90", grade="优", problems="x")
    # issue 16: the strays (15 + 15) fit the 30 the headers leave over and the 产出 rows fit 50 — weights still
    # 100, no score moves: a layout slip, reported once as info under each rule, not as two warnings
    fs = findings(lost("15"))
    cat = by_rule(fs, "R-CATEGORY-SUM")
    assert [f.severity for f in cat] == ["info"] and cat[0].reported == "80" and "社会效益指标" in cat[0].message_zh
    assert "版式" in cat[0].message_zh
    assert sev(fs, "R-WEIGHT-L1") == "info" and by_rule(fs, "R-WEIGHT-L1")[0].reported == "70"
    assert cat[0].variant == "hebei-headers-50/10/10"
    # strays scoring 20 + 20 overflow the missing block's 30: the scores are affected, both stay warnings
    fs = findings(lost("20"))
    assert sev(fs, "R-CATEGORY-SUM") == "warning" and sev(fs, "R-WEIGHT-L1") == "warning"


@pytest.mark.parametrize("unit, expected", [
    pytest.param(gwy(), None, id="004-97.24-holds"),
    pytest.param(gwy(total="98.24"), "error", id="off-by-one"),
    pytest.param(gwy(total="97.2"), None, id="one-decimal-total-rounds"),
    pytest.param(gwy(total="97.3"), "error", id="one-decimal-total-off"),
    pytest.param(hebei(total="95"), "error", id="hebei-sum-100-vs-95"),
    pytest.param(hebei(scores=("30", "30", "10", "10", "10", "10", "10"), total="120", grade="优"), "error",
                 id="above-100"),
])
def test_total(unit, expected):
    assert sev(findings(unit), "R-TOTAL") == expected


@pytest.mark.parametrize("total, grade, expected", [
    pytest.param("90", "良", "error", id="003-land-90-graded-liang"),
    pytest.param("88", "良", None, id="003-remote-88"),
    pytest.param("80", "良", None, id="lower-bound-inclusive"),
    pytest.param("79.99", "良", "error", id="79.99-is-zhong"),
    pytest.param("95", "优秀", None, id="youxiu-is-you"),
])
def test_grade(total, grade, expected):
    u = proj("x", total=total, grade=grade)
    assert sev(findings(u), "R-GRADE") == expected


def test_grade_words():
    assert normalize_grade("“优”") == "优" and normalize_grade("优秀") == "优" and normalize_grade("良好") == "良"
    assert normalize_grade("等级为良") == "良" and normalize_grade("合格") == "中" and normalize_grade("好") is None
    assert [grade_of(Decimal(x)) for x in ("100", "90", "89.99", "80", "60", "59.99")] == ["优", "优", "良", "良", "中", "差"]


def test_narrative_rules():
    u = proj("城乡居民基本养老保险费财政补助资金",
             funds=funds(adjusted="970.00", executed="909.50", rate="93.76%"), total="99.31", grade="优",
             narrative_claims=[claim("budget_amount", "970", unit="万元", quote="预计需支付970万元"),
                               claim("budget_amount", "9700000", unit="元", quote="预计支付9700000元"),
                               claim("executed_amount", "973", unit="万元", quote="实际支付973万元"),
                               claim("executed_amount", "973", unit="万元", quote="实际支付973万元"),
                               claim("total_score", "99.31", quote="自评总得分99.31分"),
                               claim("grade", text="优", quote="属于“优”等级"),
                               claim("execution_rate", "93.76", unit="%", quote="执行率93.76%")])
    fs = findings(u)
    amounts = by_rule(fs, "R-NARR-AMOUNT")
    assert len(amounts) == 1 and amounts[0].severity == "error" and "973" in amounts[0].message_zh
    assert len(amounts[0].refs) == 3  # both prose lines and the table cell
    assert not by_rule(fs, "R-NARR-TOTAL") and not by_rule(fs, "R-NARR-GRADE") and not by_rule(fs, "R-NARR-RATE")


def test_narrative_yuan_amounts_and_parts():
    # seed 000: 691033元 / 691032.8元 against 69.10万元
    u = proj("x", funds=funds(adjusted="69.10", executed="69.10", rate="100.00%"),
             narrative_claims=[claim("budget_amount", "691033", unit="元"), claim("executed_amount", "691032.8", unit="元")])
    assert by_rule(findings(u), "R-NARR-AMOUNT") == []
    # seed 003 建国前老党员: 预算安排3万元 + 上级专款4.06万元 = 7.06
    parts = proj("x", funds=funds(adjusted="7.06", executed="1.21", rate="17%"),
                 narrative_claims=[claim("budget_amount", "3", unit="万元", quote="预算安排3万元"),
                                   claim("other_amount", "4.06", unit="万元", quote="上级专款4.06万元")])
    parts.narrative_claims[1].ref = parts.narrative_claims[0].ref  # same prose line
    assert by_rule(findings(parts), "R-NARR-AMOUNT") == []


def test_narrative_total_grade_rate():
    u = proj("被征地农民社会保障费", funds=funds(adjusted="2000", executed="2000", rate="100%"), total="90", grade="良",
             narrative_claims=[claim("total_score", "95", quote="自评总分为95分"),
                               claim("grade", text="优秀", quote="评价等级优秀"),
                               claim("execution_rate", "99", unit="%", quote="资金执行率达到99%")])
    fs = findings(u)
    assert sev(fs, "R-NARR-TOTAL") == "error" and sev(fs, "R-NARR-GRADE") == "error"
    assert sev(fs, "R-NARR-RATE") == "error"


def _summary(*rows: SummaryRow) -> SummaryTable:
    return SummaryTable(unit_id="s001", doc_id=DOC, title="项目自评汇总表", rows=list(rows), ref=ref("项目自评汇总表"))


def srow(name, score, budget=None, executed=None, rate=None, cats=None, group=None) -> SummaryRow:
    return SummaryRow(project=name, score=fig(score), budget=fig(budget), executed=fig(executed), rate=fig(rate),
                      category_rates={k: Decimal(v) for k, v in (cats or {}).items()}, group=group, ref=ref(name))


def named(name, uid, **over):
    p = gwy(**over)
    p.project, p.unit_id = name, uid
    return p


def test_summary_rows():
    fs = findings(named("公务员医疗补助", "u1"), named("委托第三方督导检查and专项审计费", "u2"),
                  named("大厅大病保险经办辅助服务追加项目", "u3", total="98.75"), named("城乡医疗救助", "u4"),
                  summaries=[_summary(
                      srow("公务员医疗补助", "97.24", "3700", "3602.4", "97.36%", {"效益指标得分率": "90"}),
                      srow("委托第三方督导检查和专项审计费", "98.24"),  # 和 vs and: loose but unique
                      srow("大厅大病保险经办辅助服务追加项目", "98.7"),  # 98.75 printed with one decimal
                      srow("城乡医疗救助", "97.24", cats={"效益指标得分率": "94.8"}),  # 22.5/25 = 90%
                  )])
    s = {f.project: f for f in by_rule(fs, "R-SUMMARY")}
    assert "公务员医疗补助" not in s
    assert s["委托第三方督导检查和专项审计费"].severity == "error" and "loose" in s["委托第三方督导检查和专项审计费"].variant
    assert s["大厅大病保险经办辅助服务追加项目"].severity == "info"
    assert s["城乡医疗救助"].severity == "error" and "94.8" in s["城乡医疗救助"].message_zh


def test_summary_name_listed_twice_goes_to_the_agreeing_row():
    # seed 004 lists 提前下达2022年中央财政医疗救助补助资金 under 可执行项目 (98.72) and 待分项目 (98.41); the one
    # report (98.41) belongs to the agreeing row, the other lists a report the document does not contain
    fs = findings(named("提前下达2022年中央财政医疗救助补助资金", "u1", total="98.41"), summaries=[_summary(
        srow("提前下达2022年中央财政医疗救助补助资金", "98.72", group="可执行项目"),
        srow("提前下达2022年中央财政医疗救助补助资金", "98.41", group="待分项目"))])
    assert [f.severity for f in by_rule(fs, "R-SUMMARY")] == ["info"]
    assert "98.72" not in by_rule(fs, "R-SUMMARY")[0].message_zh or "不止一行" in by_rule(fs, "R-SUMMARY")[0].message_zh


def test_full_score_with_an_empty_value_is_a_warning_only_where_the_column_is_filled_elsewhere():
    def unit(actual, target="≥130人", score="10", others=("500人", "92%")):
        return proj("就业补助", funds=zy_funds("100", "95", "95.0%"), indicators=[
            ind("产出指标", "数量指标", "补贴享受人员", target, actual, "10", score),
            ind("产出指标", "数量指标", "培训人次", "≥400人", others[0], "10", "10"),
            ind("满意度指标", "服务对象满意度指标", "满意度", "≥90%", others[1], "10", "10"),
        ], total="95", grade="优", problems="无")

    for blank in ("", "—", "××", "（请填写）"):
        fs = by_rule(findings(unit(blank)), "R-EMPTY-VALUE")
        assert [f.severity for f in fs] == ["warning"], blank
        assert "“补贴享受人员”实际完成值未填写" in fs[0].message_zh and fs[0].reported == "10"
    target = by_rule(findings(unit("130人", target="")), "R-EMPTY-VALUE")
    assert len(target) == 1 and "年度指标值未填写" in target[0].message_zh
    assert by_rule(findings(unit("130人")), "R-EMPTY-VALUE") == []  # filled
    assert by_rule(findings(unit("无")), "R-EMPTY-VALUE") == []  # 无 is an answer (无投诉), not a blank
    assert by_rule(findings(unit("", score="6")), "R-EMPTY-VALUE") == []  # not scored in full
    # a layout without the column (no other row fills it) is not flagged row by row
    assert by_rule(findings(unit("", others=("", ""))), "R-EMPTY-VALUE") == []



def test_template_instructions_left_in_the_form():
    """R-TEMPLATE-TEXT: a goal or completion cell still holding the form's filling instruction is a warning; the
    same hint in 存在问题 is info; an answer that quotes or resembles an instruction is an answer."""
    from service.checks.text import template_instruction

    def unit(goal=None, done=None, problems=None):
        return proj("就业补助资金", problems=problems,
                    goals=TextField(text=goal, ref=ref(goal)) if goal is not None else None,
                    goal_completion=TextField(text=done, ref=ref(done)) if done is not None else None)

    for hint in ("（填写本年度预期达到的绩效目标）", "请填写年度总体目标", "(主要填写年初设定的年度绩效目标)"):
        fs = by_rule(findings(unit(goal=hint, done="全年发放补助1200人次。")), "R-TEMPLATE-TEXT")
        assert [f.severity for f in fs] == ["warning"], hint
        assert "“年度绩效目标”栏仍为填表说明文字" in fs[0].message_zh and fs[0].refs[0].quote == hint
    done = by_rule(findings(unit(goal="保障困难群众基本生活。", done="请简要说明目标完成情况")), "R-TEMPLATE-TEXT")
    assert len(done) == 1 and "实际完成情况" in done[0].message_zh
    info = by_rule(findings(unit(goal="保障困难群众基本生活。", problems="（主要填写项目实施中存在的问题及改进措施）")),
                   "R-TEMPLATE-TEXT")
    assert [f.severity for f in info] == ["info"]
    for answer in ("保障困难群众基本生活。", "说明：本年完成培训1200人", "已完成，具体见附件（注明）", "按时完成（已填写）"):
        assert not template_instruction(answer), answer
        assert by_rule(findings(unit(goal=answer, done=answer)), "R-TEMPLATE-TEXT") == []


def test_zero_spend_with_full_scores():
    # seed 004 破产、困难企业退休人员大病医疗补助金: 0 of 1082.23 spent, 成本 0元 10/10, outputs in full
    def unit(executed, cost_actual="0元", cost_score="10", out_score="10"):
        return proj("破产、困难企业退休人员大病医疗补助金", funds=zy_funds("1082.23", executed, "0.0%"), indicators=[
            ind("成本指标", "经济成本指标", "补助金", "≤10822251元", cost_actual, "10", cost_score),
            ind("产出指标", "数量指标", "补贴享受人员", "≥130人", "130人", "10", out_score),
            ind("产出指标", "时效指标", "补贴发放及时性", "及时", "0%", "10", "0"),
            ind("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "92%", "5", "5"),
        ], total="80", grade="良", problems="无")

    fs = by_rule(findings(unit("0.00")), "R-ZERO-SPEND")
    assert [f.severity for f in fs] == ["warning"]
    assert "“补助金”完成值为0仍得满分10分" in fs[0].message_zh and "产出、效益指标1项得满分（合计10分）" in fs[0].message_zh
    only_out = by_rule(findings(unit("0.00", cost_score="5")), "R-ZERO-SPEND")
    assert len(only_out) == 1 and "成本指标" not in only_out[0].message_zh
    assert by_rule(findings(unit("0.00", cost_score="5", out_score="9")), "R-ZERO-SPEND") == []
    assert by_rule(findings(unit("12.50")), "R-ZERO-SPEND") == []  # something was spent
    # without printed weights (Hebei) nothing can be called full
    assert by_rule(findings(hebei(executed="0", rate="0%")), "R-ZERO-SPEND") == []


def test_summary_same_project_twice_with_two_scores():
    # seed 004: 可执行项目 and 待分项目 both list these names; a second printing that rounds to the first agrees
    fs = findings(named("提前下达2022年中央财政医疗救助补助资金", "u1", total="98.41"), summaries=[_summary(
        srow("提前下达2022年中央财政医疗救助补助资金", "98.72", group="可执行项目"),
        srow("大厅大病保险经办辅助服务追加项目", "98.75", group="可执行项目"),
        srow("提前下达2022年中央专项彩票公益金支持城乡医疗救助的资金", "97.67", group="可执行项目"),
        srow("x项目", "90.00", group="可执行项目"),
        srow("提前下达2022年中央财政医疗救助补助资金", "98.41", group="待分项目"),
        srow("大厅大病保险经办辅助服务追加项目", "98.7", group="待分项目"),
        srow("提前下达2022年中央专项彩票公益金支持城乡医疗救助资金", "96", group="待分项目"),  # another name
        srow("x项目", "90", group="待分项目"))])
    dup = {f.project: f for f in by_rule(fs, "R-SUMMARY-DUP")}
    assert set(dup) == {"提前下达2022年中央财政医疗救助补助资金", "大厅大病保险经办辅助服务追加项目"}
    f = dup["大厅大病保险经办辅助服务追加项目"]
    assert f.severity == "warning" and f.reported == "98.75、98.7" and "“待分项目”" in f.message_zh
    assert len(f.refs) == 2


def test_summary_ambiguous_names_are_not_matched():
    a, b = gwy(), gwy()
    a.project, a.unit_id = "提前下达2022年中央专项彩票公益金支持城乡医疗救助的资金", "u1"
    b.project, b.unit_id = "提前下达2022年中央专项彩票公益金支持城乡医疗救助资金", "u2"
    assert match_names("提前下达2022年中央专项彩票公益金支持城乡医疗救助的资金", [a.project, b.project]) == ([0], "exact")
    assert match_names("提前下达2022年中央专项彩票公益金支持城乡医疗救助之资金", [a.project, b.project])[1] == "none"
    c = gwy()
    c.project, c.unit_id = "x的项目", "u3"
    d = gwy()
    d.project, d.unit_id = "x项目", "u4"
    assert match_names("x和项目", [c.project, d.project])[1] == "ambiguous"


def test_department_rules():
    dep = DepartmentEvaluation(
        unit_id="d1", doc_id=DOC, department="医保局", reported_total=fig("95.04"),
        reported_grade=TextField(text="优", ref=ref("优")),
        score_rows=[Indicator(level3="预算执行率", weight=Decimal(10), score=Decimal(8)),
                    Indicator(level3="投入管理指标", weight=Decimal(30), score=Decimal("27.32")),
                    Indicator(level3="产出指标", weight=Decimal(25), score=Decimal("24.72")),
                    Indicator(level3="效益指标", weight=Decimal(35), score=Decimal(35))],
        stated_counts=[StatedCount(label="优", value=Decimal(2), ref=ref("2个为优")),
                       StatedCount(label="良", value=Decimal(1), ref=ref("1个为良"))])
    table = _summary(srow("a", "97.24"), srow("b", "88.41"), srow("c", "80"))
    fs = findings(departments=[dep], summaries=[table])
    assert by_rule(fs, "R-DEPT-TOTAL") == []
    assert [f.recomputed for f in by_rule(fs, "R-DEPT-COUNTS")] == ["1", "2"]


def test_placeholder_detection():
    assert is_empty_explanation(None) and is_empty_explanation("") and is_empty_explanation("无")
    assert is_empty_explanation(PLACEHOLDER)
    assert is_empty_explanation("预算执行率低于 70%或项目实施存在较大问题时，请说明原因和改进措施(默认显示，或提示信息）")
    assert not is_empty_explanation("因6个村搬迁平改,未能正常建设远教站点")


# --------------------------------------------------------------------------------------------------------
# Schemes, determinism, the rulebook itself


def test_scheme_detection_from_tables():
    assert detect_scheme(gwy()).variant == "zhongyuan-fund20-exec10-ind70" and detect_scheme(gwy()).confirmed
    assert detect_scheme(hebei()).variant == "hebei-headers-50/30/10/10"
    henan = proj("x", funds=funds(adjusted="1", executed="1", rate="100%", exec_weight="10.00", exec_score="10.00"),
                 indicators=[ind("产出指标", "数量指标", "a", "1", "1", "90", "90")])
    assert detect_scheme(henan).variant == "henan-exec10"
    # a zhongyuan table printing 50 of its 70 points takes the scheme of its same-layout neighbours
    short = gwy(indicators=gwy().indicators[:4], total="92.43", uid="u005")
    assert detect_scheme(short).variant == "weights-40"
    assert detect_scheme(short, [gwy(), short]).variant == "zhongyuan-fund20-exec10-ind70"
    # the name never decides
    renamed = gwy()
    renamed.project = "河北省高新区人社局创业扶持资金"
    assert detect_scheme(renamed).variant == "zhongyuan-fund20-exec10-ind70"


def test_every_finding_names_its_variant_and_is_deterministic():
    units = [hebei(), gwy(total="98.24"), proj("y", total="90", grade="良")]
    a, b = findings(*units), findings(*units)
    assert a == b and a
    assert all(f.variant for f in a)
    assert all(f.message_zh and f.message_en for f in a)


def test_rulebook_entries_are_complete():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    arch = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for rid in ("R-EXEC-RATE", "R-EXEC-OVER", "R-EXEC-ROWS", "R-EXEC-SCORE", "R-EXEC-EXPLAIN", "R-QUANT-POS",
                "R-QUANT-NEG", "R-QUANT-EQ", "R-QUAL", "R-FULL-BUT-DEDUCTED", "R-WEIGHT-L1", "R-CATEGORY-SUM",
                "R-TOTAL", "R-GRADE", "R-NARR-AMOUNT", "R-NARR-TOTAL", "R-NARR-GRADE", "R-NARR-RATE", "R-SUMMARY",
                "R-DEVIATION", "R-UNIT-MAGNITUDE", "R-ROUND"):
        assert rid in RULE_BY_ID and rid in arch
    for r in RULES:
        assert r.statement_zh and r.statement_en and r.formula and r.tolerance and r.severity and r.source
        assert r.tags and set(r.tags) <= {"seen", "recalled", "inferred"}
    assert "recalled" in RULE_BY_ID["R-QUAL"].tags and "recalled" in RULE_BY_ID["R-GRADE"].tags


# --------------------------------------------------------------------------------------------------------
# The real documents, in every rendering


RENDERINGS = [("seed", "corpus/seeds/{stem}.txt"), ("txt", "corpus/rendered/txt/{stem}.txt"),
              ("docx", "corpus/rendered/docx/{stem}.docx"), ("pdf", "corpus/rendered/pdf/{stem}.pdf")]
_CACHE: dict[tuple[str, str], tuple[LoadedDocument, list]] = {}


def checked(stem: str, rendering: str = "seed"):
    key = (stem, rendering)
    if key not in _CACHE:
        pattern = dict(RENDERINGS)[rendering]
        path = ROOT / pattern.format(stem=stem)
        if not path.exists():
            pytest.fail(f"{path} is missing: the rendered corpus is part of the repository")
        doc = load_path(path, max_bytes=10**8)
        _CACHE[key] = (doc, run_checks(extract_document(doc, None), doc))
    return _CACHE[key]


def of(fs, project: str, rule: str | None = None):
    return [f for f in fs if f.project == project and (rule is None or f.rule_id == rule)]


RENDER_IDS = [r for r, _ in RENDERINGS]


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_catch_001_prose_973_vs_909_50(rendering):
    doc, fs = checked("001_shangjie_pension_subsidy", rendering)
    hits = of(fs, "城乡居民基本养老保险费财政补助资金", "R-NARR-AMOUNT")
    assert hits and hits[0].severity == "error"
    executed = next(f for f in hits if "执行数" in f.message_zh)
    assert "973" in executed.reported and "909.50" in executed.recomputed
    quotes = [r.quote for r in executed.refs]
    assert any("973" in q for q in quotes) and any("909.50" in q for q in quotes)


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_catch_003_startup_fund_52_73_scored_10(rendering):
    doc, fs = checked("003_gaoxin_hrss_selfeval", rendering)
    score = of(fs, "创业扶持资金", "R-EXEC-SCORE")
    assert score and score[0].severity == "error" and score[0].reported == "10" and score[0].recomputed == "5.27"
    assert "52.73%" in score[0].message_zh and score[0].variant.startswith("hebei-headers-50/30/10/10")
    explain = of(fs, "创业扶持资金", "R-EXEC-EXPLAIN")
    assert explain and explain[0].severity == "warning"


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_catch_003_land_90_graded_liang_prose_95_youxiu(rendering):
    doc, fs = checked("003_gaoxin_hrss_selfeval", rendering)
    p = "被征地农民社会保障费"
    assert [f.severity for f in of(fs, p, "R-GRADE")] == ["error"]
    assert of(fs, p, "R-GRADE")[0].recomputed == "优"
    nt = of(fs, p, "R-NARR-TOTAL")
    assert nt and nt[0].severity == "error" and nt[0].reported == "95" and nt[0].recomputed == "90"
    ng = of(fs, p, "R-NARR-GRADE")
    assert ng and all(f.severity == "error" for f in ng) and any("优秀" in f.message_zh for f in ng)


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_catch_004_742_81_yuan(rendering):
    doc, fs = checked("004_zhongyuan_medsec_accounts", rendering)
    hits = of(fs, "公务员医疗补助追加", "R-UNIT-MAGNITUDE")
    assert hits and hits[0].severity == "error" and hits[0].reported == "742.81元"
    assert any("742.81元" in r.quote for r in hits[0].refs)


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_stay_quiet_004_civil_servant_medical_97_24(rendering):
    doc, fs = checked("004_zhongyuan_medsec_accounts", rendering)
    mine = of(fs, "公务员医疗补助")
    assert [f for f in mine if f.severity == "error"] == []
    assert of(mine, "公务员医疗补助", "R-TOTAL") == []


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_catch_004_accounts_58_89_vs_project_0(rendering):
    """The 部门决算 in the same document spends 58.89 万元 under 2101301 城乡医疗救助; the project table says 0."""
    doc, fs = checked("004_zhongyuan_medsec_accounts", rendering)
    hits = [f for f in fs if f.rule_id == "R-ACCOUNTS-PROJECT"]
    assert [(f.project, f.severity) for f in hits] == [("城乡医疗救助", "warning")]
    f = hits[0]
    assert "58.89" in f.recomputed and "0.00" in f.reported and "口径" in f.message_zh
    assert any("2101301" in r.quote and "58.89" in r.quote for r in f.refs)
    assert any("0.00" in r.quote for r in f.refs)


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_catch_004_zero_spend_and_summary_listed_twice(rendering):
    doc, fs = checked("004_zhongyuan_medsec_accounts", rendering)
    zero = {f.project for f in fs if f.rule_id == "R-ZERO-SPEND"}
    assert "破产、困难企业退休人员大病医疗补助金" in zero and "公务员医疗补助" not in zero
    dup = {f.project: f for f in fs if f.rule_id == "R-SUMMARY-DUP"}
    assert dup["提前下达2022年中央财政医疗救助资金2"].reported == "90.35、76.82"
    assert "提前下达2022年中央专项彩票公益金支持城乡医疗救助的资金" not in dup  # 97.67 twice agrees


def test_no_accounts_no_accounts_check():
    doc, fs = checked("003_gaoxin_hrss_selfeval")
    assert not [f for f in fs if f.rule_id == "R-ACCOUNTS-PROJECT"]


@pytest.mark.parametrize("stem", ["000_shangjie_retiree_medical", "002_soe_reform_medical"])
def test_consistent_reports_have_no_errors(stem):
    doc, fs = checked(stem)
    assert [f for f in fs if f.severity in ("error", "warning")] == []


@pytest.mark.parametrize("stem", ["001_shangjie_pension_subsidy", "003_gaoxin_hrss_selfeval",
                                  "004_zhongyuan_medsec_accounts"])
def test_citations_point_at_real_lines(stem):
    doc, fs = checked(stem)
    lines = {(ln.page, ln.line_no): ln for ln in doc.iter_lines()}
    refs = [r for f in fs for r in f.refs]
    assert refs
    bad = [r for r in refs if not quote_is_valid(lines, r)]
    assert bad == []


@pytest.mark.parametrize("stem", ["003_gaoxin_hrss_selfeval", "004_zhongyuan_medsec_accounts"])
def test_renderings_give_the_same_findings(stem):
    def key(fs):
        return sorted((f.project, f.rule_id, f.severity, f.reported, f.recomputed) for f in fs)
    base = key(checked(stem)[1])
    for rendering in ("txt", "docx", "pdf"):
        assert key(checked(stem, rendering)[1]) == base, rendering


def test_run_checks_is_idempotent_on_a_real_document():
    doc = load_path(ROOT / "corpus/seeds/004_zhongyuan_medsec_accounts.txt", max_bytes=10**8)
    ex = extract_document(doc, None)
    assert run_checks(ex, doc) == run_checks(ex, doc) == run_checks(ex.model_copy(deep=True), doc)


# --------------------------------------------------------------------------------------------------------
# Issue 16: one project reported twice; the 部门整体 self-evaluation against the 部门决算


def _forms_checked(forms, kind):
    from formbuilder import RENDERERS
    from retrieval.loaders import load_bytes

    data, name = RENDERERS[kind](forms)
    doc = load_bytes(data, name, max_bytes=50_000_000)
    return run_checks(extract_document(doc), doc)


@pytest.mark.parametrize("kind", ["xlsx", "tsv", "docx"])
def test_project_reported_twice_with_two_totals(kind):
    from formbuilder import national

    twice = by_rule(_forms_checked([national(total=97), national(total=90)], kind), "R-PROJECT-DUP")
    assert [(f.project, f.severity) for f in twice] == [("城乡医疗救助", "warning")]
    assert "97" in twice[0].message_zh and "90" in twice[0].message_zh and "仅差" not in twice[0].message_zh
    assert twice[0].reported == "自评总分=97/90"
    assert any("97" in r.quote for r in twice[0].refs) and any("90" in r.quote for r in twice[0].refs)
    # a name that differs only by 的 is the same project, with the caveat that it may be two allocations
    loose = by_rule(_forms_checked([national(name="城乡医疗救助资金", total=97),
                                    national(name="城乡医疗救助的资金", total=90)], kind),
                    "R-PROJECT-DUP")
    assert len(loose) == 1 and "仅差" in loose[0].message_zh
    # the same figures twice, or two different projects: nothing to reconcile
    assert by_rule(_forms_checked([national(total=97), national(total=97)], kind), "R-PROJECT-DUP") == []
    assert by_rule(_forms_checked([national(total=97), national(name="临时救助资金", total=90)], kind),
                   "R-PROJECT-DUP") == []


@pytest.mark.parametrize("rendering", RENDER_IDS)
def test_must_catch_004_project_twice_and_department_execution_above_the_accounts(rendering):
    doc, fs = checked("004_zhongyuan_medsec_accounts", rendering)
    twice = [f for f in fs if f.rule_id == "R-PROJECT-DUP"]
    # …补助的资金 87.67 / …补助资金 83.67; the pairs with equal figures (…延续项目/…延续项目1, 彩票公益金 97.67) stay quiet
    assert [(f.project, f.reported) for f in twice] == [("提前下达2022年省级财政医疗救助补助的资金", "自评总分=87.67/83.67")]
    dept = [f for f in fs if f.rule_id == "R-ACCOUNTS-DEPT"]
    assert [(f.project, f.severity) for f in dept] == [("郑州市中原区医疗保障局", "warning")]
    f = dept[0]
    assert "4431.43" in f.message_zh and "5,549.66" in f.message_zh and "口径" in f.message_zh
    assert any("5,168.30" in r.quote for r in f.refs) and any("736.87" in r.quote for r in f.refs)


def test_department_execution_below_the_accounts_is_a_scope_note_and_equal_is_quiet():
    from retrieval.loaders import load_bytes

    text = (ROOT / "corpus/seeds/004_zhongyuan_medsec_accounts.txt").read_text(encoding="utf-8")
    assert text.count("预算执行金额5,168.30万元") == 1 and text.count("预算执行金额 5,168.30 万元") == 1

    def dept_findings(executed: str):
        t = text.replace("预算执行金额 5,168.30 万元", f"预算执行金额 {executed} 万元").replace(
            "预算执行金额5,168.30万元", f"预算执行金额{executed}万元")
        doc = load_bytes(t.encode("utf-8"), "004.txt", max_bytes=10**8)
        return by_rule(run_checks(extract_document(doc), doc), "R-ACCOUNTS-DEPT")

    below = dept_findings("700.00")
    assert [f.severity for f in below] == ["info"] and "口径" in below[0].message_zh
    assert dept_findings("736.87") == []


def test_no_accounts_no_department_accounts_check_and_003_has_no_project_twice():
    doc, fs = checked("003_gaoxin_hrss_selfeval")
    assert not [f for f in fs if f.rule_id in ("R-ACCOUNTS-DEPT", "R-PROJECT-DUP")]
