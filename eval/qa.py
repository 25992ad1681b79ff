"""Q&A benchmark: the gold questions in eval/gold/qa.json asked through service.qa.service.ask.

Gold (written by reading the documents, never from program output), three kinds:
  structured  expected_projects (a set, or an ordered list with match "ordered") and/or expected_value
              (match "value": every number in it appears numerically in the answer text and every word
              left over appears verbatim; parts separated by ";"; match "contains": the text appears verbatim)
  open        passages [(stem, quote[, page])]: an exact quote of the normalized text, resolved against
              corpus/rendered/txt/<stem>.txt to line spans (all renderings load to the same lines); a
              returned citation overlapping any one of them, on the same report, is a hit
  none        nothing in the corpus supports an answer: the system must say so, and cite nothing

Metrics:
  structured_accuracy   share of structured questions answered exactly: the answer rows' project names
                        (normalized, duplicates from several renderings collapsed) == the expected set
                        (or list, for "ordered"); for value questions the value is in the answer text
                        and, when projects are given, the rows name exactly them
  open_passage_recall   share of open questions with a citation hitting a gold passage
  citation_validity     share of all returned citations whose quote is found, exactly, at the cited place:
                        re-read from the store's lines here (the answer's own `verified` flag is ignored)
  unanswerable_handled  share of "none" questions answered with a not-found statement, no rows, no citation
  open_keyword_rate     (diagnostic) share of open questions whose answer contains every answer keyword

The scoring functions are pure (answers are plain dicts as AskAnswer.model_dump gives them); `run` ingests
one rendering of the corpus into a scratch data dir through service.pipeline and asks every question.

    python -m eval.qa [--rendering pdf|txt|docx] [--format table|json]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from eval.retrieval import Span, resolve_quote  # the same gold passages, resolved the same way
from retrieval.loaders import SUPPORTED

ROOT = Path(__file__).resolve().parent.parent
GOLD_PATH = Path(__file__).resolve().parent / "gold" / "qa.json"
RENDERED = ROOT / "corpus" / "rendered"
EXTENSIONS = {"pdf": ".pdf", "txt": ".txt", "docx": ".docx"}
TARGETS = {"structured_accuracy": 0.95, "open_passage_recall": 0.85, "citation_validity": 1.0}

# What a "nothing supports an answer" reply says (zh / en); any one is enough.
NOT_FOUND_MARKERS = (
    "没有找到", "未找到", "找不到", "没有能够支持", "无法回答", "没有相关", "不包含", "无相关",
    "nothing in the ingested reports", "no information", "not found", "cannot answer", "can't answer",
    "does not contain", "do not contain", "no supporting", "nothing supports", "not supported",
)


# ---------------------------------------------------------------------------------------------------------
# gold


def load_gold(path: Path = GOLD_PATH) -> list[dict]:
    data = json.loads(Path(path).read_text("utf-8"))
    return list(data["questions"])


def passage_spans(doc, quote: str, page: int | None = None) -> list[Span]:
    """Every place a gold quote occurs in a loaded document (optionally only on one page)."""
    return [s for s in resolve_quote(doc, quote) if page is None or s.page == page]


def resolve_gold(items: Sequence[dict], docs: dict) -> tuple[dict[tuple[str, int], list[Span]], list[str]]:
    """Spans per (question id, passage index), and one problem per passage that does not resolve."""
    spans: dict[tuple[str, int], list[Span]] = {}
    problems = []
    for q in items:
        for i, p in enumerate(q.get("passages") or []):
            doc = docs.get(p["stem"])
            found = passage_spans(doc, p["quote"], p.get("page")) if doc is not None else []
            if not found:
                problems.append(f"{q['id']}: quote not found in {p['stem']}: {p['quote']!r}")
            spans[(q["id"], i)] = found
    return spans, problems


def load_corpus_txt(corpus_dir: Path = RENDERED / "txt") -> dict:
    from retrieval.loaders import load_path

    return {p.stem: load_path(p, max_bytes=10**9) for p in sorted(Path(corpus_dir).glob("*.txt"))}


# ---------------------------------------------------------------------------------------------------------
# pure scoring


def normalize_name(name: str) -> str:
    """Project names as compared: the normalization rules, and no spaces next to CJK characters."""
    from retrieval.normalize import normalize_text

    s = normalize_text(name or "").strip()
    s = re.sub(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’])\s+", "", s)
    s = re.sub(r"\s+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’])", "", s)
    return re.sub(r"\s+", " ", s)


def answer_projects(answer: dict) -> list[str]:
    """Project names of the answer's rows, in order, each once."""
    out: list[str] = []
    for row in answer.get("rows") or []:
        name = row.get("project") if isinstance(row, dict) else None
        if name:
            n = normalize_name(str(name))
            if n not in out:
                out.append(n)
    return out


_NUM = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def _numbers(text: str) -> list[Decimal]:
    out = []
    for m in _NUM.finditer(text):
        try:
            out.append(Decimal(m.group(0).replace(",", "")))
        except InvalidOperation:  # pragma: no cover - the regex only matches numbers
            continue
    return out


def value_matches(expected: str, text: str) -> bool:
    """Every number of `expected` appears (numerically: 3700 = 3700.00) in `text`, and what is left of each
    ";"-separated part once its numbers are removed (a unit, a grade word) appears verbatim."""
    from retrieval.normalize import normalize_text

    text = normalize_text(text or "")
    have = _numbers(text)
    for part in (p.strip() for p in normalize_text(expected).split(";")):
        if not part:
            continue
        for n in _numbers(part):
            if not any(n == h for h in have):
                return False
        rest = _NUM.sub(" ", part).split()
        if any(w not in text for w in rest):
            return False
    return True


def says_not_found(text: str) -> bool:
    t = (text or "").lower()
    return any(m.lower() in t for m in NOT_FOUND_MARKERS)


def score_structured(item: dict, answer: dict) -> dict:
    expected = [normalize_name(p) for p in item.get("expected_projects") or []] \
        if item.get("expected_projects") is not None else None
    got = answer_projects(answer)
    match = item.get("match", "set")
    text = answer.get("answer") or ""
    reasons = []
    if match == "ordered":
        ok = expected is not None and got == expected
        if not ok:
            reasons.append("project list differs (order counts)")
    elif match in ("value", "contains"):
        from retrieval.normalize import normalize_text

        val = item.get("expected_value") or ""
        ok_val = value_matches(val, text) if match == "value" else normalize_text(val) in normalize_text(text)
        ok_rows = expected is None or set(got) == set(expected)
        ok = ok_val and ok_rows
        if not ok_val:
            reasons.append(f"value {val!r} not in the answer")
        if not ok_rows:
            reasons.append("rows name other projects")
    else:
        ok = expected is not None and set(got) == set(expected)
        if not ok:
            reasons.append("project set differs")
    out = {"ok": ok, "expected": item.get("expected_projects") if match != "value" and match != "contains"
           else {"value": item.get("expected_value"), "projects": item.get("expected_projects")},
           "got": got}
    if expected is not None and not ok:
        out["missing"] = [p for p in expected if p not in got]
        out["extra"] = [p for p in got if p not in expected]
    if reasons:
        out["reason"] = "; ".join(reasons)
    return out


def citation_hits(item_spans: Sequence[tuple[str, list[Span]]], answer: dict, stem_of: dict[str, str]) -> list[int]:
    """Indexes of the gold passages hit by a returned citation (same report, overlapping lines)."""
    hit = []
    for i, (stem, spans) in enumerate(item_spans):
        for c in answer.get("citations") or []:
            if stem_of.get(c.get("doc_id")) != stem:
                continue
            if any(s.overlaps(c["page"], c["line_start"], c["page"], c["line_end"]) for s in spans):
                hit.append(i)
                break
    return hit


def score_open(item: dict, item_spans: Sequence[tuple[str, list[Span]]], answer: dict, stem_of: dict[str, str]) -> dict:
    from retrieval.normalize import normalize_text

    hits = citation_hits(item_spans, answer, stem_of)
    text = normalize_text(answer.get("answer") or "")
    kws = item.get("answer_keywords") or []
    missing_kw = [k for k in kws if normalize_text(k) not in text]
    cited = [{"stem": stem_of.get(c.get("doc_id")), "page": c["page"], "lines": [c["line_start"], c["line_end"]]}
             for c in answer.get("citations") or []]
    return {"ok": bool(hits), "passages_hit": hits, "keywords_ok": not missing_kw, "missing_keywords": missing_kw,
            "expected": [{"stem": p["stem"], "quote": p["quote"],
                          "at": [[s.page, s.line_start, s.page_end, s.line_end] for s in spans]}
                         for p, (_, spans) in zip(item.get("passages") or [], item_spans)],
            "got": cited}


def score_none(item: dict, answer: dict) -> dict:
    cits = answer.get("citations") or []
    rows = answer.get("rows") or []
    nf = says_not_found(answer.get("answer") or "")
    reasons = []
    if cits:
        reasons.append(f"{len(cits)} citations")
    if rows:
        reasons.append(f"{len(rows)} rows")
    if not nf:
        reasons.append("does not say that nothing supports an answer")
    out = {"ok": not cits and not rows and nf, "expected": "a not-found statement, no citations",
           "got": {"citations": len(cits), "rows": len(rows), "answer": (answer.get("answer") or "")[:200]}}
    if reasons:
        out["reason"] = "; ".join(reasons)
    return out


LinesFor = Callable[[str, int], Sequence[Any]]  # (doc_id, page) -> lines (objects with .line_no and .text)


def check_citation(c: dict, lines_for: LinesFor) -> tuple[bool, str]:
    """Is the citation's quote found, exactly, in the normalized text of the lines it names (joined as a
    renderer broke them), or inside one of those lines (a table row's TAB-joined cells)?"""
    from retrieval.normalize import join_broken

    quote = c.get("quote") or ""
    if not quote.strip():
        return False, "empty quote"
    try:
        start, end = int(c["line_start"]), int(c["line_end"])
        page_lines = list(lines_for(c["doc_id"], int(c["page"])))
    except Exception as exc:  # unknown document or page: not valid
        return False, f"place not found: {type(exc).__name__}"
    if start > end:
        return False, "line_start after line_end"
    lines = [ln for ln in page_lines if start <= ln.line_no <= end]
    if not lines or lines[0].line_no != start or lines[-1].line_no != end:
        return False, "cited lines do not exist"
    if quote in join_broken([ln.text for ln in lines]) or any(quote in ln.text for ln in lines):
        return True, ""
    return False, "quote not at the cited place"


def summarize(results: Sequence[dict], citation_checks: Sequence[tuple[bool, str]]) -> dict:
    def share(kind: str, key: str = "ok") -> float | None:
        rs = [r for r in results if r["kind"] == kind]
        return round(sum(1 for r in rs if r[key]) / len(rs), 4) if rs else None

    n_cit = len(citation_checks)
    validity = round(sum(1 for ok, _ in citation_checks if ok) / n_cit, 4) if n_cit else 1.0
    out = {
        "structured_accuracy": share("structured"),
        "open_passage_recall": share("open"),
        "citation_validity": validity,
        "unanswerable_handled": share("none"),
        "open_keyword_rate": share("open", "keywords_ok"),
        "citations": n_cit,
        "invalid_citations": n_cit - sum(1 for ok, _ in citation_checks if ok),
        "counts": {f"{k}/{lang}": n for (k, lang), n in sorted(Counter((r["kind"], r["lang"]) for r in results).items())},
        "targets": dict(TARGETS),
    }
    out["meets_targets"] = all(out[k] is not None and out[k] >= v for k, v in TARGETS.items())
    return out


def score(items: Sequence[dict], answers: dict[str, dict], spans: dict[tuple[str, int], list[Span]],
          stem_of: dict[str, str], lines_for: LinesFor) -> dict:
    """Score every question's answer. `answers[qid]` is an AskAnswer as a dict, or {"error": "…"}."""
    results = []
    checks: list[tuple[bool, str]] = []
    for item in items:
        ans = answers.get(item["id"]) or {"error": "no answer"}
        cits = ans.get("citations") or []
        cit_checks = [check_citation(c, lines_for) for c in cits]
        checks.extend(cit_checks)
        if ans.get("error"):
            r = {"ok": False, "reason": f"error: {ans['error']}", "got": None}
            if item["kind"] == "open":
                r["keywords_ok"] = False
        elif item["kind"] == "structured":
            r = score_structured(item, ans)
        elif item["kind"] == "open":
            item_spans = [(p["stem"], spans.get((item["id"], i), [])) for i, p in enumerate(item.get("passages") or [])]
            r = score_open(item, item_spans, ans, stem_of)
        else:
            r = score_none(item, ans)
        bad = [{"page": c.get("page"), "lines": [c.get("line_start"), c.get("line_end")], "quote": (c.get("quote") or "")[:80],
                "why": why} for c, (ok, why) in zip(cits, cit_checks) if not ok]
        results.append({"id": item["id"], "kind": item["kind"], "lang": item.get("lang", "zh"),
                        "question": item["question"], "route": ans.get("route"), **r,
                        "citations": len(cits), "invalid_citations": bad,
                        **({"tags": item["tags"]} if item.get("tags") else {})})
    return {**summarize(results, checks), "questions": results}


# ---------------------------------------------------------------------------------------------------------
# everyday questions (eval/gold/qa_everyday.json): figures right, every citation supporting the answer

EVERYDAY_PATH = Path(__file__).resolve().parent / "gold" / "qa_everyday.json"
EVERYDAY_TUNING_PATH = Path(__file__).resolve().parent / "gold" / "qa_everyday_tuning.json"
EVERYDAY_FRESH_PATH = Path(__file__).resolve().parent / "gold" / "qa_everyday_fresh.json"
EVERYDAY_TARGETS = {"correct": 0.90, "citation_support": 0.95, "refusal_precision": 0.95, "refusal_recall": 0.95,
                    "paraphrase_consistency": 0.95}
BENCH_PATH = Path(__file__).resolve().parent / "gold" / "qa_bench.json"


def load_everyday(*paths: Path) -> list[dict]:
    """Everyday questions of the given files (default: the held-out set, the second held-out set written
    after the code, and the tuning set), each marked with its file's split."""
    out = []
    for path in paths or (EVERYDAY_PATH, EVERYDAY_FRESH_PATH, EVERYDAY_TUNING_PATH):
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from None
        questions = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(questions, list):
            raise ValueError(f"{path}: no \"questions\" list")
        for n, q in enumerate(questions):
            # checked before anything is ingested: a malformed item would otherwise fail the run halfway
            if not isinstance(q, dict) or not isinstance(q.get("question"), str) or "id" not in q \
                    or q.get("kind") not in ("value", "refuse"):
                raise ValueError(f"{path}: questions[{n}] needs an id, a question and kind value|refuse")
        split = data.get("split", "tuning")
        out += [{**q, "split": q.get("split", split)} for q in questions]
    return out


_MARKER = re.compile(r"\[\d+\]")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?=\s*年|\D|$)")


def _squash(text: str) -> str:
    from retrieval.normalize import normalize_text

    return "".join(normalize_text(text or "").split())


def _spaced(text: str) -> str:
    """Normalized, cells (TABs) and spaced figures kept apart: squashing "500\t263.65" would read 500263.65."""
    from retrieval.normalize import normalize_text

    t = normalize_text(text or "").replace("\t", " ")
    return re.sub(r"(?<=[\u4e00-\u9fff]) +| +(?=[\u4e00-\u9fff])", "", t)


def answer_figures(answer_text: str, question: str = "", names: Sequence[str] = ()) -> set[Decimal]:
    """The figures an answer states: its numbers without citation markers ([1]), without the digits inside
    project names (提前下达2022年…资金2) and without the numbers the question itself carried (a year, a
    threshold) — those say nothing about whether a line supports the answer."""
    text = _spaced(_MARKER.sub(" ", answer_text or ""))
    for n in sorted(names, key=len, reverse=True):
        if _spaced(n):
            text = text.replace(_spaced(n), " ")
    asked = set(_numbers(_spaced(question)))
    times = Counter(_numbers(text))
    # a figure the question carried is the answer's own when stated for two items or more (得分为100分的项目:
    # 就业专项资金（100分）、…); once, it is the question's threshold restated
    own = {n for n, k in times.items() if n not in asked or k >= 2}
    # a question stating the very figures it asks about (预算970万、执行909.5万，对吗): the answer confirming them
    # states nothing else, and those are what a supporting line must carry (the same rule as the product's)
    return own or (set(times) if times and set(times) <= asked else set())


_GRADE_CTX = re.compile(r"(?:等级|评为|属于|结果为|评级|grade|graded)(?:为|是)?\W{0,4}(优|良|中|差)", re.I)


def citation_supports(quote: str, answer_text: str, question: str = "", names: Sequence[str] = ()) -> bool:
    """A citation supports an answer when the cited line carries a figure the answer states, the grade the
    answer states (on a line stating a grade), or is quoted by the answer; an answer with none of these
    is supported by a line carrying one of its names. A true quote about something else does not support."""
    figs = answer_figures(answer_text, question, names)
    sq = _squash(quote)
    if len(sq) >= 6 and sq in _squash(_spaced(answer_text)):
        return True  # the answer quotes the line
    grades = set(_GRADE_CTX.findall(_spaced(answer_text)))
    if grades & set(_GRADE_CTX.findall(_spaced(quote))):
        return True  # the grade the answer states, on a line that states a grade
    if figs:
        return bool(figs & set(_numbers(_spaced(quote))))
    return any(_squash(n) and _squash(n) in sq for n in names)


def score_everyday(item: dict, answer: dict) -> dict:
    text = answer.get("answer") or ""
    cits = answer.get("citations") or []
    rows = answer.get("rows") or []
    reasons: list[str] = []
    names = answer_projects(answer)
    # an answer whose subject is a project's implementing unit (…的实施单位是区食品检验所) states that unit: a line
    # carrying it supports the answer as a line carrying a project's name does (added after set AH's first run,
    # which counted such answers wrong for citing the line that prints the unit); likewise the department in
    # charge (主管部门) an answer gives (added after set AR's first run, where none of its answers gave one)
    said = names + [str(r[k]) for r in rows if isinstance(r, dict) for k in ("implementer", "department") if r.get(k)]
    support = [citation_supports(c.get("quote") or "", text, item["question"], said) for c in cits]
    refused = says_not_found(text) and not rows and not cits
    if item["kind"] == "refuse":
        ok = refused
        if not refused:
            reasons.append("did not refuse (not-found statement, no rows, no citations)")
        m = item.get("must_mention")
        if m and m not in text:
            ok = False
            reasons.append(f"does not say what is covered ({m!r})")
    else:
        ok = True
        if answer.get("error"):
            ok = False
            reasons.append(f"error: {answer['error']}")
        if not value_matches(item.get("expected_value") or "", text):
            ok = False
            reasons.append(f"value {item.get('expected_value')!r} not in the answer")
        exp = item.get("expected_projects")
        if exp is not None and set(names) != {normalize_name(p) for p in exp}:
            ok = False
            reasons.append("rows name other projects")
        if not cits:
            ok = False
            reasons.append("no citation")
        if not all(support):
            ok = False
            reasons.append(f"{support.count(False)} of {len(cits)} citations do not support the answer")
        # own-documents gold may say which document answers; a citation into another one does not support
        # (annotated by `run` as citation["stem"]; absent on the bundled gold, which never names a document)
        want = item.get("document_stem")
        if want and any(c.get("stem") != want for c in cits):
            ok = False
            reasons.append(f"cites a document other than {item.get('document')!r}")
    out = {"id": item["id"], "kind": item["kind"], "op": item.get("op", "?"), "lang": item.get("lang", "zh"),
           "split": item.get("split", "tuning"), "question": item["question"], "route": answer.get("route"),
           "ok": ok, "refused": refused, "citations": len(cits), "supporting": sum(support),
           "answer": text[:300], "group": item.get("group"),
           # what the answer says, for paraphrase consistency: its figures (not the question's) and its projects
           "said": sorted(str(n) for n in answer_figures(text, item["question"], names)) + names}
    if reasons:
        out["reason"] = "; ".join(reasons)
    return out


def paraphrase_consistency(results: Sequence[dict]) -> float | None:
    """Share of paraphrase groups answered alike: every paraphrase right, or every one wrong saying the same
    (the same figures and projects, or the same refusal). None without groups of two or more."""
    groups: dict[str, list[dict]] = {}
    for r in results:
        if r.get("group"):
            groups.setdefault(r["group"], []).append(r)
    groups = {g: rs for g, rs in groups.items() if len(rs) > 1}
    if not groups:
        return None
    alike = 0
    for rs in groups.values():
        if all(r["ok"] for r in rs):
            alike += 1
        elif not any(r["ok"] for r in rs) and len({(r["refused"], tuple(r.get("said") or ())) for r in rs}) == 1:
            alike += 1
    return round(alike / len(groups), 4)


def summarize_everyday(results: Sequence[dict]) -> dict:
    def share(rs) -> float | None:
        return round(sum(1 for r in rs if r["ok"]) / len(rs), 4) if rs else None

    n_cit = sum(r["citations"] for r in results)
    refused = [r for r in results if r["refused"]]
    refuse_items = [r for r in results if r["kind"] == "refuse"]
    return {
        "questions": len(results),
        "correct": share(results),
        "by_op": {op: share([r for r in results if r["op"] == op]) for op in sorted({r["op"] for r in results})},
        "citation_support": round(sum(r["supporting"] for r in results) / n_cit, 4) if n_cit else None,
        "citations": n_cit,
        "refusal_precision": round(sum(1 for r in refused if r["kind"] == "refuse") / len(refused), 4) if refused else None,
        "refusal_recall": round(sum(1 for r in refuse_items if r["refused"]) / len(refuse_items), 4) if refuse_items else None,
        "paraphrase_consistency": paraphrase_consistency(results),
    }


# ---------------------------------------------------------------------------------------------------------
# running


@dataclass
class RunInfo:
    rendering: str
    documents: dict[str, str] = field(default_factory=dict)  # doc_id -> stem
    ingest_seconds: float = 0.0
    ask_seconds: float = 0.0


def _files(rendering: str, corpus_dir: Path) -> list[Path]:
    if rendering not in EXTENSIONS:
        raise ValueError(f"unknown rendering {rendering!r}; one of {', '.join(EXTENSIONS)}")
    files = sorted((Path(corpus_dir) / rendering).glob(f"*{EXTENSIONS[rendering]}"))
    if not files:
        raise FileNotFoundError(f"no {rendering} renderings under {corpus_dir / rendering}: run scripts/make_corpus.py")
    return files


def run(settings=None, *, rendering: str = "pdf", gold_path: Path = GOLD_PATH, corpus_dir: Path = RENDERED,
        data_dir: Path | None = None, llm=None, items: Sequence[dict] | None = None,
        everyday: Sequence[dict] | None = None, progress: Callable[[str], None] | None = None,
        files: Sequence[Path] | None = None) -> dict:
    """Ingest one rendering of the corpus into a scratch data dir, ask every gold question, score. The
    everyday questions (default eval/gold/qa_everyday.json; [] to skip) are asked through `ask` and through
    the retrieval-only extractive baseline in the same run, and reported per split."""
    from retrieval.index import HybridIndex
    from service.pipeline import Pipeline
    from service.qa.service import ask, ask_extractive
    from service.settings import Settings
    from service.store import Store

    items = list(items) if items is not None else load_gold(gold_path)
    everyday = list(everyday) if everyday is not None else load_everyday()
    # no bundled questions (own-documents run): nothing to resolve against the bundled corpus
    spans, problems = resolve_gold(items, load_corpus_txt(Path(corpus_dir) / "txt") if items else {})
    if problems:
        raise ValueError("gold does not resolve:\n" + "\n".join(problems))
    files = list(files) if files is not None else _files(rendering, Path(corpus_dir))
    base = settings or Settings()
    scratch = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="jixiao-eval-qa-"))
    info = RunInfo(rendering)
    try:
        cfg = base.model_copy(update={"data_dir": scratch, "chroma_url": None, "database_url": None})
        store = Store(cfg)
        index = HybridIndex(cfg)
        pipeline = Pipeline(cfg, store=store, index=index)
        try:
            t0 = time.perf_counter()
            for f in files:
                res = pipeline.ingest_path(f)
                if not res.ok:
                    raise RuntimeError(f"ingest of {f.name} failed: {res.error_code}: {res.message}")
                info.documents[res.doc_id] = f.stem
                if progress:
                    progress(f"ingested {f.name}: {res.message}")
            info.ingest_seconds = time.perf_counter() - t0
            answers: dict[str, dict] = {}
            t0 = time.perf_counter()
            for item in items:
                try:
                    # every page of a list answer (the answer shows 20 and says 共N个; the set is what is scored)
                    a = ask(item["question"], None, settings=cfg, store=store, index=index, llm=llm, page_size=None)
                    answers[item["id"]] = a.model_dump(mode="json")
                except Exception as exc:  # a crash is a wrong answer, not the end of the benchmark
                    answers[item["id"]] = {"error": f"{type(exc).__name__}: {exc}"}
            info.ask_seconds = time.perf_counter() - t0
            every: dict[str, list[dict]] = {"system": [], "baseline": []}
            latencies: list[float] = []
            structured_lat: list[float] = []
            for item in everyday:
                for which, fn in (("system", lambda q: ask(q, None, settings=cfg, store=store, index=index, llm=llm)),
                                  ("baseline", lambda q: ask_extractive(q, settings=cfg, store=store, index=index))):
                    t1 = time.perf_counter()
                    try:
                        a = fn(item["question"]).model_dump(mode="json")
                    except Exception as exc:  # a crash is a wrong answer
                        a = {"error": f"{type(exc).__name__}: {exc}"}
                    for c in a.get("citations") or []:  # which file each citation points into
                        c["stem"] = info.documents.get(c.get("doc_id"))
                    if which == "system":
                        latencies.append(time.perf_counter() - t1)
                        if str(a.get("route") or "").startswith(("structured", "parts")):
                            structured_lat.append(time.perf_counter() - t1)
                    every[which].append(score_everyday(item, a))

            cache: dict[tuple[str, int], list] = {}

            def lines_for(doc_id: str, page: int):
                if (doc_id, page) not in cache:
                    cache[(doc_id, page)] = store.get_lines(doc_id, page=page)
                return cache[(doc_id, page)]

            report = score(items, answers, spans, info.documents, lines_for)
            for r in report["questions"]:
                a = answers.get(r["id"]) or {}
                r["answer"] = a.get("answer") if not a.get("error") else None
        finally:
            pipeline.close()
            store.close()
    finally:
        if not data_dir:
            shutil.rmtree(scratch, ignore_errors=True)
    if everyday:
        splits = sorted({r["split"] for r in every["system"]})
        report["everyday"] = {
            sp: {"system": summarize_everyday([r for r in every["system"] if r["split"] == sp]),
                 "baseline": summarize_everyday([r for r in every["baseline"] if r["split"] == sp])}
            for sp in splits}
        report["everyday_latency_ms"] = _p50_p95(latencies)
        if structured_lat:
            report["everyday_latency_ms"].update({f"structured_{k}": v for k, v in _p50_p95(structured_lat).items()})
        report["everyday_questions"] = every["system"]
    report["rendering"] = rendering
    report["documents"] = len(info.documents)
    report["ingest_seconds"] = round(info.ingest_seconds, 2)
    report["ask_seconds"] = round(info.ask_seconds, 2)
    questions = report.pop("questions")
    return {**report, "questions": questions}


def _p50_p95(seconds: Sequence[float]) -> dict[str, float]:
    xs = sorted(seconds)
    return {"p50": round(xs[len(xs) // 2] * 1000, 1), "p95": round(xs[min(len(xs) - 1, int(len(xs) * 0.95))] * 1000, 1)}


DOC_SUFFIXES = SUPPORTED  # every format ingest reads (an evaluator's Excel forms were skipped before)


def document_files(docs: Path) -> list[Path]:
    """The documents of an evaluator's folder (sub-folders included; gold JSON and other files left out)."""
    docs = Path(docs)
    if not docs.is_dir():
        raise FileNotFoundError(f"--docs {docs}: not a directory")
    files = sorted(p for p in docs.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no {', '.join(DOC_SUFFIXES)} documents under {docs}")
    return files


def gold_paths(gold: Path) -> list[Path]:
    gold = Path(gold)
    if gold.is_dir():
        paths = sorted(gold.glob("*.json"))
        if not paths:
            raise FileNotFoundError(f"--gold {gold}: no *.json gold files")
        return paths
    if not gold.is_file():
        raise FileNotFoundError(f"--gold {gold}: no such file or directory")
    return [gold]


def load_docs_gold(gold: Path, docs: Path) -> list[dict]:
    """Everyday-format questions of every gold file (validated: GoldError names file and field), each with its
    split (the question's, else the file's) and, when it names a `document`, that file's stem in `docs`."""
    from eval.gold_format import GoldError, document_in, validate_qa_gold

    out: list[dict] = []
    for path in gold_paths(gold):
        try:
            data = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise GoldError(str(path), [f"not JSON: {exc}"]) from exc
        validate_qa_gold(data, str(path))
        problems = []
        for i, q in enumerate(data["questions"]):
            item = {"op": "lookup", **q, "split": q.get("split", data.get("split", "tuning"))}
            if q.get("document"):
                try:
                    item["document_stem"] = document_in(q["document"], Path(docs)).stem
                except FileNotFoundError as exc:
                    problems.append(f"questions[{i}].document: {exc}")
            out.append(item)
        if problems:
            raise GoldError(str(path), problems)
    return out


def run_docs(settings=None, *, docs: Path, gold: Path, llm=None,
             progress: Callable[[str], None] | None = None) -> dict:
    """The everyday benchmark (ask vs the retrieval-only baseline, per split) on an evaluator's own folder:
    every document under `docs` ingested into a scratch data dir, the questions of `gold` (a file or a folder
    of files) asked. The bundled structured/open/none gold is not used here."""
    items = load_docs_gold(Path(gold), Path(docs))
    report = run(settings, items=[], everyday=items, files=document_files(Path(docs)), llm=llm, progress=progress)
    report["rendering"] = str(docs)
    return report


def format_docs_table(report: dict) -> str:
    """Own-documents run: only the everyday blocks (the bundled metrics have no questions here)."""
    head = f"documents: {report.get('documents')} from {report.get('rendering')}"
    return "\n".join([head, *format_everyday(report)])


def _short(v: Any, n: int = 160) -> str:
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[: n - 1] + "…"


def format_table(report: dict) -> str:
    def pct(v):
        return "  n/a" if v is None else f"{v * 100:6.1f}%"

    t = report.get("targets", TARGETS)
    lines = [
        f"rendering {report.get('rendering', '?')}: {report.get('documents', '?')} documents, "
        f"{len(report['questions'])} questions ({', '.join(f'{k} {n}' for k, n in report['counts'].items())})",
        f"structured accuracy    {pct(report['structured_accuracy'])}   (target {t['structured_accuracy'] * 100:.0f}%)",
        f"open passage recall    {pct(report['open_passage_recall'])}   (target {t['open_passage_recall'] * 100:.0f}%)",
        f"citation validity      {pct(report['citation_validity'])}   (target {t['citation_validity'] * 100:.0f}%; "
        f"{report['citations'] - report['invalid_citations']}/{report['citations']} citations)",
        f"unanswerable handled   {pct(report['unanswerable_handled'])}",
        f"open keyword rate      {pct(report['open_keyword_rate'])}   (diagnostic)",
        f"meets targets: {'yes' if report['meets_targets'] else 'no'}",
    ]
    failures = [r for r in report["questions"] if not r["ok"] or r["invalid_citations"]]
    if failures:
        lines.append("")
        lines.append("failures:")
    for r in failures:
        lines.append(f"  [{r['id']}] {r['kind']}/{r['lang']} route={r.get('route')}  {r['question']}")
        if not r["ok"]:
            if r.get("reason"):
                lines.append(f"      why: {r['reason']}")
            if r["kind"] == "structured":
                lines.append(f"      expected: {_short(r.get('expected'))}")
                if r.get("missing") or r.get("extra"):
                    lines.append(f"      missing: {_short(r.get('missing'))}  extra: {_short(r.get('extra'))}")
                else:
                    lines.append(f"      got: {_short(r.get('got'))}")
            elif r["kind"] == "open":
                lines.append(f"      expected: {_short([(e['stem'][:3], e['at']) for e in r.get('expected') or []])}")
                lines.append(f"      got: {_short([(g['stem'][:3] if g['stem'] else None, g['page'], g['lines']) for g in r.get('got') or []])}")
            else:
                lines.append(f"      got: {_short(r.get('got'))}")
            if r.get("answer"):
                lines.append(f"      answer: {_short(r['answer'], 200)}")
        for b in r["invalid_citations"]:
            lines.append(f"      invalid citation p{b['page']} l{b['lines']}: {b['why']}: {b['quote']!r}")
    lines.extend(format_everyday(report))
    return "\n".join(lines)


def format_everyday(report: dict) -> list[str]:
    """The everyday questions, one block per split (held-out apart), each next to the retrieval-only
    extractive baseline asked in the same run."""
    if not report.get("everyday"):
        return []

    def pct(v):
        return "  n/a" if v is None else f"{v * 100:5.1f}%"

    lines = [""]
    for split, both in report["everyday"].items():
        s, b = both["system"], both["baseline"]
        lines.append(f"everyday questions, split {split} ({s['questions']} questions; "
                     f"correct = figures exact, all parts, every citation supports):")
        lines.append(f"  {'':22}{'ask':>8}{'baseline':>10}   (baseline: retrieval-only extractive, same run)")
        for key in ("correct", "citation_support", "refusal_precision", "refusal_recall", "paraphrase_consistency"):
            t = EVERYDAY_TARGETS.get(key)
            lines.append(f"  {key:22}{pct(s[key]):>8}{pct(b[key]):>10}" + (f"   (target {t * 100:.0f}%)" if t else ""))
        for op in s["by_op"]:
            lines.append(f"    {op:20}{pct(s['by_op'][op]):>8}{pct(b['by_op'].get(op)):>10}")
    lat = report.get("everyday_latency_ms")
    if lat:
        lines.append(f"  latency in process: p50 {lat['p50']} ms, p95 {lat['p95']} ms"
                     + (f"; structured answers p50 {lat['structured_p50']} ms, p95 {lat['structured_p95']} ms"
                        if "structured_p50" in lat else ""))
    wrong = [r for r in report.get("everyday_questions", []) if not r["ok"]]
    if wrong:
        lines.append("  wrong:")
    for r in wrong:
        lines.append(f"  [{r['id']}] {r['op']}/{r['lang']} route={r.get('route')}  {r['question']}")
        lines.append(f"      why: {r.get('reason')}")
        lines.append(f"      answer: {_short(r.get('answer'), 200)}")
    return lines


def format_bench(report: dict) -> str:
    """The paraphrase benchmark: per split (held-out first), ask next to the retrieval-only baseline."""
    head = [f"paraphrase benchmark, rendering {report.get('rendering', '?')}: "
            f"{report.get('documents', '?')} documents, {len(report.get('everyday_questions', []))} questions"]
    return "\n".join(head + format_everyday(report))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rendering", choices=tuple(EXTENSIONS), default="pdf")
    ap.add_argument("--format", choices=("table", "json"), default="table")
    args = ap.parse_args(argv)
    report = run(rendering=args.rendering)
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.format == "json" else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
