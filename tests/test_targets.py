"""指标值 / 实际完成值 parsing: the wordings of the seeds after normalization, one named case each."""
from __future__ import annotations

from decimal import Decimal

import pytest

from service.extraction.targets import (
    doubled_tail,
    exact_decimal,
    figure,
    parse_decimal,
    parse_target,
    targets_equivalent,
    value_at_end,
)

D = Decimal

TARGETS = [
    # operators as symbols
    pytest.param("≥302人", ">=", D("302"), None, "人", id="000-ge-persons"),
    pytest.param("≤10822251元", "<=", D("10822251"), None, "元", id="004-le-yuan-rejoined-digits"),
    pytest.param("≤11400000.00元", "<=", D("11400000.00"), None, "元", id="004-le-yuan-decimals"),
    pytest.param("=231000.00元", "=", D("231000.00"), None, "元", id="004-eq-yuan"),
    pytest.param("=3689元", "=", D("3689"), None, "元", id="004-eq-salary"),
    pytest.param(">600人次", ">", D("600"), None, "人次", id="004-gt-person-times"),
    pytest.param("<=10", "<=", D("10"), None, None, id="003-ascii-le-bare"),
    pytest.param(">=20人次", ">=", D("20"), None, "人次", id="003-ascii-ge"),
    pytest.param(">=600元/人/月", ">=", D("600"), None, "元/人/月", id="003-per-person-per-month"),
    pytest.param("≥30元/人", ">=", D("30"), None, "元/人", id="004-per-person"),
    pytest.param("≥1.1万人", ">=", D("1.1"), None, "万人", id="001-ten-thousand-persons"),
    pytest.param("≥95%", ">=", D("95"), None, "%", id="percent-ge"),
    pytest.param("≤4%", "<=", D("4"), None, "%", id="003-unemployment-le"),
    pytest.param("≥3次/月/家", ">=", D("3"), None, "次/月/家", id="003-actual-times-per-month-per-firm"),
    pytest.param("≥2人/家", ">=", D("2"), None, "人/家", id="003-actual-persons-per-firm"),
    # bare numbers (broken forms after normalization)
    pytest.param("2.84", "none", D("2.84"), None, None, id="004-split-decimal-rejoined"),
    pytest.param("10", "none", D("10"), None, None, id="split-integer-rejoined"),
    pytest.param("100.00", "none", D("100.00"), None, None, id="003-bare-hundred"),
    pytest.param("100%", "none", D("100"), None, "%", id="bare-percent"),
    pytest.param("93.76%", "none", D("93.76"), None, "%", id="001-rate"),
    pytest.param("0.0%", "none", D("0.0"), None, "%", id="004-zero-rate"),
    pytest.param("1500元/学期", "none", D("1500"), None, "元/学期", id="003-per-term"),
    pytest.param("2000册", "none", D("2000"), None, "册", id="003-volumes"),
    pytest.param("300人次", "none", D("300"), None, "人次", id="003-person-times"),
    pytest.param("117", "none", D("117"), None, None, id="003-cases"),
    pytest.param("23人次", "none", D("23"), None, "人次", id="003-actual-person-times"),
    pytest.param("1650元", "none", D("1650"), None, "元", id="003-yuan"),
    pytest.param("742.81元", "none", D("742.81"), None, "元", id="004-magnitude-slip-as-printed"),
    # operators as words and suffixes
    pytest.param("约发放人数1.11万人", "none", D("1.11"), None, "万人", id="001-actual-with-words"),
    pytest.param("每月至少3次,并提前报备。", ">=", D("3"), None, "次/月", id="003-at-least-monthly"),
    pytest.param("入孵企业能够切实享受政策支持达到80%以上", ">=", D("80"), None, "%", id="003-reach-80-percent-above"),
    pytest.param("各基地考核85分以上", ">=", D("85"), None, "分", id="003-85-points-above"),
    pytest.param("企业满意度达90%以上", ">=", D("90"), None, "%", id="003-satisfaction-above"),
    pytest.param("基地管理办法执行率≥90%", ">=", D("90"), None, "%", id="003-text-then-operator"),
    pytest.param("各孵化企业带动就业≥2人", ">=", D("2"), None, "人", id="003-text-then-ge-persons"),
    pytest.param("大于或等于100万元", ">=", D("100"), None, "万元", id="002-words-ge-wan-yuan"),
    pytest.param("不低于70%", ">=", D("70"), None, "%", id="not-lower-than"),
    pytest.param("不超过5%", "<=", D("5"), None, "%", id="not-more-than"),
    pytest.param("5%以内", "<=", D("5"), None, "%", id="within"),
    pytest.param("60%以下", "<=", D("60"), None, "%", id="below-suffix"),
    pytest.param("专岗:600元/人/月公益岗:1650元/人/月", "none", D("600"), None, "元/人/月", id="003-two-standards-first"),
    # ranges
    pytest.param("80%-90%", "range", D("80"), D("90"), "%", id="range-percent"),
    pytest.param("10~20人", "range", D("10"), D("20"), "人", id="range-persons"),
    # thousands separators
    pytest.param("6,453.42万元", "none", D("6453.42"), None, "万元", id="004-thousands-separator"),
]


@pytest.mark.parametrize("raw,op,value,high,unit", TARGETS)
def test_parse_target_numeric(raw, op, value, high, unit):
    t = parse_target(raw)
    assert (t.op, t.value, t.value_high, t.unit) == (op, value, high, unit)
    assert t.raw == raw


QUALITATIVE = [
    pytest.param("有效保障", id="000-effective"),
    pytest.param("显著", id="000-significant"),
    pytest.param("合理", id="000-reasonable"),
    pytest.param("是", id="003-yes"),
    pytest.param("否", id="003-no"),
    pytest.param("无", id="003-none"),
    pytest.param("完成", id="003-done"),
    pytest.param("是否完成", id="003-whether-done"),
    pytest.param("准确", id="004-accurate"),
    pytest.param("及时", id="004-timely"),
    pytest.param("提升", id="004-improve"),
    pytest.param("进一步完善", id="004-further-perfect"),
    pytest.param("困难人群医疗救助全覆盖", id="004-full-coverage"),
    pytest.param("每半年一次", id="003-chinese-numeral-is-words"),
    pytest.param("参照当地最低工资标准执行", id="003-reference-standard"),
    pytest.param("是否符合要求", id="003-whether-meets"),
]


@pytest.mark.parametrize("raw", QUALITATIVE)
def test_parse_target_qualitative(raw):
    t = parse_target(raw)
    assert t.op == "qualitative" and t.value is None and t.qualitative == raw


@pytest.mark.parametrize(
    "raw,op,rest",
    [
        pytest.param("≥", ">=", None, id="003-operator-without-number"),
        pytest.param("不低于上年", ">=", "上年", id="004-not-below-last-year"),
        pytest.param("原则上不超过社会保险费实际缴费额的2/3", "<=", "原则上社会保险费实际缴费额的2/3", id="003-share-not-quantity"),
    ],
)
def test_operator_without_a_quantity(raw, op, rest):
    t = parse_target(raw)
    assert t.op == op and t.value is None and t.qualitative == rest


def test_empty_target():
    assert parse_target("").op == "none" and parse_target(None).raw == ""


@pytest.mark.parametrize(
    "a,b,same",
    [
        pytest.param("≥302人", "≥ 302 人", True, id="spacing"),
        pytest.param("100%", "100.00%", True, id="decimal-equality"),
        pytest.param("=100%", "100%", True, id="eq-vs-bare"),
        pytest.param("≥95%", "≤95%", False, id="different-operator"),
        pytest.param("30元/人", "30%", False, id="different-unit"),
        pytest.param("有效保障", "有效保障", True, id="same-words"),
        pytest.param("有效保障", "有效", False, id="different-words"),
    ],
)
def test_targets_equivalent(a, b, same):
    assert targets_equivalent(parse_target(a), parse_target(b)) is same


@pytest.mark.parametrize(
    "text,value",
    [
        pytest.param("6,453.42", D("6453.42"), id="thousands"),
        pytest.param("执行率为70.51%", D("70.51"), id="in-words"),
        pytest.param("无", None, id="no-number"),
    ],
)
def test_parse_decimal(text, value):
    assert parse_decimal(text) == value


def test_exact_decimal_only_whole_numbers():
    assert exact_decimal("93.76%") == D("93.76")
    assert exact_decimal("优") is None and exact_decimal("12.5分") is None


def test_figure_keeps_raw_and_unit():
    f = figure("909.50", default_unit="万元")
    assert (f.raw, f.value, f.unit) == ("909.50", D("909.50"), "万元")
    assert figure("  ") is None
    assert figure("1500元/学期").unit == "元/学期"


@pytest.mark.parametrize(
    "text,tail",
    [
        pytest.param("享受补助人数≥302人302人", "302人", id="000-number-after-number"),
        pytest.param("预算执行率100% 93.76%", "93.76%", id="001-two-rates"),
        pytest.param("预算编制合理性合理合理", "合理", id="000-word-twice"),
        pytest.param("保障群众基本生活有效保障", "有效保障", id="001-longest-word"),
        pytest.param("维护社会稳定", None, id="name-only"),
    ],
)
def test_value_at_end(text, tail):
    i = value_at_end(text)
    assert (text[i:] if i is not None else None) == tail


def test_doubled_tail():
    assert doubled_tail("资金使用规范性合规合规") == len("资金使用规范性合规")
    assert doubled_tail("维护社会稳定") is None
