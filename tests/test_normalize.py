"""Normalization rules, each on strings as they occur in the seed reports (corpus/seeds)."""
from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.normalize import (
    cid_ratio,
    join_broken,
    normalize_cell,
    normalize_row,
    normalize_text,
    strip_markup,
    to_halfwidth,
)

SEEDS = Path(__file__).resolve().parent.parent / "corpus" / "seeds"


def seed_text(stem_prefix: str) -> str:
    return next(SEEDS.glob(f"{stem_prefix}*.txt")).read_text(encoding="utf-8")


@pytest.mark.parametrize("raw, expected", [
    pytest.param("产出指标（50）", "产出指标(50)", id="fullwidth-parens-003"),
    pytest.param("指标 １", "指标1", id="fullwidth-digit-003"),
    pytest.param("填报部门：", "填报部门:", id="fullwidth-colon-003"),
    pytest.param("（一）总体情况。", "(一)总体情况。", id="fullwidth-parens-around-cjk-003"),
    pytest.param("\u3000", "", id="ideographic-space-cell-003"),
])
def test_fullwidth_becomes_halfwidth(raw, expected):
    assert normalize_text(raw) == expected


def test_halfwidth_leaves_cjk_punctuation_alone():
    # 、。《》 carry meaning and have no half-width twin; only the FF01–FF5E block and U+3000 map
    assert to_halfwidth("组织人事、考核及《项目支出绩效评价管理办法》。") == "组织人事、考核及《项目支出绩效评价管理办法》。"


@pytest.mark.parametrize("raw, expected", [
    pytest.param("满 意 度 指 标", "满意度指标", id="spaced-out-cjk-004"),
    pytest.param("困 难 群 众 看 病 就 医 方 便 程 度", "困难群众看病就医方便程度", id="spaced-out-cjk-long-004"),
    pytest.param("区属 12 家破产企业的 302 名退", "区属12家破产企业的302名退", id="space-around-number-000"),
    pytest.param("目标 1: 办理支付", "目标1:办理支付", id="space-after-ascii-punct-004"),
    pytest.param("表 1-2-1 年度预算安排及使用情况统计表", "表1-2-1年度预算安排及使用情况统计表", id="table-caption-004"),
    pytest.param("填报人：刘芸蕾          联系电话：5776727", "填报人:刘芸蕾联系电话:5776727", id="padding-run-003"),
])
def test_whitespace_next_to_cjk_is_dropped(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    pytest.param("2 .84", "2.84", id="digit-space-dot-004"),
    pytest.param("1 0", "10", id="split-integer-004"),
    pytest.param("2 3.75", "23.75", id="split-decimal-004"),
    pytest.param("≤1082 2251 元", "≤10822251元", id="split-amount-with-op-004"),
    pytest.param("≤8000 0 元", "≤80000元", id="split-amount-tail-004"),
    pytest.param("=100 %", "=100%", id="space-before-percent-004"),
    pytest.param("≥130 人", "≥130人", id="number-then-unit-004"),
])
def test_split_digits_rejoined_in_cells(raw, expected):
    assert normalize_cell(raw) == expected


def test_split_digits_kept_apart_in_prose():
    # in running text two numbers side by side are two numbers; only a cell is one value
    assert normalize_text("1 0") == "1 0"
    assert normalize_text("2 .84") == "2 .84"


@pytest.mark.parametrize("pieces, expected", [
    pytest.param(["主管部门及代", "码"], "主管部门及代码", id="cjk-label-broken-000"),
    pytest.param(["全年执行", "数"], "全年执行数", id="cjk-header-broken-000"),
    pytest.param(["资金执行分", "值"], "资金执行分值", id="cjk-header-broken-2-000"),
    pytest.param(["支付。预计使用资金 691033 元，最终实际使用资金 691032.8", "元。"],
                 "支付。预计使用资金 691033 元，最终实际使用资金 691032.8元。", id="number-then-cjk-000"),
    pytest.param(["≤1082", "2251 元"], "≤1082 2251 元", id="ascii-both-sides-keeps-a-space-004"),
    pytest.param(["  ", "已按时对此笔资金进行支付", ""], "已按时对此笔资金进行支付", id="blank-pieces-skipped-000"),
])
def test_join_broken(pieces, expected):
    assert join_broken(pieces) == expected


def test_join_broken_then_normalize_restores_a_split_cell():
    # a narrow PDF column broke the 指标值 cell of 004 at its inner space
    assert normalize_cell(join_broken(["≤1082", "2251 元"])) == normalize_cell("≤1082 2251 元") == "≤10822251元"


@pytest.mark.parametrize("raw, expected", [
    pytest.param("## **第一部分 郑州市中原区医疗保障局概况**", "第一部分郑州市中原区医疗保障局概况", id="md-heading-bold-004"),
    pytest.param("# 目 录", "目录", id="md-heading-004"),
    pytest.param("<b>本年收入合计</b>", "本年收入合计", id="html-bold-cell-004"),
    pytest.param("<p>执行中，按照要求开展了绩效监控。</p>", "执行中,按照要求开展了绩效监控。", id="html-p-cell-004"),
    pytest.param("**2. 公务用车购置及运行费** 预算数为0万元", "2.公务用车购置及运行费预算数为0万元", id="inline-bold-004"),
])
def test_markup_removed(raw, expected):
    assert normalize_text(raw) == expected


def test_markup_hash_inside_text_is_kept():
    # only a leading `# ` is a heading marker
    assert strip_markup("公开01表 #1") == "公开01表 #1"


@pytest.mark.parametrize("cells, expected", [
    pytest.param(["", "24", "", "二十四、债务还本支出", "55", "0"], ["", "24", "", "二十四、债务还本支出", "55", "0"],
                 id="leading-and-inner-empties-kept-004"),
    pytest.param(["成本指标", "经济成本指标", "≤11400000.00元", "742.81元", "10", "10", ""],
                 ["成本指标", "经济成本指标", "≤11400000.00元", "742.81元", "10", "10"], id="trailing-empty-dropped-004"),
    pytest.param(["总分值", None, "100.00"], ["总分值", "100.00"], id="span-none-dropped"),
    pytest.param(["\u3000", "\u3000", ""], [], id="all-blank-003"),
])
def test_normalize_row(cells, expected):
    assert normalize_row(cells) == expected


def test_cid_ratio_separates_garbage_from_text():
    assert cid_ratio("(cid:768)(cid:769)(cid:770)") == 1.0
    assert cid_ratio(seed_text("000")) == 0.0
    assert 0.4 < cid_ratio("预算执行率(cid:12)(cid:13)") < 0.8


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_normalization_is_idempotent_on_every_seed_line(prefix):
    # loaders normalize what they extract; a second pass must not move anything, or quotes would drift
    for line in seed_text(prefix).splitlines():
        once = normalize_text(line)
        assert normalize_text(once) == once, line
        for cell in line.split("\t"):
            c = normalize_cell(cell)
            assert normalize_cell(c) == c, cell
