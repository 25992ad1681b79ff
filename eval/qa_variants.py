"""Surface-variant consistency: the same question wrapped the way people wrap questions (请问…, 帮我查一下…,
…来着, …，谢谢; Could you tell me:, Hi, …, … Thanks.) must get the same answer. It needs no gold: every
benchmark question is asked bare and in every wrapper, through `ask` and through the retrieval-only baseline
in the same run, and a question counts as consistent when every wrapper's answer states the same figures
(and the same refusal) as the bare one.

This measures robustness to what surrounds a question, not to paraphrase (the --bench sets do that with
human paraphrases and gold).

    jixiao eval qa --variants [--bench-file eval/gold/qa_bench_j.json ...]
"""
from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

# the last four Chinese and last two English wrappers are requests (added with set O, whose voice they are):
# 帮我看看…, …，给我看看, 麻烦帮我查查…, 给我说说…; Tell me:, Show me —
ZH_WRAPPERS = ("请问{q}", "帮我查一下{q}", "{q}来着", "想知道{q}", "{q}，谢谢", "我想问一下，{q}", "麻烦看下{q}",
               "帮我看看{q}", "{q}，给我看看", "麻烦帮我查查{q}", "给我说说{q}")
EN_WRAPPERS = ("Could you tell me: {q}", "Hi, {q}", "{q} Thanks.", "Quick question: {q}", "Please check — {q}",
               "Tell me: {q}", "Show me — {q}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def wrap(question: str, lang: str) -> list[str]:
    q = question.strip()
    bare = q.rstrip("？?")
    if lang == "zh":
        return [w.format(q=bare) + ("？" if not w.endswith(("谢谢", "看看")) else "") for w in ZH_WRAPPERS]
    return [w.format(q=q) for w in EN_WRAPPERS]


def signature(answer: dict) -> tuple:
    """What must not change with the wrapper: the figures the answer states, and whether it refused."""
    text = answer.get("answer") or answer.get("error") or ""
    refused = str(answer.get("route") or "").endswith(("not_found", "not_covered")) or not text
    return refused, tuple(sorted(set(_NUMBER.findall(text))))


def consistency(questions: Sequence[dict], ask_fn) -> dict:
    """ask_fn(question) -> answer dict. Per question: consistent when every wrapper matches the bare answer."""
    out = {"questions": 0, "consistent": 0, "differs": []}
    for item in questions:
        base = signature(ask_fn(item["question"]))
        diffs = []
        for w in wrap(item["question"], item.get("lang") or "zh"):
            got = signature(ask_fn(w))
            if got != base:
                diffs.append(w)
        out["questions"] += 1
        out["consistent"] += not diffs
        if diffs:
            out["differs"].append({"id": item.get("id"), "question": item["question"], "wrappers": diffs})
    out["rate"] = out["consistent"] / out["questions"] if out["questions"] else None
    return out


def run(settings, questions: Sequence[dict], *, rendering: str = "pdf", corpus_dir: Path | None = None) -> dict:
    from eval.qa import RENDERED, _files
    from retrieval.index import HybridIndex
    from service.pipeline import Pipeline
    from service.qa.service import ask, ask_extractive
    from service.store import Store

    scratch = Path(tempfile.mkdtemp(prefix="jixiao-eval-variants-"))
    try:
        cfg = settings.model_copy(update={"data_dir": scratch, "chroma_url": None, "database_url": None})
        store, index = Store(cfg), HybridIndex(cfg)
        pipeline = Pipeline(cfg, store=store, index=index)
        try:
            for f in _files(rendering, Path(corpus_dir or RENDERED)):
                res = pipeline.ingest_path(f)
                if not res.ok:
                    raise RuntimeError(f"ingest of {f.name} failed: {res.error_code}: {res.message}")

            def safe(fn):
                def call(q: str) -> dict:
                    try:
                        return fn(q).model_dump(mode="json")
                    except Exception as exc:  # a crash is an answer that differs
                        return {"error": f"{type(exc).__name__}: {exc}"}
                return call

            system = consistency(questions, safe(lambda q: ask(q, None, settings=cfg, store=store, index=index)))
            baseline = consistency(questions, safe(lambda q: ask_extractive(q, settings=cfg, store=store, index=index)))
        finally:
            pipeline.close()
            store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"rendering": rendering, "wrappers": {"zh": list(ZH_WRAPPERS), "en": list(EN_WRAPPERS)},
            "system": system, "baseline": baseline}


def format_table(report: dict) -> str:
    s, b = report["system"], report["baseline"]
    lines = [f"surface-variant consistency, rendering {report['rendering']}: {s['questions']} questions, "
             f"{len(report['wrappers']['zh'])} Chinese / {len(report['wrappers']['en'])} English wrappers each",
             f"  ask       {s['consistent']}/{s['questions']} = {s['rate']:.1%}",
             f"  baseline  {b['consistent']}/{b['questions']} = {b['rate']:.1%}   (retrieval-only extractive, same run)"]
    for d in s["differs"][:20]:
        lines.append(f"  differs: [{d['id']}] {d['question']}  <- {d['wrappers'][0]}")
    return "\n".join(lines)
