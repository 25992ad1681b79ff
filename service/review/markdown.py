"""Review draft as Markdown (Chinese first, English beside it)."""
from __future__ import annotations

from service.review.model import NO_FINDINGS_UNREAD, SEVERITIES, SEVERITY_EN, SEVERITY_ZH, FindingView, ProjectReview, Review


def _cell(text: str | None) -> str:
    return (text or "—").replace("|", "\\|").replace("\n", " ")


def _finding_md(k: int, f: FindingView) -> list[str]:
    out = [f"{k}. **{f.rule_id} {f.title_zh}** — {f.message_zh}",
           f"   *{f.message_en}*",
           f"   - 报告值 Reported: {f.reported or '—'}；复算值 Recomputed: {f.recomputed or '—'}；"
           f"评分方案 Variant: `{f.variant or '—'}`"]
    for c in f.citations:
        out.append(f"   - 出处 Source: {c.text_zh()}")
    return out


def _findings_block(findings: list[FindingView], level: str = "###", unread: bool = False) -> list[str]:
    out: list[str] = []
    if not findings:
        return [NO_FINDINGS_UNREAD if unread else "未发现问题。No findings."]
    for sev in SEVERITIES:
        fs = [f for f in findings if f.severity == sev]
        if not fs:
            continue
        out.append(f"{level} {SEVERITY_ZH[sev]} {SEVERITY_EN[sev]} ({len(fs)})")
        out.append("")
        for k, f in enumerate(fs, 1):
            out += _finding_md(k, f)
        out.append("")
    return out


def _project_md(p: ProjectReview, unread: bool = False) -> list[str]:
    out = [f"## 项目：{p.project}", "",
           f"- 评分方案 Scoring scheme: `{p.variant}` — {p.evidence}",
           f"- 单元 Unit: `{p.unit_id}`", "",
           "### 资金与得分 Funds and scores", "",
           "| 项目 Item | 报告值 Reported | 复算值 Recomputed |", "| --- | --- | --- |"]
    for r in p.figures:
        mark = " ⚠" if r.differs else ""
        out.append(f"| {r.label_zh} {r.label_en} | {_cell(r.reported)} | {_cell(r.recomputed)}{mark} |")
    out += [""]
    if p.disagreements:
        out += [f"### 读取分歧 Where the readers differ ({p.read_by})", "",
                "| 字段 Field | 规则读取 Rules | 模型读取 Model |", "| --- | --- | --- |"]
        out += [f"| {_cell(f)} | {_cell(a)} | {_cell(b)} |" for f, a, b in p.disagreements]
        out += [""]
    out += ["### 审核发现 Findings", ""]
    out += _findings_block(p.findings, "####", unread)
    out += ["### 报告自述的问题与措施 The report's own problems and measures", ""]
    out.append(f"- 存在问题 Stated problems: {p.stated_problems or '（未填写 none stated）'}")
    if p.problems_citation:
        out.append(f"  - 出处 Source: {p.problems_citation.text_zh()}")
    out.append(f"- 改进措施 Stated measures: {p.stated_measures or '（未填写 none stated）'}")
    if p.measures_citation:
        out.append(f"  - 出处 Source: {p.measures_citation.text_zh()}")
    out.append("")
    return out


def build_markdown(review: Review) -> str:
    c = review.counts()
    out = [f"# 审核意见（草稿） Review draft — {review.document}", "",
           f"- 文件 Document: {review.document} (`{review.doc_id[:12]}`)",
           f"- 项目数 Projects: {len(review.projects)}；错误 errors {c['error']}，警告 warnings {c['warning']}，"
           f"提示 info {c['info']}",
           f"- 依据 Basis: jixiao 规则库 {review.rules_applied} 条规则的确定性复算（见 docs/RULEBOOK.md）；"
           f"本草稿需人工复核。Deterministic recomputation by {review.rules_applied} rules; a reviewer must confirm.",
           ""]
    statement = review.coverage_statement()
    if statement:
        out[1:1] = ["", f"> **{statement}**", f"> *This document was not (fully) read: the draft cannot vouch "
                                                 f"for the unread tables; check them by hand.*"]
    if review.summary:
        out += ["## 审核意见摘要 Summary", "", review.summary, "",
                f"*（由模型 {review.summary_model or '?'} 依据上列发现撰写，数字已逐一核对 — written by a model from "
                f"the findings; every number checked）*", ""]
    if review.projects:
        out += ["## 概览 Overview", "",
                "| 项目 Project | 方案 Scheme | 总分 报告/复算 Total | 错误 | 警告 | 提示 |",
                "| --- | --- | --- | --- | --- | --- |"]
        for p in review.projects:
            tot = next((r for r in p.figures if r.label_en == "Total"), None)
            pc = p.counts()
            out.append(f"| {_cell(p.project)} | `{p.variant}` | {_cell(tot.reported if tot else None)} / "
                       f"{_cell(tot.recomputed if tot else None)} | {pc['error']} | {pc['warning']} | {pc['info']} |")
        out.append("")
    for p in review.projects:
        out += _project_md(p, review.unread)
    if review.unread and not review.projects and not review.other_findings:
        out += [NO_FINDINGS_UNREAD, ""]
    if review.other_findings:
        out += ["## 汇总表与部门层面 Summary tables and department level", ""]
        out += _findings_block(review.other_findings, "###")
    return "\n".join(out).rstrip() + "\n"
