"""The 审核意见 as Markdown: the same sections, in the same order, as the DOCX (service.review.opinion)."""
from __future__ import annotations

from service.review.model import Review
from service.review.opinion import Opinion, build_opinion, item_heading, item_text, related_text

SCORE_HEADER = ("序号", "项目名称", "自评得分", "复核得分", "调整分值", "自评等级", "复核等级", "复核说明")
APPENDIX_HEADER = ("问题序号", "项目", "规则编号", "规则名称", "严重程度", "评分方案", "单元", "出处原文")


def _cell(text: str | None) -> str:
    return (text or "—").replace("|", "\\|").replace("\n", " ").replace("\t", " ")


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(_cell(str(c)) for c in row) + " |" for row in rows]
    return out


READINGS_HEADER = ("项目", "读取方", "字段", "规则读取", "模型读取")


def opinion_markdown(op: Opinion, *, appendix: bool = True) -> str:
    out = [f"# {op.title}", ""]
    if op.coverage_statement:
        out += [f"> **{op.coverage_statement}**", ""]
    out += [op.addressee, "", op.basis, "", "## 一、总体评价", ""]
    for para in op.overall:
        out += [para, ""]
    if op.summary:
        out += [op.summary, ""]
    out += ["## 二、存在的主要问题", ""]
    if op.no_problem_text:
        out += [op.no_problem_text, ""]
    for k, (cat, items) in enumerate(op.categories):
        out += [f"### {item_heading(k, cat, len(items))}", ""]
        for j, item in enumerate(items, 1):
            out.append(f"{j}. {item_text(item)}")
            for f in item.related:
                out.append(f"   - 相关问题：{related_text(f)}")
        out.append("")
    out += ["## 三、复核得分与等级调整表", ""]
    if op.score_rows:
        out += _table(SCORE_HEADER, [(k, r.project, r.reported, r.reviewed, r.change, r.reported_grade,
                                      r.reviewed_grade, r.basis) for k, r in enumerate(op.score_rows, 1)])
    else:
        out.append("未读取到项目自评得分，无调整。")
    out += ["", "## 四、整改要求与时限", ""]
    for k, text in enumerate(op.rectification, 1):
        out.append(f"{k}. {text}")
    out += ["", op.deadline, "", f"<p align=\"right\">{op.signature}<br>{op.date}</p>", ""]
    if appendix:
        out += ["---", "", "## 附表：审核依据明细（供审核人员使用，发文版不含）", ""]
        out += [f"- {t}" for t in op.appendix_intro] + [""]
        if op.appendix:
            out += _table(APPENDIX_HEADER, [(r.item, r.project, r.rule_id, r.rule_title, r.severity, r.variant,
                                             r.unit_id, r.source) for r in op.appendix])
        if op.readings:
            out += ["", "### 读取分歧（规则与模型读取不一致或由模型补读的值，须人工核对）", ""]
            out += _table(READINGS_HEADER, op.readings)
        if op.summary:
            out += ["", "总体评价中的概述段落由模型依据审核发现撰写，其中数字已逐一核对。"]
    return "\n".join(out).rstrip() + "\n"


def build_markdown(review: Review, *, appendix: bool = True) -> str:
    return opinion_markdown(build_opinion(review), appendix=appendix)
