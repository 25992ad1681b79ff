"""Domain models (pydantic v2). Money and scores are Decimal; every figure keeps its raw text and source.

These are the contract between extraction (rules or LLM), checks, storage, Q&A and review drafts.
"""
from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel as _PydanticModel
from pydantic import ConfigDict, Field

# Every pydantic instance keeps its own set of the fields it was given: measured at 10,000 stored projects,
# those sets were 40 of a record's 73 KB in memory (912 MB for the store's records). Instances given the same
# fields share one set. Nothing here reads which fields were set (no exclude_unset); an assignment adding a
# name to a shared set is harmless for the same reason.
_FIELDS_SETS: dict[frozenset, set] = {}


class BaseModel(_PydanticModel):
    def model_post_init(self, context: Any, /) -> None:
        fs = self.__pydantic_fields_set__
        key = frozenset(fs)
        shared = _FIELDS_SETS.get(key)
        if shared is None:
            shared = _FIELDS_SETS.setdefault(key, fs)
        object.__setattr__(self, "__pydantic_fields_set__", shared)

Severity = Literal["error", "warning", "info"]
UnitKind = Literal["project", "summary", "department", "accounts", "framework", "other"]
Op = Literal[">=", "<=", "=", ">", "<", "range", "qualitative", "none"]


class SourceRef(BaseModel):
    """Where a value came from: the quote is exact normalized text found on those lines."""

    model_config = ConfigDict(frozen=True)
    doc_id: str
    page: int
    line_start: int
    line_end: int
    quote: str

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        # one string per document for the thousands of refs that name it
        object.__setattr__(self, "doc_id", sys.intern(self.doc_id))


class Figure(BaseModel):
    raw: str
    value: Decimal | None = None
    unit: str | None = None
    ref: SourceRef | None = None


class TextField(BaseModel):
    text: str
    ref: SourceRef | None = None


class Target(BaseModel):
    """A parsed 指标值 or 实际完成值: `≥302人`, `≤48000000元`, `100%`, `有效保障`, `每月至少3次`."""

    raw: str
    op: Op = "none"
    value: Decimal | None = None
    value_high: Decimal | None = None  # upper bound of a range
    unit: str | None = None
    qualitative: str | None = None  # the word(s) when not numeric: 有效保障, 显著, 是, 完成


class Indicator(BaseModel):
    level1: str | None = None  # 一级指标 (产出指标, 效益指标, 满意度指标, 成本指标 …)
    level2: str | None = None  # 二级指标 (数量指标 …)
    level3: str  # 三级指标 name
    target: Target | None = None
    actual: Target | None = None
    weight: Decimal | None = None  # 分值
    score: Decimal | None = None  # 得分
    # the 得分 cell as printed when it is not a plain number (a grade 优, a percentage 100%): such a column cannot
    # be summed into a total, and the review must say so instead of recomputing one
    score_text: str | None = None
    deviation_note: str | None = None  # 偏差原因分析
    ref: SourceRef | None = None


class FundsSource(BaseModel):
    name: str  # 本年财政拨款 / 政府预算资金 / 其他资金 …
    initial_budget: Figure | None = None
    adjusted_budget: Figure | None = None
    available: Figure | None = None
    executed: Figure | None = None
    reported_rate: Figure | None = None


class Funds(BaseModel):
    unit: str = "万元"
    initial_budget: Figure | None = None  # 年初预算数
    adjusted_budget: Figure | None = None  # 全年预算数 / 调整后预算数
    available: Figure | None = None  # 到位数
    executed: Figure | None = None  # 全年执行数
    reported_rate: Figure | None = None  # 执行率 as reported (value in percent, e.g. 93.76)
    exec_weight: Figure | None = None  # 资金执行分值
    exec_score: Figure | None = None  # 资金执行得分
    sources: list[FundsSource] = Field(default_factory=list)


ClaimKind = Literal[
    "executed_amount", "budget_amount", "total_score", "grade", "execution_rate", "other_amount"
]


class NarrativeClaim(BaseModel):
    """A number or grade stated in prose, to compare with the table."""

    kind: ClaimKind
    value: Decimal | None = None
    text: str | None = None  # grade word, or the raw phrase
    unit: str | None = None
    ref: SourceRef | None = None


class ExtractionStamp(BaseModel):
    backend: Literal["rules", "llm", "merged"] = "rules"
    layout: str | None = None
    prompt_id: str | None = None
    prompt_version: str | None = None
    model: str | None = None
    settings_hash: str | None = None
    disagreements: list[dict] = Field(default_factory=list)  # LLM vs rules, kept for the checks
    fallback_reason: str | None = None  # why the LLM path gave back the rules record (backend "rules")
    dropped: list[dict] = Field(default_factory=list)  # LLM readings dropped: quote not found in the text


class ProjectEvaluation(BaseModel):
    unit_id: str
    doc_id: str
    project: str
    aliases: list[str] = Field(default_factory=list)  # other spellings of the name in the same document
    department: str | None = None
    implementer: str | None = None
    year: int | None = None
    funds: Funds = Field(default_factory=Funds)
    indicators: list[Indicator] = Field(default_factory=list)
    category_weights: dict[str, Decimal] = Field(default_factory=dict)  # 产出指标 → 50 (from headers)
    reported_total: Figure | None = None
    reported_grade: TextField | None = None
    goals: TextField | None = None
    goal_completion: TextField | None = None
    stated_problems: TextField | None = None
    stated_measures: TextField | None = None
    narrative_claims: list[NarrativeClaim] = Field(default_factory=list)
    ref: SourceRef | None = None  # the unit's span (first line of the unit to last)
    stamp: ExtractionStamp = Field(default_factory=ExtractionStamp)


class SummaryRow(BaseModel):
    """One row of a 项目自评汇总表 (or a sub-project line listed in a section summary)."""

    project: str
    budget: Figure | None = None
    executed: Figure | None = None
    rate: Figure | None = None
    score: Figure | None = None
    grade: str | None = None
    category_rates: dict[str, Decimal] = Field(default_factory=dict)
    group: str | None = None  # e.g. 可执行项目 / 待分项目
    linked_project: str | None = None  # the ProjectEvaluation.project this row lists, when unambiguous
    ref: SourceRef | None = None


class SummaryTable(BaseModel):
    unit_id: str
    doc_id: str
    title: str
    rows: list[SummaryRow] = Field(default_factory=list)
    ref: SourceRef | None = None


class StatedCount(BaseModel):
    """A count or bucket stated in prose: "自评结果13个为优", "预算执行率低于60%项目7个"."""

    label: str
    value: Decimal
    ref: SourceRef | None = None


class DepartmentEvaluation(BaseModel):
    unit_id: str
    doc_id: str
    department: str | None = None
    year: int | None = None
    reported_total: Figure | None = None
    reported_grade: TextField | None = None
    score_rows: list[Indicator] = Field(default_factory=list)  # 总体得分情况表: weight/score per block
    stated_counts: list[StatedCount] = Field(default_factory=list)
    stated_amounts: list[NarrativeClaim] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)  # the projects these statements are about, when known
    # a 部门整体支出绩效自评表 read as a form: its funds block and its indicator rows (targets, actuals and,
    # where the form has them, weights and scores)
    funds: Funds | None = None
    indicators: list[Indicator] = Field(default_factory=list)
    goals: TextField | None = None  # 年度总体目标 / 实际完成情况, as on a project form
    goal_completion: TextField | None = None
    ref: SourceRef | None = None
    stamp: ExtractionStamp = Field(default_factory=ExtractionStamp)


class ReportUnit(BaseModel):
    """A segment of a document: one project evaluation, a summary table, a department-level evaluation,
    a 部门决算 block, framework text. A unit never straddles two projects."""

    unit_id: str
    doc_id: str
    kind: UnitKind
    title: str
    project: str | None = None
    page_start: int
    line_start: int
    page_end: int
    line_end: int


class Finding(BaseModel):
    rule_id: str
    severity: Severity
    unit_id: str
    doc_id: str
    project: str | None = None
    message_zh: str
    message_en: str
    reported: str | None = None  # as the report states it
    recomputed: str | None = None  # what the arithmetic gives
    variant: str | None = None  # the scoring scheme / formula variant assumed
    refs: list[SourceRef] = Field(default_factory=list)


CoverageStatus = Literal["read", "partial", "unrecognised", "not_applicable"]


class Coverage(BaseModel):
    """How much of a document the reader understood. A document that looks like a self-evaluation but was not
    (fully) read must never pass for a clean one: every surface (CLI, API, web page, review, answers) shows
    this verdict beside the findings.

    status: read — every form the document holds was read with its required fields;
            partial — forms were read, but some required fields, rows or forms were not;
            unrecognised — the vocabulary says self-evaluation / accounts, yet nothing could be read;
            not_applicable — no self-evaluation or accounts vocabulary (a policy text, a letter)."""

    status: CoverageStatus
    reason_zh: str = ""
    reason_en: str = ""
    forms: list[str] = Field(default_factory=list)  # what was recognised: "项目支出绩效自评表 ×3", "部门决算" …
    projects: int = 0
    departments: int = 0
    indicator_rows: int = 0
    missing: list[str] = Field(default_factory=list)  # "项目名: 全年执行数" — required fields not found
    vocabulary: list[str] = Field(default_factory=list)  # self-evaluation terms the text holds (the evidence)

    @property
    def unread(self) -> bool:
        """True when a reviewer must not rely on the findings alone."""
        return self.status in ("partial", "unrecognised")


class LLMUsage(BaseModel):
    """What the model backends cost for one document: calls, characters sent and received (the
    tokenizer-free measure every endpoint can be compared on), the token counts the endpoint reported, and
    what the verification kept, dropped and filled."""

    backend: str
    prompt_id: str | None = None
    prompt_version: str | None = None
    units: int = 0  # units read with the form prompt
    calls: int = 0  # form-prompt calls (chunks), retries not counted
    narrative_calls: int = 0  # narrative-chain calls (auto backend, rule-read projects)
    attempts: int = 0  # every request sent, retries included
    failed_calls: int = 0
    chars_sent: int = 0  # characters of message content sent, every attempt
    chars_received: int = 0
    # json_schema and function_calling send the output schema beside the messages (response_format / tools),
    # json_mode inside the system message (already in chars_sent): this counts the former, every attempt
    schema_chars_sent: int = 0
    prompt_tokens: int | None = None  # as the endpoint reported (None when it reported nothing)
    completion_tokens: int | None = None
    records: int = 0  # records the model's reading produced
    kept_values: int = 0  # cited values found in the text
    dropped_values: int = 0  # cited values not found (or not parseable) and dropped
    filled_fields: int = 0  # fields the rules left empty that a verified reading filled (auto)
    disagreements: int = 0
    failures: list[str] = Field(default_factory=list)  # per unit part: why a call gave no reading
    seconds: float = 0.0

    def add_attempts(self, attempts: list[dict]) -> None:
        for a in attempts:
            self.attempts += 1
            self.chars_sent += int(a.get("chars_sent") or 0)
            self.chars_received += int(a.get("chars_received") or 0)
            for name in ("prompt_tokens", "completion_tokens"):
                if a.get(name) is not None:
                    setattr(self, name, (getattr(self, name) or 0) + int(a[name]))


class DocumentExtraction(BaseModel):
    """Everything extracted from one document."""

    doc_id: str
    units: list[ReportUnit] = Field(default_factory=list)
    projects: list[ProjectEvaluation] = Field(default_factory=list)
    summaries: list[SummaryTable] = Field(default_factory=list)
    departments: list[DepartmentEvaluation] = Field(default_factory=list)
    coverage: Coverage | None = None
    llm_usage: LLMUsage | None = None  # set when a model backend ran
