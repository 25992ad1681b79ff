"""A scripted "model" that answers the form prompt from a generated form's gold record.

It sees only what a model sees — the rendered `[page:line] text` lines of one request — and cites each gold
value at the line where that text is printed, as a careful model would. Whatever it cannot find in the lines
it was sent it leaves out (null), so it never invents a value. Used three ways:

* by the tests, behind the local OpenAI-compatible test server, to turn a form the rules cannot read into a
  record through the real client stack;
* by scripts/bench_llm_forms.py, to measure characters sent per form on a generated benchmark (its figures
  are an upper bound on what a model could score: they measure the chain — chunking, verification, merging —
  not a model's reading);
* by scripts/make_form_examples.py, to write the few-shot examples of prompts/extract_form.toml from the
  generator's forms.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from retrieval.normalize import normalize_text
from service.extraction.form_reader import grade_of, number
from service.extraction.vocabulary import TOTAL_SCORE_LABELS
from service.prompts import CELL_DISPLAY_SEP, parse_rendered

# Header words and labels no rule knows, with the words the generator prints: a form rewritten with them
# keeps every figure and name but loses every column the rules recognise. The first six rename the indicator
# table only (the rules still read funds and total: coverage `partial`); all of them, with the title and the
# name labels, leave the rules nothing (`unrecognised`). Used to test and measure the model path on forms no
# rule anticipated.
UNKNOWN_COLUMNS = (("一级指标", "考核维度"), ("二级指标", "考核类别"), ("三级指标", "考核要点"),
                   ("年度指标值", "预定标准"), ("实际完成值", "达成情况"), ("偏差原因分析及改进措施", "情况说明"),
                   ("年初预算数", "年初安排"), ("全年预算数", "全年安排"), ("全年执行数", "全年支用"),
                   ("执行率", "支用比例"), ("分值", "满分"), ("得分", "评定分"), ("项目资金（万元）", "资金（万元）"),
                   ("总分", "合计评定"))
UNKNOWN_LABELS = (("项目支出绩效自评表", "项目绩效情况一览"), ("项目名称", "项目"), ("主管部门", "主管"))


def disguise(text: str, renames=UNKNOWN_COLUMNS + UNKNOWN_LABELS) -> str:
    for a, b in renames:
        text = text.replace(a, b)
    return text


_DOC = re.compile(r"<document>\n(.*)\n</document>", re.S)


def document_of(user_text: str) -> str:
    m = _DOC.search(user_text)
    return m.group(1) if m else ""


class _Lines:
    def __init__(self, rendered: str | None = None, rows: list | None = None):
        self.rows: list[tuple[str, list[str]]] = list(rows or [])  # (marker, cells)
        for page, line_no, text in parse_rendered(rendered) if rendered and rendered.strip() else []:
            cells = [c.strip() for c in text.split(CELL_DISPLAY_SEP.strip())] if CELL_DISPLAY_SEP in text else [text.strip()]
            self.rows.append((f"{page}:{line_no}", [c for c in cells if c]))

    def sub(self, start: int, stop: int) -> _Lines:
        return _Lines(rows=self.rows[max(0, start):stop])

    def find(self, pred, start: int = 0, stop: int | None = None, backwards: bool = False):
        rng = range(start, len(self.rows) if stop is None else min(stop, len(self.rows)))
        for i in (reversed(rng) if backwards else rng):
            marker, cells = self.rows[i]
            for c in cells:
                if pred(c):
                    return i, {"text": c, "at": marker}
        return None, None

    def text_index(self, text: str, start: int = 0) -> tuple[int | None, dict | None]:
        squashed = _sq(text)
        return self.find(lambda c: _sq(c) == squashed, start)


def _sq(s: str | None) -> str:
    # gold text is as generated (full-width punctuation); the lines a model sees are normalized
    return re.sub(r"\s+", "", normalize_text(s or ""))


def _dec(s: Any) -> Decimal | None:
    try:
        return Decimal(str(s).replace(",", "").rstrip("%"))
    except (InvalidOperation, ValueError):
        return None


def _num_eq(cell: str, value: Any, rate: bool = False) -> bool:
    v, n = _dec(value), number(cell)
    if v is None or n is None:
        return False
    return n == v or (rate and "%" not in cell and n * 100 == v)


def _cite_number(L: _Lines, value: Any, start: int, stop: int | None, rate: bool = False) -> dict | None:
    if value is None:
        return None
    return L.find(lambda c: _num_eq(c, value, rate), start, stop)[1]


def _contains_cell(L: _Lines, text: str | None, start: int = 0, stop: int | None = None, backwards=False):
    if not text:
        return None, None
    t = _sq(text)
    i, c = L.find(lambda c: _sq(c) == t, start, stop, backwards)  # the cell itself before a longer one
    if c is not None:
        return i, c
    return L.find(lambda c: t in _sq(c) and len(_sq(c)) <= len(t) + 8, start, stop, backwards)


def _target(L: _Lines, target: str | None, start: int, stop: int) -> dict:
    """target (verbatim when printed so), else value + operator + unit cells of a split target."""
    if not target:
        return {}
    _, c = L.text_index(target, start)
    if c is not None and L.rows.index(next(r for r in L.rows if r[0] == c["at"])) < stop:
        return {"target": c}
    m = re.match(r"^([≥≤=<>]?)(\d+(?:\.\d+)?)(.*)$", target)
    if not m:
        _, c = _contains_cell(L, target, start, stop)
        return {"target": c} if c else {}
    out: dict = {}
    _, out["target"] = L.find(lambda c: _sq(c) == m.group(2) or _sq(c) == m.group(2) + m.group(3), start, stop)
    if m.group(1):
        words = {"≥": ("≥", "≧", "大于等于", "正向"), "≤": ("≤", "≦", "小于等于", "反向"), "=": ("=", "﹦", "＝", "等于")}
        _, op = L.find(lambda c: _sq(c) in words.get(m.group(1), ()), start, stop)
        if op:
            out["target_op"] = op
    if m.group(3):
        _, unit = L.find(lambda c: _sq(c) == m.group(3), start, stop)
        if unit:
            out["target_unit"] = unit
    return {k: v for k, v in out.items() if v}


def oracle_form(rec: dict, kind: str, L: _Lines) -> dict | None:
    """The reading of one gold record from these lines, or None when its name is not among them."""
    name_i, name = _contains_cell(L, rec["project"])
    if name is None:
        return None
    form: dict[str, Any] = {"kind": kind, "name": name}
    if rec.get("department") and kind == "project":
        _, form["department"] = _contains_cell(L, rec["department"])
    if rec.get("year"):
        _, form["year"] = L.find(lambda c: str(rec["year"]) in c and len(c) <= 24)
    ind_lines = []
    for ind in rec.get("indicators") or []:
        i, _ = L.text_index(ind["level3"], name_i)
        ind_lines.append(i)
    first_ind = min([i for i in ind_lines if i is not None], default=len(L.rows))
    f = rec.get("funds") or {}
    if any(f.get(k) for k in ("initial_budget", "adjusted_budget", "executed")):
        funds: dict[str, Any] = {}
        for k in ("initial_budget", "adjusted_budget", "executed", "exec_weight", "exec_score"):
            funds[k] = _cite_number(L, f.get(k), name_i, first_ind)
        funds["reported_rate"] = _cite_number(L, f.get("reported_rate"), name_i, first_ind, rate=True)
        sources = []
        for s in f.get("sources") or []:
            i, label = _contains_cell(L, s["name"], name_i, first_ind)
            if label is None:
                continue
            row = {"name": label}
            stop = i + (1 if len(L.rows[i][1]) > 2 else 5)
            for k in ("initial_budget", "adjusted_budget", "executed"):
                row[k] = _cite_number(L, s.get(k), i, stop)
            sources.append(row)
        funds["sources"] = sources
        if f.get("unit"):
            # the money unit as printed: 单位:元, 全年预算数(元), 项目资金(万元)
            money = re.compile(rf"(?:单位[:：]?\s*|[(（]){f['unit']}(?:[)）]|$)" if f["unit"] != "元"
                               else r"(?:单位[:：]?\s*|[(（])元(?:[)）]|$)")
            _, funds["unit"] = L.find(lambda c: bool(money.search(c)), 0, first_ind)  # also above the name
        form["funds"] = funds
    rows = []
    for k, ind in enumerate(rec.get("indicators") or []):
        i = ind_lines[k]
        if i is None:
            continue
        nxt = next((j for j in ind_lines[k + 1:] if j is not None and j > i), None)
        stop = nxt if nxt is not None else i + (1 if len(L.rows[i][1]) > 2 else 9)
        row: dict[str, Any] = {"level3": L.text_index(ind["level3"], name_i)[1]}
        for lvl in ("level1", "level2"):
            if ind.get(lvl):
                _, row[lvl] = L.find(lambda c, t=_sq(ind[lvl]): _sq(c).startswith(t) and len(_sq(c)) <= len(t) + 6,
                                     name_i, i + 1, backwards=True)
        row.update(_target(L, ind.get("target"), i, stop))
        if ind.get("actual"):
            _, row["actual"] = L.find(lambda c, t=_sq(ind["actual"]): _sq(c) == t, i, stop)
            if row["actual"] is None:
                _, row["actual"] = L.find(lambda c, t=ind["actual"]: _num_eq(c, re.sub(r"[^\d.]", "", t) or "x")
                                          and c.strip() != (row.get("target") or {}).get("text"), i, stop)
        # the weight is printed before the score; when they are equal both cite the same cell
        wi, row["weight"] = (L.find(lambda c: _num_eq(c, ind["weight"]), i, stop) if ind.get("weight") else (None, None))
        # a table copied one cell per line prints the score on the line after the weight
        after = wi + 1 if wi is not None and len(L.rows[wi][1]) == 1 else (wi if wi is not None else i)
        _, row["score"] = L.find(lambda c: _num_eq(c, ind["score"]), after, stop) if ind.get("score") else (None, None)
        if ind.get("deviation_note"):
            _, row["deviation_note"] = _contains_cell(L, ind["deviation_note"], i, stop + 1)
        rows.append({k2: v for k2, v in row.items() if v is not None})
    form["indicators"] = rows
    # the form's own problems / measures field: the text after its label (same row, or the next line)
    li, label = L.find(lambda c: "存在问题" in c and len(c) <= 16, name_i)
    if label is not None:
        cells = L.rows[li][1]
        k = cells.index(label["text"])
        if k + 1 < len(cells):
            form["stated_problems"] = {"text": cells[k + 1], "at": L.rows[li][0]}
        elif li + 1 < len(L.rows) and len(L.rows[li + 1][1]) == 1 and len(L.rows[li + 1][1][0]) > 8:
            form["stated_problems"] = {"text": L.rows[li + 1][1][0], "at": L.rows[li + 1][0]}
    if rec.get("reported_total") is not None:
        ti, _ = L.find(lambda c: any(lab in c for lab in TOTAL_SCORE_LABELS + ("合计", "总计")), first_ind)
        if ti is None:
            ti, _ = L.find(lambda c: any(lab in c for lab in TOTAL_SCORE_LABELS), name_i)
        if ti is not None:
            form["reported_total"] = _cite_number(L, rec["reported_total"], ti, ti + 4)
        if form.get("reported_total") is None:
            # no label the rules know (a renamed 总分): the total as printed, after the last indicator row
            # or, in a header block, before the first
            last = max([i for i in ind_lines if i is not None], default=0)
            form["reported_total"] = _cite_number(L, rec["reported_total"], last + 1, None) \
                or _cite_number(L, rec["reported_total"], name_i, first_ind)
    if rec.get("reported_grade"):
        _, form["reported_grade"] = L.find(lambda c: grade_of(c) == grade_of(rec["reported_grade"])
                                           or _sq(c).endswith(rec["reported_grade"]) and len(_sq(c)) <= 8, name_i)
    return {k: v for k, v in form.items() if v is not None}


def _cited_count(x: Any) -> int:
    if isinstance(x, dict):
        return (1 if "at" in x and "text" in x else 0) + sum(_cited_count(v) for v in x.values())
    if isinstance(x, list):
        return sum(_cited_count(v) for v in x)
    return 0


def _expected(rec: dict) -> int:
    """How many values a full reading of the record cites (its non-null gold values)."""
    f = rec.get("funds") or {}
    n = 1 + sum(1 for k in ("department", "year", "reported_total", "reported_grade") if rec.get(k))
    n += sum(1 for k in ("initial_budget", "adjusted_budget", "executed", "reported_rate", "exec_weight",
                         "exec_score") if f.get(k) is not None)
    n += sum(1 + sum(1 for k in ("initial_budget", "adjusted_budget", "executed") if s.get(k) is not None)
             for s in f.get("sources") or [])
    n += sum(sum(1 for v in ind.values() if v is not None) for ind in rec.get("indicators") or [])
    return n


def oracle_answer(golds: list[dict], rendered: str) -> dict:
    """A FormsReading (as JSON data) of every gold record whose name is in the rendered lines.
    `golds` are eval gold files (their "extraction")."""
    L = _Lines(rendered)
    found = []
    for gold in golds:
        ex = gold.get("extraction", gold)
        for kind, key in (("project", "projects"), ("department", "departments")):
            if kind == "department" and "部门整体" not in rendered:
                continue  # a department's name in a project form is its 主管部门, not a form of its own
            for rec in ex.get(key) or []:
                i, _ = _contains_cell(L, rec["project"])
                if i is not None:
                    found.append((i, kind, rec))
    # several gold files may hold a record of the same name (the generator draws names from a short list):
    # at each name line the record whose values the lines print most is the one this text shows
    by_line: dict[int, list[tuple[str, dict]]] = {}
    for i, kind, rec in found:
        by_line.setdefault(i, []).append((kind, rec))
    starts = sorted(by_line)
    forms = []
    # each form is read from its own region: a few lines above its name (title, year, unit) to just above the
    # next form's name; its figures are looked for from its name on, so the previous form's last rows (in
    # the lines above) are never cited for it
    for k, i in enumerate(starts):
        start = max(starts[k - 1] + 1 if k else 0, i - 4)
        stop = starts[k + 1] - 1 if k + 1 < len(starts) else len(L.rows)
        region = L.sub(start, max(stop, i + 1))
        # the share of the record's values found, not their number: a longer record of the same name from
        # another file must not win on common figures (10, 100%) alone
        scored = [(oracle_form(rec, kind, region), rec) for kind, rec in by_line[i]]
        best = max((f for f, _ in [(f, r) for f, r in scored if f is not None]), default=None,
                   key=lambda f: _cited_count(f) / max(1, _expected(next(r for g, r in scored if g is f))))
        if best is not None:
            forms.append(best)
    return {"forms": forms}


__all__ = ["UNKNOWN_COLUMNS", "UNKNOWN_LABELS", "disguise", "document_of", "oracle_answer", "oracle_form"]
