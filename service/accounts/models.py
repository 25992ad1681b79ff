"""Models of a parsed 部门决算 (departmental final accounts): the public tables 公开01–09, the statements
made in 第三部分 情况说明, the department-level performance statements, and the results of checking them.

Everything is pydantic v2 and JSON-serializable; money is Decimal in 万元 (the unit the tables state).
Every parsed value keeps the SourceRef of the line it was read from.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from service.models import Severity, SourceRef

CheckStatus = Literal["pass", "within_rounding", "fail"]
Side = Literal["income", "expense"]
CodeLevel = Literal["类", "款", "项"]


class AccountsColumn(BaseModel):
    """One value column of a table. `key` is unique in its table and the same in every rendering:
    the header path joined by '/', prefixed by the half for the two-sided summary tables 01/04
    (e.g. `本年支出/基本支出`, `支出/一般公共预算财政拨款`, `决算数/公务用车购置及运行维护费/小计`)."""

    key: str
    label: str  # the lowest header text (基本支出, 小计, 决算数 …)
    path: list[str] = Field(default_factory=list)
    index: int  # cell index in the row
    lanci: str | None = None  # 栏次 as printed (1, 2, …)
    side: Side | None = None
    group: int | None = None  # 公开06: which of the three side-by-side code/name/amount groups


class AccountsValue(BaseModel):
    raw: str
    value: Decimal | None = None
    ref: SourceRef | None = None


class AccountsRow(BaseModel):
    name: str  # without list numbering (一、 二十三、)
    raw_name: str
    code: str | None = None  # 功能分类 (3/5/7 digits) or 经济分类 (3/5 digits) code
    level: CodeLevel | None = None  # 类 3 digits, 款 5, 项 7
    side: Side | None = None  # 01/04: 收入 half or 支出 half
    group: int | None = None  # 06: column group 0, 1, 2
    line_no: str | None = None  # 行次
    is_total: bool = False  # 合计 / 总计 / 本年收入合计 / 人员经费合计 …
    values: dict[str, AccountsValue] = Field(default_factory=dict)  # column key -> value
    ref: SourceRef

    def get(self, key_or_label: str) -> Decimal | None:
        """Value by column key, or by the last part of the key (a leaf label such as 基本支出)."""
        if key_or_label in self.values:
            return self.values[key_or_label].value
        for key, val in self.values.items():
            if key.split("/")[-1] == key_or_label or key.endswith("/" + key_or_label):
                return val.value
        return None

    def value_obj(self, key_or_label: str) -> AccountsValue | None:
        if key_or_label in self.values:
            return self.values[key_or_label]
        for key, val in self.values.items():
            if key.split("/")[-1] == key_or_label or key.endswith("/" + key_or_label):
                return val
        return None


class AccountsTable(BaseModel):
    table_id: str  # "01" … "09" (公开NN表)
    title: str
    kind: Literal["summary", "functional", "economic", "sangong", "other"]
    unit: str = "万元"
    columns: list[AccountsColumn] = Field(default_factory=list)
    rows: list[AccountsRow] = Field(default_factory=list)
    pages: list[int] = Field(default_factory=list)
    ref: SourceRef | None = None  # the 公开NN表 marker line

    def find(self, name: str | None = None, *, code: str | None = None, side: Side | None = None,
             group: int | None = None) -> AccountsRow | None:
        for row in self.rows:
            if code is not None and row.code != code:
                continue
            if name is not None and row.name != name:
                continue
            if side is not None and row.side != side:
                continue
            if group is not None and row.group != group:
                continue
            return row
        return None

    def total_row(self) -> AccountsRow | None:
        return self.find("合计")


NarrativeKind = Literal["amount", "share", "yoy_amount", "yoy_rate", "completion", "initial_budget"]


class NarrativeItem(BaseModel):
    """A number stated in 第三部分 情况说明, with what it refers to as far as the text says."""

    section: str  # 一 … 十三 (the heading's number)
    section_title: str
    subsection: str | None = None  # (一) 总体情况 …
    kind: NarrativeKind
    label: str  # the words before the number (收、支总计, 基本支出, 社会保障和就业(类)支出 …)
    subject: str | None = None  # 05 具体情况 items: "类/款/项" names
    raw: str  # the number as printed
    value: Decimal
    unit: Literal["万元", "%"]
    direction: Literal["increase", "decrease"] | None = None  # yoy_amount / yoy_rate
    base_label: str | None = None  # share: the words between 占 and the number (本年支出合计的)
    numerator_label: str | None = None  # share / completion / yoy: the amount it refers to
    numerator_index: int | None = None  # index of that amount in AccountsExtraction.narrative
    base_index: int | None = None
    sentence: int = 0  # ordinal of the sentence it was read from (items of one sentence share it)
    ref: SourceRef


class SummaryProjectRow(BaseModel):
    """A row of the 项目自评汇总表 as this module reads it (independent of service.extraction)."""

    seq: str | None = None
    project: str
    group: str | None = None  # 可执行项目 / 待分项目
    budget: AccountsValue | None = None  # 全年预算数
    executed: AccountsValue | None = None  # 全年执行数
    rate: AccountsValue | None = None  # 预算执行率 (percent)
    score: AccountsValue | None = None  # 自评得分
    ref: SourceRef


class ScoreRow(BaseModel):
    """A row of the 部门整体绩效自评 总体得分情况表."""

    name: str
    weight: AccountsValue | None = None
    score: AccountsValue | None = None
    rate: AccountsValue | None = None
    is_total: bool = False
    ref: SourceRef


class DeptStatement(BaseModel):
    """A department-level number stated in prose: the total self-evaluation score, counts of projects by
    grade and by execution bucket, the average score, project-expenditure totals, department fund rates."""

    kind: Literal[
        "dept_total", "dept_grade", "project_count", "group_count", "grade_count", "average_score",
        "rate_bucket", "project_budget", "project_executed", "project_rate",
        "dept_initial_budget", "dept_adjusted_budget", "dept_executed", "dept_exec_rate",
        "dept_adjust_rate", "dept_carryover_rate", "procurement_budget", "procurement_executed",
        "procurement_rate",
    ]
    label: str
    raw: str
    value: Decimal | None = None
    text: str | None = None  # grade word, group name
    low: Decimal | None = None  # rate_bucket bounds in percent, with inclusiveness
    low_inclusive: bool = True
    high: Decimal | None = None
    high_inclusive: bool = False
    ref: SourceRef


class DeptPerformance(BaseModel):
    score_rows: list[ScoreRow] = Field(default_factory=list)
    score_table_ref: SourceRef | None = None
    summary_rows: list[SummaryProjectRow] = Field(default_factory=list)
    summary_ref: SourceRef | None = None
    statements: list[DeptStatement] = Field(default_factory=list)


class AccountsExtraction(BaseModel):
    doc_id: str
    unit_id: str
    department: str | None = None
    year: int | None = None
    unit: str = "万元"
    tables: list[AccountsTable] = Field(default_factory=list)
    narrative: list[NarrativeItem] = Field(default_factory=list)
    dept: DeptPerformance = Field(default_factory=DeptPerformance)
    ref: SourceRef | None = None  # where the 部门决算 was recognized (its title line)

    def table(self, table_id: str) -> AccountsTable | None:
        for t in self.tables:
            if t.table_id == table_id:
                return t
        return None


class CheckResult(BaseModel):
    """One identity or statement checked. Passing checks are kept too, so a reader sees what holds."""

    check_id: str  # stable across renderings, e.g. "R-FA-EXP:03:合计:本年支出合计"
    rule_id: str
    status: CheckStatus
    severity: Severity | None = None  # of the finding it yields (None when it passes)
    description_zh: str
    description_en: str
    reported: str | None = None
    recomputed: str | None = None
    difference: str | None = None
    tolerance: str | None = None
    variant: str | None = None
    formula: str | None = None
    refs: list[SourceRef] = Field(default_factory=list)
