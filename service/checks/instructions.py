"""Template instructions left in a form instead of an answer (R-TEMPLATE-TEXT).

A 年度绩效目标 or 实际完成情况 cell that still holds the template's filling instruction ("（填写本年度预期达到的
绩效目标）") is a reported value missing: the reviewer cannot judge the targets or their completion, so it is a
warning. The same hint in 存在问题 / 改进措施 is only info: a form whose execution and targets are fine has nothing
to explain there (where an explanation is owed, R-EXEC-EXPLAIN and R-DEVIATION already say so, citing the hint)."""
from __future__ import annotations

from service.checks.base import UnitContext, finding
from service.checks.text import template_instruction
from service.models import Finding

_FIELDS = (
    ("goals", "年度绩效目标", "annual performance goals", "warning"),
    ("goal_completion", "实际完成情况", "goal completion", "warning"),
    ("stated_problems", "存在问题", "problems found", "info"),
    ("stated_measures", "改进措施", "corrective measures", "info"),
)


def check_template_text(ctx: UnitContext) -> list[Finding]:
    out: list[Finding] = []
    u = ctx.unit
    for attr, zh, en, sev in _FIELDS:
        field = getattr(u, attr, None)
        if field is None or not template_instruction(field.text):
            continue
        text = field.text.strip()
        if sev == "warning":
            zh_msg = (f"“{zh}”栏仍为填表说明文字“{text}”，未据实填写；无法据以判断绩效目标的设定和完成情况，"
                      f"请删除说明文字并如实填写。")
        else:
            zh_msg = f"“{zh}”栏保留了填表说明文字“{text}”，未填写内容。"
        out.append(finding(
            ctx, "R-TEMPLATE-TEXT", sev, zh_msg,
            f"The {en} cell still holds the template's instruction “{text}” instead of an answer.",
            reported=text, recomputed="应据实填写", refs=[field]))
    return out


__all__ = ["check_template_text"]
