"""Template families used for tuning the reader (see SPLIT.md). Each is a plausible provincial or national
variant of the 项目支出绩效自评表 / 部门整体支出绩效自评表; between them they cover the variation real
templates show. The held-out families live in families_heldout.py and are never tuned on."""
from __future__ import annotations

from eval.forms.layout import FamilySpec

NATIONAL_FUNDS = (("initial_budget", "年初预算数"), ("adjusted_budget", "全年预算数"), ("executed", "全年执行数"),
                  ("exec_weight", "分值"), ("rate", "执行率"), ("exec_score", "得分"))

TUNING: dict[str, tuple[FamilySpec, dict]] = {
    # 财预〔2020〕10号 附件: the national 项目支出绩效自评表 as published
    "national": (FamilySpec("national"), dict(exec_weight=10, source_names=("当年财政拨款", "上年结转资金", "其他资金"))),
    # 预算数(A) / 执行数(B) / 执行率(B/A) with no 年初预算数, amounts in 元 from a 单位 line, the rate as a
    # fraction, execution weight 20, four fund sources, a 复核分 column, grade in the header block
    "provincial_ab": (FamilySpec(
        "provincial_ab", labels=("项目名称", "预算部门", "项目单位"), unit="元", unit_where="line",
        funds=(("adjusted_budget", "预算数(A)"), ("executed", "执行数(B)"), ("rate", "执行率(B/A)"),
               ("exec_weight", "权重"), ("exec_score", "自评分")),
        funds_block="", funds_label_span=1, total_label="合计", sources=("财政资金", "财政专户管理资金", "单位资金", "其他资金"),
        rate_style="fraction", exec_weight=20,
        indicators=(("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("target", "目标值"),
                    ("actual", "全年实际值"), ("weight", "权重"), ("score", "自评分"), ("note", "偏差原因")),
        extra_cols=(("review", "复核分"),), indicator_block="", total="row", total_row_label="合计", grade="header",
        goals=False, problems=True),
        dict(unit="元", exec_weight=20, source_names=("财政资金", "财政专户管理资金", "单位资金", "其他资金"),
             initial_differs=False)),
    # 年度指标值 split into 指标性质 / 指标值 / 度量单位 under a two-row header, points in the first-level
    # names, 自评总分 and 自评等级 in the header block (no total row), 分值 after 执行率
    "split_target": (FamilySpec(
        "split_target", year_row="", split_target=True, split_ops=("≥", "≤", "=", "≧", "﹦"), level1_points=True,
        funds=(("initial_budget", "年初预算数"), ("adjusted_budget", "全年预算数"), ("executed", "全年执行数"),
               ("rate", "执行率"), ("exec_weight", "分值"), ("exec_score", "得分")),
        total="header", grade="header", indicators=(
            ("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("target", "年度指标值"),
            ("actual", "实际完成值"), ("weight", "分值"), ("score", "得分"), ("note", "偏差原因分析及改进措施"))),
        dict(exec_weight=10, source_names=("本年财政拨款", "上年结转", "其他资金"))),
    # 指标性质 正向/反向 with a separate 指标方向 in words; 指标权重 / 指标得分; 得分系数(%) and 是否核心指标;
    # the rate as a plain number under 执行率（%）; execution weight 9; placeholder rows left from the template
    "direction": (FamilySpec(
        "direction", direction=True, rate_style="number", placeholders=True,
        indicators=(("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("target", "指标值"),
                    ("actual", "完成值"), ("weight", "指标权重"), ("score", "指标得分")),
        extra_cols=(("coefficient", "得分系数(%)"), ("core", "是否核心指标")), indicator_block="",
        funds=(("adjusted_budget", "调整后预算数"), ("executed", "预算执行数"), ("rate", "预算执行率"),
               ("exec_weight", "分值"), ("exec_score", "得分")),
        sources=("其中：财政拨款", "其他资金")),
        dict(exec_weight=9, source_names=("财政拨款", "其他资金"), initial_differs=False)),
    # three blocks (项目决策 / 项目管理 / 项目绩效) with points, no budget-execution line, 合计 row
    "three_block": (FamilySpec(
        "three_block", funds=None, goals=False, level1_points=True, total_row_label="合计",
        indicators=(("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("target", "指标值"),
                    ("actual", "实际完成值"), ("weight", "分值"), ("score", "得分"), ("note", "评分说明")),
        grade="after", grade_word_style="long",
        level1_names={"产出指标": "项目绩效", "效益指标": "项目绩效", "满意度指标": "项目管理", "成本指标": "项目决策"}),
        dict(exec_weight=None, categories={"产出指标": 40, "效益指标": 30, "满意度指标": 20, "成本指标": 10})),
    # 部门整体支出绩效自评表 with weights and scores
    "dept_scored": (FamilySpec(
        "dept_scored", title="部门整体支出绩效自评表", kind="department", labels=("部门（单位）名称", "", ""),
        funds=(("adjusted_budget", "预算数"), ("executed", "执行数"), ("exec_weight", "分值"), ("rate", "执行率"),
               ("exec_score", "得分")), funds_block="预算执行情况", total_label="年度资金总额",
        sources=("其中：基本支出", "项目支出"), goals=True),
        dict(kind="department", exec_weight=10, source_names=("基本支出", "项目支出"), initial_differs=False)),
    # 部门整体支出绩效自评表 with target and actual only: no weights, no scores, no total
    "dept_unscored": (FamilySpec(
        "dept_unscored", title="部门整体支出绩效自评表", kind="department", labels=("部门名称", "", ""),
        funds=(("adjusted_budget", "全年预算数"), ("executed", "全年执行数"), ("rate", "执行率")),
        funds_block="预算执行情况", sources=("一般公共预算", "政府性基金预算"), exec_weight=None,
        indicators=(("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("target", "年度指标值"),
                    ("actual", "实际完成值"), ("note", "偏差原因分析及改进措施")),
        total="none", grade="none", scored=False, unit_where="columns"),
        dict(kind="department", exec_weight=None, scored=False, source_names=("一般公共预算", "政府性基金预算"),
             initial_differs=False)),
    # funds by level of government (中央 / 省级 / 市县本级), 执行率 before 分值, 分值 before the target,
    # a narrative 自评报告 before the table, 实际完成值 named 全年完成值, amounts stored as text
    "tiered_narrative": (FamilySpec(
        "tiered_narrative", narrative=True, amounts_as_text=True, problems=True,
        funds=(("initial_budget", "年初预算数"), ("adjusted_budget", "调整预算数"), ("executed", "实际支出"),
               ("rate", "预算执行率"), ("exec_weight", "分值"), ("exec_score", "得分")),
        sources=("中央资金", "省级资金", "市县本级资金"),
        indicators=(("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("weight", "分值"),
                    ("target", "年度指标值"), ("actual", "全年完成值"), ("score", "得分"),
                    ("note", "偏差原因分析及改进措施")),
        grade_word_style="long"),
        dict(exec_weight=10, source_names=("中央资金", "省级资金", "市县本级资金"))),
}

__all__ = ["TUNING", "NATIONAL_FUNDS"]
