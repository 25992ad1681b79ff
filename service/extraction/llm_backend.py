"""The `llm` and `auto` extraction backends: the network edge around service.extraction.llm_form.

    llm   every project / department unit (and every unit that reads like a form) is read by the model with
          prompts/extract_form.toml; the records come from the model's verified citations only. A unit whose
          calls all fail keeps the rules record, with the reason in its stamp.
    auto  the rules first; the model reads the units the rules could not read (no record) and fills the
          fields of units they read only partly (the coverage verdict's missing fields, per unit); rule-read
          projects get the narrative chain (service.extraction.llm_chain) as before. Where both read the same
          value differently, the rules' value stays and both are kept in the stamp's disagreements.

A unit longer than `llm_max_chunk_chars` is cut between lines with its head and table header repeated
(llm_form.split_unit); chunks run concurrently, at most `llm_max_concurrency` at once. Characters sent and
the token counts the endpoint reports are summed per document in `DocumentExtraction.llm_usage`.
"""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from retrieval.types import Line, LoadedDocument
from service.errors import ConfigError, ExtractionError
from service.extraction.llm_form import FormsReading, Job, build_form, merge_records, plan_jobs, same_form, split_unit
from service.llm import StructuredChatModel, build_chat_model, invoke_structured, model_name_of
from service.models import DepartmentEvaluation, DocumentExtraction, ExtractionStamp, LLMUsage, ProjectEvaluation
from service.prompts import PromptTemplate, load_prompt, render_lines
from service.settings import Settings

log = logging.getLogger(__name__)

PROMPT_ID = "extract_form"


def get_form_prompt() -> PromptTemplate:
    """The form prompt, validated against FormsReading (examples included)."""
    return load_prompt(PROMPT_ID, output_model=FormsReading)


def form_schema_json() -> str:
    return json.dumps(FormsReading.model_json_schema(), ensure_ascii=False)


def build_form_messages(prompt: PromptTemplate, *, document: str, part: str, method: str) -> list:
    from service.llm import few_shot_messages

    return few_shot_messages(prompt, schema_json=form_schema_json(), method=method, part=part, document=document)


def resolve_backend(settings: Settings | None, backend: str | None = None) -> str:
    """rules | llm | auto, from the argument, else settings; `auto` without a model is `rules`.
    `llm` asked for without a model is a configuration error, not a silent rules run."""
    chosen = backend or (settings.extraction_backend if settings is not None else "auto")
    if chosen not in ("rules", "llm", "auto"):
        raise ConfigError(f"unknown extraction backend {chosen!r} (rules, llm or auto)", subject="extraction_backend")
    configured = settings is not None and settings.llm_configured
    if chosen == "llm" and not configured:
        raise ConfigError("the llm backend needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL", subject="extraction_backend")
    if chosen == "auto" and not configured:
        return "rules"
    return chosen


@dataclass
class _Call:
    job: int
    part: int
    lines: list[Line]
    reading: FormsReading | None = None
    reason: str | None = None
    attempts: list[dict] = field(default_factory=list)


def _call(llm: StructuredChatModel, prompt: PromptTemplate, method: str, settings: Settings, call: _Call,
          parts: int) -> _Call:
    messages = build_form_messages(prompt, document=render_lines(call.lines), part=f"{call.part + 1}/{parts}",
                                   method=method)
    call.reading, call.reason, _ = invoke_structured(llm, messages, FormsReading, method=method,
                                                     max_retries=settings.llm_max_retries, what="form reading",
                                                     record=call.attempts)
    return call


def run_llm_backend(extraction: DocumentExtraction, doc: LoadedDocument, settings: Settings, *, backend: str,
                    llm: StructuredChatModel | None = None) -> DocumentExtraction:
    if extraction.doc_id != doc.doc_id:
        raise ExtractionError("extraction and document differ",
                              subject=f"{extraction.doc_id[:12]} vs {doc.doc_id[:12]}")
    started = time.perf_counter()
    if llm is None:
        llm = build_chat_model(settings)
    method = settings.llm_structured_method
    prompt = get_form_prompt()
    usage = LLMUsage(backend=backend, prompt_id=prompt.id, prompt_version=prompt.version)
    narrative_calls: list[dict] = []
    if backend == "auto" and extraction.projects:
        from service.extraction.llm_chain import enrich_with_llm

        extraction = enrich_with_llm(extraction, doc, settings, llm=llm,
                                     max_concurrency=settings.llm_max_concurrency, record=narrative_calls)
    from service.extraction.coverage import assess_coverage

    # the rules' verdict decides what auto sends (computed on the rules' records, before the model adds any)
    status = assess_coverage(doc, extraction).status if backend == "auto" else None
    jobs = plan_jobs(doc, extraction, "llm" if backend == "llm" else "auto", status)
    calls: list[_Call] = []
    parts_of: dict[int, int] = {}
    for j, job in enumerate(jobs):
        chunks = split_unit(job.lines, settings.llm_max_chunk_chars)
        parts_of[j] = len(chunks)
        calls += [_Call(j, k, chunk) for k, chunk in enumerate(chunks)]
    if calls:
        workers = max(1, min(settings.llm_max_concurrency, len(calls)))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jixiao-form") as pool:
                calls = list(pool.map(lambda c: _call(llm, prompt, method, settings, c, parts_of[c.job]), calls))
        else:
            calls = [_call(llm, prompt, method, settings, c, parts_of[c.job]) for c in calls]

    base_stamp = ExtractionStamp(backend="llm", prompt_id=prompt.id, prompt_version=prompt.version,
                                 model=model_name_of(llm, settings), settings_hash=settings.settings_hash())
    projects = list(extraction.projects)
    departments = list(extraction.departments)
    for j, job in enumerate(jobs):
        mine = [c for c in calls if c.job == j]
        records, dropped, kept, failures = _records_of(job, mine, doc.doc_id, base_stamp)
        usage.dropped_values += dropped
        usage.kept_values += kept
        usage.failed_calls += len(failures)
        usage.failures += [f"{job.unit.unit_id}: {f}"[:300] for f in failures]
        if not records and failures:
            if job.purpose == "read":
                # nothing read: the rules record (if any) stays, saying why the model did not replace it;
                # a failed *fill* leaves the rules record as it was (the failure is in llm_usage)
                _note_fallback(projects, departments, job.unit.unit_id, "; ".join(failures)[:300])
            continue
        _place(job, records, projects, departments, usage)
    for c in calls:
        usage.add_attempts(c.attempts)
        if method != "json_mode":
            usage.schema_chars_sent += len(c.attempts) * len(form_schema_json())
    usage.calls = len(calls)
    usage.units = len(jobs)
    usage.add_attempts(narrative_calls)
    usage.narrative_calls = len({r["unit"] for r in narrative_calls})
    usage.seconds = round(time.perf_counter() - started, 3)
    return extraction.model_copy(update={"projects": projects, "departments": departments, "llm_usage": usage})


def _records_of(job: Job, calls: list[_Call], doc_id: str, stamp: ExtractionStamp
                ) -> tuple[list[Any], int, int, list[str]]:
    """Every chunk's forms built and verified against that chunk's lines, then merged by form name
    (a later chunk fills what an earlier one did not show)."""
    records: list[Any] = []
    dropped = kept = 0
    failures: list[str] = []
    for c in sorted(calls, key=lambda c: c.part):
        if c.reading is None:
            failures.append(f"part {c.part + 1}: {c.reason}")
            continue
        for k, form in enumerate(c.reading.forms):
            built = build_form(form, c.lines, doc_id=doc_id, unit_id=job.unit.unit_id, stamp=stamp, index=k)
            dropped += len(built.dropped)
            kept += built.kept
            if built.record is None:
                continue
            same = next((r for r in records if same_form(r, built.record)), None)
            if same is None:
                records.append(built.record)
                continue
            merged, notes, _ = merge_records(same, built.record, first_name="part_a", second_name="part_b",
                                            parts=True)
            merged.stamp.dropped = same.stamp.dropped + built.record.stamp.dropped
            merged.stamp.disagreements = same.stamp.disagreements + notes
            records[records.index(same)] = merged
    for k, rec in enumerate(records):
        if k:  # several forms in one unit: each its own record id
            rec.unit_id = f"{job.unit.unit_id}.{k}"
        if failures:
            rec.stamp.fallback_reason = "some parts were not read: " + "; ".join(failures)[:300]
    return records, dropped, kept, failures


def _place(job: Job, records: list[Any], projects: list[ProjectEvaluation], departments: list[DepartmentEvaluation],
           usage: LLMUsage) -> None:
    uid = job.unit.unit_id
    rules_p = next((p for p in projects if p.unit_id == uid), None)
    rules_d = next((d for d in departments if d.unit_id == uid), None)
    if job.purpose == "fill":
        rules_rec = rules_p or rules_d
        match = next((r for r in records if type(r) is type(rules_rec) and same_form(r, rules_rec)), None)
        match = match or next((r for r in records if type(r) is type(rules_rec)), None)
        if match is None:
            return
        merged, notes, filled = merge_records(rules_rec, match)
        merged.stamp = rules_rec.stamp.model_copy(update={
            "backend": "merged", "prompt_id": match.stamp.prompt_id, "prompt_version": match.stamp.prompt_version,
            "model": match.stamp.model, "disagreements": rules_rec.stamp.disagreements + notes
            + [{"field": f, "kind": "rules_missing", "filled_by": "llm"} for f in filled],
            "dropped": rules_rec.stamp.dropped + match.stamp.dropped})
        usage.filled_fields += len(filled)
        usage.disagreements += len(notes)
        target = projects if isinstance(merged, ProjectEvaluation) else departments
        target[target.index(rules_rec)] = merged
        return
    # read: the model's records stand for this unit (replacing the rules' in the llm backend)
    if rules_p is not None:
        _compare_into(records, rules_p, usage)
        projects.remove(rules_p)
    if rules_d is not None:
        _compare_into(records, rules_d, usage)
        departments.remove(rules_d)
    for r in records:
        (projects if isinstance(r, ProjectEvaluation) else departments).append(r)
        usage.records += 1


def _compare_into(records: list[Any], rules_rec: Any, usage: LLMUsage) -> None:
    """llm backend: the rules' reading of the same form is kept only as disagreements in the stamp."""
    match = next((r for r in records if same_form(r, rules_rec)), None)
    if match is None:
        return
    _, notes, _ = merge_records(match, rules_rec, first_name="llm", second_name="rules")
    match.stamp.disagreements = match.stamp.disagreements + notes
    usage.disagreements += len(notes)


def _note_fallback(projects: list, departments: list, unit_id: str, reason: str) -> None:
    for group in (projects, departments):
        for k, rec in enumerate(group):
            if rec.unit_id == unit_id:
                group[k] = rec.model_copy(update={"stamp": rec.stamp.model_copy(update={"fallback_reason": reason})})
