"""Scoring-scheme detection. The scheme is read from each table — a 资金执行分值 column, category weights in
the headers, the sum of the indicator weights, whether the reported total is explained — never from a file
name. Every finding names the variant it assumed.

Known variants (RULEBOOK.md R-WEIGHT-L1 / R-TOTAL):
  henan-exec{w}                     funds row carries 分值 w and 得分; indicators carry 分值/得分 summing to 100 − w
                                    (seeds 000/001: 资金执行 10 + 投入和管理 10 + 产出/效益/满意度 80).
  hebei-headers-{a}/{b}/{c}/{d}     category weights in the headers (产出指标(50) …), no per-indicator 分值;
                                    the 预算执行率(10) block is an indicator row (seed 003).
  zhongyuan-fund20-exec10-ind70     indicator 分值 sum to 70; the execution score (10 × rate) and a fixed
                                    资金管理 block (20) are implicit in the total (seed 004) [inferred from totals].
  weights-100                       indicator 分值 sum to 100 and carry everything.
  weights-{W}                       indicator 分值 present, sum W, no scheme explains the remainder.
  scores-only                       no weights anywhere: only arithmetic that needs none is checked.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from service.checks.numbers import D0, D100, compare, quantize
from service.checks.text import category_of, category_of_label
from service.models import ProjectEvaluation

HEBEI_DEFAULTS = {"产出": Decimal(50), "效益": Decimal(30), "满意度": Decimal(10), "预算执行": Decimal(10)}
ZHONGYUAN_FUND = Decimal(20)
ZHONGYUAN_EXEC = Decimal(10)
ZHONGYUAN_IND = Decimal(70)


@dataclass(frozen=True)
class Scheme:
    family: str  # henan | hebei | zhongyuan | weights | scores-only
    variant: str
    exec_weight: Decimal | None = None
    exec_source: str = "none"  # funds | indicator | implicit | none
    fixed_blocks: dict[str, Decimal] = field(default_factory=dict)
    indicator_weight_total: Decimal | None = None  # what Σ indicator 分值 should be
    category_weights: dict[str, Decimal] = field(default_factory=dict)
    inferred_categories: tuple[str, ...] = ()  # categories whose rows are present but whose heading is not
    evidence: str = ""
    confirmed: bool = False  # the reported total is explained by this scheme


def weight_sum(unit: ProjectEvaluation) -> Decimal | None:
    ws = [i.weight for i in unit.indicators if i.weight is not None]
    return sum(ws, D0) if ws else None


def score_sum(unit: ProjectEvaluation, *, exclude_exec: bool = False) -> Decimal | None:
    from service.checks.text import is_exec_indicator

    ss = [i.score for i in unit.indicators
          if i.score is not None and not (exclude_exec and is_exec_indicator(i))]
    return sum(ss, D0) if ss else None


def effective_rate(unit: ProjectEvaluation) -> Decimal | None:
    """Execution rate in percent: executed / adjusted budget when both are printed, else the reported rate."""
    f = unit.funds
    budget = f.adjusted_budget or f.initial_budget
    if f.executed is not None and budget is not None and f.executed.value is not None \
            and budget.value is not None and budget.value > 0:
        return f.executed.value / budget.value * D100
    if f.reported_rate is not None and f.reported_rate.value is not None:
        return f.reported_rate.value
    return None


def _structure(unit: ProjectEvaluation) -> str:
    """A layout signature to compare units of one document (which columns the table has)."""
    has_w = any(i.weight is not None for i in unit.indicators)
    return f"w{int(has_w)}-e{int(unit.funds.exec_weight is not None)}-c{int(bool(unit.category_weights))}"


def _zhongyuan_total(unit: ProjectEvaluation) -> Decimal | None:
    s = score_sum(unit)
    rate = effective_rate(unit)
    if s is None or rate is None:
        return None
    exec_score = quantize(ZHONGYUAN_EXEC * min(rate, D100) / D100, 2)
    return s + exec_score + ZHONGYUAN_FUND


def _explains(total: Decimal | None, unit: ProjectEvaluation) -> bool:
    rep = unit.reported_total
    if total is None or rep is None or rep.value is None:
        return False
    return not compare(rep.value, total, Decimal("0.015"), places=2).beyond


def detect_scheme(unit: ProjectEvaluation, peers: list[ProjectEvaluation] | None = None) -> Scheme:
    """Detect the scoring scheme of one unit; `peers` (the document's other units) settle units whose own
    table is ambiguous, such as a zhongyuan table whose printed weights do not reach 70."""
    f = unit.funds
    ws = weight_sum(unit)

    if unit.category_weights:
        cats: dict[str, Decimal] = {}
        for label, weight in unit.category_weights.items():
            cat = category_of_label(label) or label
            cats[cat] = cats.get(cat, D0) + weight
        # rows whose second-level name belongs to a category the headers do not print (seed 003: 社会效益指标
        # rows under the merged 产出指标(50) cell) point at a lost heading; the weights stay as printed
        from service.checks.text import category_of_level2

        if "预算执行" not in cats and f.exec_weight is not None and f.exec_weight.value is not None:
            # the funds table carries the execution block's weight (分值 beside 执行率): it is the fourth block
            cats["预算执行"] = f.exec_weight.value
        present = {category_of_level2(i) for i in unit.indicators}
        inferred = tuple(c for c in ("产出", "效益", "满意度", "预算执行")
                         if c in present and c not in cats and c in HEBEI_DEFAULTS)
        order = [c for c in ("产出", "效益", "满意度", "预算执行") if c in cats] + \
                [c for c in cats if c not in ("产出", "效益", "满意度", "预算执行")]
        variant = "hebei-headers-" + "/".join(format(cats[c].normalize(), "f") for c in order)
        ev = "一级指标表头含分值 / category weights in the headers"
        if inferred:
            ev += f"; 表头缺少 {'、'.join(inferred)} / no heading printed for {', '.join(inferred)}"
        return Scheme(
            family="hebei", variant=variant, exec_weight=cats.get("预算执行"),
            exec_source="indicator" if any(category_of(i) == "预算执行" for i in unit.indicators)
            else ("funds" if f.exec_score is not None else "none"),
            category_weights=cats, inferred_categories=inferred, evidence=ev, confirmed=True,
        )

    if f.exec_weight is not None and f.exec_weight.value is not None:
        w = f.exec_weight.value
        text_w = format(w.normalize(), "f")
        return Scheme(
            family="henan", variant=f"henan-exec{text_w}", exec_weight=w, exec_source="funds",
            indicator_weight_total=D100 - w,
            evidence=f"项目资金表含资金执行分值列({text_w}) / funds table has a 资金执行分值 column ({text_w})",
            confirmed=True,
        )

    if ws is not None:
        zy = Scheme(
            family="zhongyuan", variant="zhongyuan-fund20-exec10-ind70", exec_weight=ZHONGYUAN_EXEC,
            exec_source="implicit", fixed_blocks={"资金管理": ZHONGYUAN_FUND}, indicator_weight_total=ZHONGYUAN_IND,
            evidence="指标分值合计70, 预算执行10分与资金管理20分隐含于总分 / indicator weights sum to 70; "
                     "execution (10 × rate) and 资金管理 (20) implicit in the total",
        )
        if abs(ws - D100) <= Decimal("0.01"):
            return Scheme(family="weights", variant="weights-100", indicator_weight_total=D100,
                          exec_source="none", evidence="指标分值合计100 / indicator weights sum to 100",
                          confirmed=_explains(score_sum(unit), unit))
        if abs(ws - ZHONGYUAN_IND) <= Decimal("0.01") and effective_rate(unit) is not None:
            return Scheme(**{**zy.__dict__, "confirmed": _explains(_zhongyuan_total(unit), unit)})
        # printed weights reach neither 70 nor 100: take the scheme that explains the document's other
        # tables of the same layout
        same = [p for p in (peers or []) if p.unit_id != unit.unit_id and _structure(p) == _structure(unit)]
        votes = Counter(detect_scheme(p, None).variant for p in same
                        if weight_sum(p) is not None and abs(weight_sum(p) - ZHONGYUAN_IND) <= Decimal("0.01"))
        if votes and effective_rate(unit) is not None:
            n = sum(votes.values())
            return Scheme(**{**zy.__dict__,
                             "evidence": zy.evidence + f"; 本表分值合计{format(ws.normalize(), 'f')}, 按同文档"
                             f"{n}张同版式表格认定 / this table's weights sum to {format(ws.normalize(), 'f')}; "
                             f"scheme taken from {n} tables of the same layout in the document",
                             "confirmed": _explains(_zhongyuan_total(unit), unit)})
        text_w = format(ws.normalize(), "f")
        return Scheme(family="weights", variant=f"weights-{text_w}", indicator_weight_total=D100,
                      evidence=f"指标分值合计{text_w} / indicator weights sum to {text_w}",
                      confirmed=_explains(score_sum(unit), unit))

    return Scheme(family="scores-only", variant="scores-only",
                  evidence="表中无分值 / no weights printed", confirmed=False)
