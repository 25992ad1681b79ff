"""Held-out template families: written before the reader was tuned on generated forms, scored apart, never
tuned on (see SPLIT.md). They combine variation the tuning families do not show in the same way."""
from __future__ import annotations

from eval.forms.layout import FamilySpec

HELDOUT: dict[str, tuple[FamilySpec, dict]] = {
    # a 预算执行情况 group header over its value columns (two header rows), amounts in 元 named in each column
    # header, 指标名称 instead of 三级指标, 目标值 / 完成值 / 指标权重 / 自评得分, points in the first-level names,
    # the grade in words (良好) in the total row, template placeholders left in the indicator table
    "grouped_funds": (FamilySpec(
        "grouped_funds", unit="元", unit_where="columns", funds_group_header="预算执行情况",
        funds=(("initial_budget", "年初预算数"), ("adjusted_budget", "调整后预算数"), ("executed", "全年执行数"),
               ("rate", "执行率"), ("exec_weight", "权重"), ("exec_score", "得分")),
        funds_block="", funds_label_span=1, total_label="资金总额", sources=("财政拨款", "其他资金"),
        indicators=(("level1", "一级指标"), ("level2", "二级指标"), ("level3", "指标名称"), ("target", "目标值"),
                    ("actual", "完成值"), ("weight", "指标权重"), ("score", "自评得分"), ("note", "未完成原因分析")),
        level1_points=True, placeholders=True, grade_word_style="long", total_row_label="总计", goals=False),
        dict(unit="元", exec_weight=10, source_names=("财政拨款", "其他资金"))),
    # one-row project header, an execution weight of 20 scored as 执行率 × 权重, 计划值 / 实际值 / 分值 / 评分,
    # 综合得分 as the total row, the grade on its own row after the table, a 存在问题 row
    "compact_county": (FamilySpec(
        "compact_county", kv_compact=True, labels=("项目名称", "主管单位", "实施单位"), unit_where="line",
        funds=(("adjusted_budget", "全年预算数"), ("executed", "全年执行数"), ("rate", "执行率"),
               ("exec_weight", "分值"), ("exec_score", "得分（执行率×分值）")),
        funds_block="", funds_label_span=1, total_label="合计", sources=("财政资金", "自筹资金"),
        indicators=(("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("target", "计划值"),
                    ("actual", "实际值"), ("weight", "分值"), ("score", "评分"), ("note", "偏差说明")),
        total_row_label="综合得分", grade="after", problems=True, rate_style="xlsx_pct", indicator_block="",
        goals=False),
        dict(exec_weight=20, source_names=("财政资金", "自筹资金"), initial_differs=False)),
}

__all__ = ["HELDOUT"]
