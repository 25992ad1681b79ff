"""The only orchestrator: one file in, one stored document out.

    validate + load -> unchanged? -> extract -> check (+ 部门决算 accounts) -> store (one transaction) -> index

Nothing touches the store before the single save transaction, so a failure in any earlier stage leaves the
store exactly as it was. The index runs after the commit: the store is the source of truth and an index can
be rebuilt from it, so an index failure is reported as a warning on an otherwise ingested document.

The analysis stages are looked up through one small step table (STEP_TABLE) and passed around as `Steps`,
so tests inject their own and the CLI/API never import the stages directly.
"""
from __future__ import annotations

import contextlib

import hashlib
import importlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, Field

from retrieval.loaders import SUPPORTED, load_bytes, load_path
from retrieval.types import LoadedDocument
from service.errors import ConfigError, JixiaoError
from service.extraction.coverage import assess_coverage
from service.models import Coverage, DocumentExtraction, Finding, ReportUnit
from service.settings import Settings
from service.store import Store

# Failures are returned in IngestResult and shown by the caller once; tracebacks go to debug logging only,
# so a CLI error stays one line.
log = logging.getLogger(__name__)
INDEX_BATCH = 16  # documents per batched index write in a folder ingest (see HybridIndex.upsert_documents)


class IndexLike(Protocol):
    def upsert_document(self, doc: LoadedDocument, units: Sequence[ReportUnit] | None = None) -> Any: ...

    def delete_document(self, doc_id: str) -> Any: ...


@dataclass(frozen=True)
class StepSpec:
    name: str
    module: str
    attr: str


STEP_TABLE: tuple[StepSpec, ...] = (
    StepSpec("extract", "service.extraction", "extract_document"),  # (doc, settings) -> DocumentExtraction
    StepSpec("check", "service.checks", "run_checks"),  # (extraction, doc) -> list[Finding]
    StepSpec("accounts", "service.accounts", "extract_accounts"),  # (doc, unit_id) -> AccountsExtraction | None
    StepSpec("accounts_check", "service.accounts", "check_accounts"),  # (accounts, doc) -> (results, findings)
    StepSpec("index", "service.embeddings", "open_index"),  # (settings) -> IndexLike, embedder per settings
)


@dataclass
class Steps:
    extract: Callable[[LoadedDocument, Settings], DocumentExtraction] | None = None
    check: Callable[[DocumentExtraction, LoadedDocument], list[Finding]] | None = None
    accounts: Callable[[LoadedDocument, str | None], Any] | None = None
    accounts_check: Callable[[Any, LoadedDocument], tuple[list[Any], list[Finding]]] | None = None
    index: Callable[[Settings], IndexLike] | None = None
    skipped: list[str] = field(default_factory=list)  # steps a caller disabled on purpose (tests, tools)


def resolve_steps(table: Sequence[StepSpec] = STEP_TABLE) -> Steps:
    """Import every step. A missing step module is a broken install, never a reason to skip a stage
    silently: ingesting without checks would store documents that look clean."""
    steps = Steps()
    for spec in table:
        try:
            module = importlib.import_module(spec.module)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"pipeline step {spec.name!r}: cannot import {spec.module} ({exc})") from exc
        fn = getattr(module, spec.attr, None)
        if fn is None:
            raise ConfigError(f"{spec.module} has no {spec.attr} (pipeline step {spec.name!r})")
        setattr(steps, spec.name, fn)
    return steps


class IngestResult(BaseModel):
    status: Literal["ingested", "unchanged", "error"]
    filename: str
    path: str | None = None
    doc_id: str | None = None
    kind: str | None = None
    pages: int = 0
    lines: int = 0
    projects: int = 0
    findings: int = 0
    by_severity: dict[str, int] = Field(default_factory=dict)
    message: str = ""
    error_code: str | None = None
    skipped: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    # the reader's verdict (service.models.Coverage): a document that was not (fully) read is never "clean"
    coverage_status: str | None = None
    coverage_reason: str | None = None
    indicator_rows: int = 0

    @property
    def unread(self) -> bool:
        return self.coverage_status in ("partial", "unrecognised")

    @property
    def ok(self) -> bool:
        return self.status != "error"


class ChecksResult(BaseModel):
    doc_id: str
    findings: list[Finding]
    skipped: list[str] = Field(default_factory=list)
    coverage: Coverage | None = None  # what the reader understood: findings cover only that


class _StageError(Exception):
    """An unexpected exception, tagged with the stage it escaped from."""

    def __init__(self, stage: str, exc: BaseException):
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.code = f"{stage}_failed"


def _stage(stage: str, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except JixiaoError:
        raise
    except Exception as exc:
        log.debug("%s failed", stage, exc_info=True)
        raise _StageError(stage, exc) from exc


def _failed(result: IngestResult, code: str, message: str) -> IngestResult:
    # Nothing was stored, so no doc_id: a caller must not look for the document.
    return IngestResult(status="error", filename=result.filename, path=result.path, error_code=code,
                        message=message, skipped=result.skipped)


def _severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {s: counts[s] for s in ("error", "warning", "info") if counts[s]}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _fill_coverage(result: IngestResult, coverage: Coverage) -> None:
    result.coverage_status = coverage.status
    result.coverage_reason = coverage.reason_zh
    result.indicator_rows = coverage.indicator_rows


def _describe(r: IngestResult) -> str:
    sev = ", ".join(f"{n} {s}" for s, n in r.by_severity.items())
    text = ", ".join(_count(n, noun) for n, noun in ((r.pages, "page"), (r.lines, "line"), (r.projects, "project"),
                                                     (r.indicator_rows, "indicator row"), (r.findings, "finding")))
    text = f"{text} ({sev})" if sev else text
    if r.coverage_status == "unrecognised":
        return f"UNRECOGNISED — {r.coverage_reason}; {text}"
    if r.coverage_status == "partial":
        return f"PARTIALLY READ — {r.coverage_reason}; {text}"
    return text


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders become their supported files (recursively, sorted, hidden files skipped).

    A file named explicitly is always kept, so an unsupported one gets the loader's `unsupported_type`
    error instead of vanishing."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = [
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in SUPPORTED
                and not any(part.startswith((".", "~$")) for part in f.relative_to(p).parts)
            ]
            out.extend(sorted(found, key=lambda f: f.relative_to(p).as_posix()))
        else:
            out.append(p)
    return out


class Pipeline:
    """Holds the store, the resolved steps and (lazily) the index for a batch of ingests."""

    def __init__(self, settings: Settings, *, store: Store | None = None, steps: Steps | None = None,
                 index: IndexLike | None = None):
        self.settings = settings
        self._own_store = store is None
        self.store = store if store is not None else Store(settings)
        self.steps = steps if steps is not None else resolve_steps()
        self._index = index
        self._deferred: list | None = None  # (result, doc, units) waiting for their batch's index write

    def close(self) -> None:
        close = getattr(self._index, "close", None)
        if callable(close):
            close()
        if self._own_store:
            self.store.close()

    def refresh_search_state(self) -> None:
        """After a folder ingest: bring the index's search snapshot up to date with what was written, so the
        first question or search afterwards (in any process, the API server included) loads it instead of
        updating it. A cache: a failure here is logged and loses nothing."""
        refresh = getattr(self._index, "refresh_search_state", None)
        if not callable(refresh):  # no index opened: nothing was written to it
            return
        try:
            refresh()
            contains = getattr(self._index, "text_contains", None)
            if callable(contains):  # and the corpus text the Q&A looks unknown names up in
                from service.qa.names import light_key

                contains([], light_key)
        except Exception:  # noqa: BLE001 - the next search builds it instead
            log.warning("could not bring the search snapshot up to date", exc_info=True)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # entry points ------------------------------------------------------------------------------------------

    def ingest_path(self, path: str | Path) -> IngestResult:
        p = Path(path)
        max_bytes = self.settings.max_upload_bytes
        known: str | None = None
        try:
            if p.is_file() and 0 < p.stat().st_size <= max_bytes:
                known = _sha256_file(p)
        except OSError:
            known = None  # let the loader report it with its own code
        return self._ingest(p.name or str(p), str(p), known, lambda: load_path(p, self.settings, max_bytes=max_bytes))

    def ingest_bytes(self, data: bytes, filename: str) -> IngestResult:
        max_bytes = self.settings.max_upload_bytes
        known = hashlib.sha256(data).hexdigest() if 0 < len(data) <= max_bytes else None
        return self._ingest(filename, None, known, lambda: load_bytes(data, filename, self.settings, max_bytes=max_bytes))

    def ingest_many(self, paths: Iterable[str | Path],
                    progress: Callable[[int, int, IngestResult], None] | None = None,
                    workers: int = 1) -> list[IngestResult]:
        files = expand_paths(paths)
        results: list[IngestResult] = []
        for i, r in enumerate(self.iter_ingest(files, workers), 1):
            results.append(r)
            if progress is not None:
                progress(i, len(files), r)
        return results

    def iter_ingest(self, files: Sequence[Path], workers: int = 1) -> Iterator[IngestResult]:
        """Ingest files in order, yielding each result as it is committed. With workers > 1, loading,
        extraction and checks run in that many worker processes while this process alone writes the store
        and the index (one writer); files already stored (same bytes) never leave this process. Each
        document commits on its own, so a run killed halfway resumes by running it again."""
        yield from self._batched_index(self._iter_ingest(files, workers))

    def _iter_ingest(self, files: Sequence[Path], workers: int) -> Iterator[IngestResult]:
        if workers <= 1 or len(files) < 2:
            for f in files:
                yield self.ingest_path(f)
            return
        done: set[int] = set()
        finished = False
        workers_pool = _WorkerPool(workers, self.settings, suffixes={f.suffix.lower() for f in files})
        try:
            workers_pool.start()
            known: dict[int, str] = {}
            for k, f in enumerate(files):
                try:
                    if f.is_file() and 0 < f.stat().st_size <= self.settings.max_upload_bytes:
                        known[k] = _sha256_file(f)
                except OSError:
                    pass
            stored = self.store.stored_documents(set(known.values()))  # one query, not one per file
            for k, f in enumerate(files):
                if known.get(k) in stored:
                    done.add(k)  # unchanged: ingested below (and its index entry repaired if missing)
                else:
                    workers_pool.add(k, f)
            if len(done) < len(files):
                # the writer imports chromadb and opens the collection on a thread while the workers start
                # and read (0.7 s of CPU; it was done by the first batch's write instead, the index not
                # being open yet); the pool forked before this thread started
                with contextlib.suppress(Exception):  # opened again, and reported, by the first write
                    self._open_index()
                warm = getattr(self._index, "warm", None)
                if callable(warm):
                    warm()
            for k, f in enumerate(files):
                if k in done:
                    yield self.ingest_path(f)
                    continue

                def commit(result: IngestResult, k=k, f=f) -> IngestResult:
                    outcome = workers_pool.outcome(k, f)
                    if not isinstance(outcome, Prepared):  # (code, message) of a failure in the worker
                        return _failed(result, *outcome)
                    # stored meanwhile by another writer: the store's transaction says so (created=False)
                    self._commit(result, outcome)
                    return result

                yield self._guarded(f.name or str(f), str(f), commit)
            finished = True
        finally:
            workers_pool.close(abandon=not finished)

    def _batched_index(self, results: Iterator[IngestResult]) -> Iterator[IngestResult]:
        """Index a batch's documents INDEX_BATCH at a time (one Chroma write for all of them) and hand out
        their results once they are indexed, so a result still says "stored, but not indexed" when that
        happened. The store commits every document first, as before: a run killed with documents stored
        but not yet indexed repairs them when it is run again (`_ensure_indexed`).

        A batch is written to the index on one background thread while this thread commits the next
        batch's documents to the store: the index write (Chroma's upsert, a third of a parallel ingest's
        writer time) was the writer's serial part that kept `--workers 2` from being faster than one worker.
        One write is in flight at a time, and results come out in order once their batch is written."""
        import concurrent.futures as cf

        self._deferred = []
        held: list[IngestResult] = []
        pending: tuple[cf.Future, list[IngestResult]] | None = None
        writer = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="jixiao-index")

        def settle() -> list[IngestResult]:
            nonlocal pending
            if pending is None:
                return []
            fut, out = pending
            pending = None
            fut.result()  # _flush_batch records failures on the results; it does not raise
            return out

        try:
            for r in results:
                held.append(r)
                if not self._deferred or len(self._deferred) >= INDEX_BATCH:
                    batch = self._take_batch()
                    yield from settle()
                    if batch:
                        pending = (writer.submit(self._flush_batch, batch), held)
                    else:
                        yield from held
                    held = []
            yield from settle()
            self._flush_batch(self._take_batch())
            yield from held
        finally:
            try:
                with contextlib.suppress(Exception):
                    settle()  # an abandoned run still indexes what it stored
                self._flush_index()
            finally:
                writer.shutdown(wait=True)
                self._deferred = None

    def _take_batch(self) -> list:
        batch, self._deferred = list(self._deferred or ()), ([] if self._deferred is not None else None)
        return batch

    def _flush_index(self) -> None:
        self._flush_batch(self._take_batch())

    def _flush_batch(self, batch: list) -> None:
        if not batch:
            return
        many = getattr(self._index, "upsert_documents", None)
        if not callable(many):  # an index without batched writes: one document at a time
            for result, doc, units, _ in batch:
                self._index_now(result, doc, units)
            return
        try:
            outcomes = many([(doc, units or None, pre) for _, doc, units, pre in batch])
        except Exception as exc:
            log.debug("batched indexing failed", exc_info=True)
            outcomes = [exc] * len(batch)
        for (result, _, _, _), out in zip(batch, outcomes):
            if isinstance(out, Exception):
                result.warnings.append(f"stored, but not indexed: {type(out).__name__}: {out}")

    def run_checks_for(self, doc_ref: str) -> ChecksResult:
        """Re-run the checks on a stored document and make its stored findings exactly their output."""
        doc = self.store.get_loaded(doc_ref)
        skipped = [s for s in self.steps.skipped if s.startswith(("check", "accounts"))]
        coverage = self.store.get_coverage(doc.doc_id)
        if self.steps.check is None and self.steps.accounts_check is None:
            return ChecksResult(doc_id=doc.doc_id, findings=[], skipped=skipped, coverage=coverage)
        findings, artifacts = self._findings(self.store.get_extraction(doc.doc_id), doc)
        self.store.replace_findings(doc.doc_id, findings, artifacts=artifacts)
        return ChecksResult(doc_id=doc.doc_id, findings=findings, skipped=skipped, coverage=coverage)

    # internals ---------------------------------------------------------------------------------------------

    def _ingest(self, filename: str, path: str | None, known_sha: str | None,
                load: Callable[[], LoadedDocument]) -> IngestResult:
        def run(result: IngestResult) -> IngestResult:
            if known_sha is not None and self.store.has_document(known_sha):
                self._fill_unchanged(result, known_sha)
            else:
                self._ingest_new(result, load)
            return result

        return self._guarded(filename, path, run)

    def _guarded(self, filename: str, path: str | None, run: Callable[[IngestResult], IngestResult]) -> IngestResult:
        """One file's ingest, timed, with every failure turned into its result: a batch goes on past anything
        one file does."""
        started = time.perf_counter()
        result = IngestResult(status="error", filename=filename, path=path, skipped=list(self.steps.skipped))
        try:
            result = run(result)
        except JixiaoError as exc:
            result = _failed(result, exc.code, exc.message)
        except _StageError as exc:
            result = _failed(result, exc.code, str(exc))
        except Exception as exc:  # a batch must go on past anything one file does
            log.debug("ingest of %s failed", filename, exc_info=True)
            result = _failed(result, "internal_error", f"{type(exc).__name__}: {exc}")
        result.seconds = round(time.perf_counter() - started, 3)
        return result

    def _ingest_new(self, result: IngestResult, load: Callable[[], LoadedDocument]) -> None:
        doc = load()
        result.doc_id, result.kind = doc.doc_id, doc.kind
        if self.store.has_document(doc.doc_id):
            self._fill_unchanged(result, doc.doc_id)
            return
        self._commit(result, self.prepare(doc))

    def prepare(self, doc: LoadedDocument) -> Prepared:
        """Everything that needs no store: extraction, findings, artifacts, the coverage verdict. Pure on the
        loaded document, so `ingest_many(workers=N)` runs it in worker processes."""
        extraction = (_stage("extract", self.steps.extract, doc, self.settings)
                      if self.steps.extract is not None else None)
        findings, artifacts = self._findings(extraction or DocumentExtraction(doc_id=doc.doc_id), doc)
        if extraction is not None:
            accounts = next((a for kind, _, a in artifacts if kind == "accounts"), None)
            extraction.coverage = assess_coverage(doc, extraction,
                                                  accounts_tables=len(accounts.tables) if accounts else 0)
        return Prepared(doc, extraction, findings, artifacts)

    def _commit(self, result: IngestResult, prepared: Prepared) -> None:
        """The store's one transaction, then the index: always in this (the writer's) process."""
        doc, extraction, findings, artifacts, index_input = prepared
        result.doc_id, result.kind = doc.doc_id, doc.kind
        _, created = _stage("store", lambda: self.store.save_document(doc, extraction, findings, artifacts=artifacts))
        if not created:  # another writer stored the same bytes between our check and our commit
            self._fill_unchanged(result, doc.doc_id)
            return
        result.status = "ingested"
        result.pages, result.lines = len(doc.pages), doc.line_count
        result.projects = len(extraction.projects) if extraction else 0
        result.findings, result.by_severity = len(findings), _severity_counts(findings)
        if extraction is not None and extraction.coverage is not None:
            _fill_coverage(result, extraction.coverage)
        result.message = _describe(result)
        self._index_document(result, doc, extraction.units if extraction is not None else None, index_input)

    def _findings(self, extraction: DocumentExtraction, doc: LoadedDocument) -> tuple[list[Finding], list]:
        """Findings of every check step, and the artifacts to store with them (部门决算 tables and the
        results of their checks, passing ones included, so a reader sees what holds)."""
        findings: list[Finding] = []
        artifacts: list[tuple[str, str, Any]] = []
        if self.steps.check is not None:
            findings.extend(_stage("check", self.steps.check, extraction, doc))
        if self.steps.accounts is not None:
            unit_id = next((u.unit_id for u in extraction.units if u.kind == "accounts"), None)
            accounts = _stage("accounts", self.steps.accounts, doc, unit_id)
            if accounts is not None:
                artifacts.append(("accounts", accounts.unit_id, accounts))
                if self.steps.accounts_check is not None:
                    results, more = _stage("accounts_check", self.steps.accounts_check, accounts, doc)
                    artifacts.append(("accounts_checks", accounts.unit_id, list(results)))
                    findings.extend(more)
        return findings, artifacts

    def _index_document(self, result: IngestResult, doc: LoadedDocument, units: list[ReportUnit] | None,
                        index_input: Any = None) -> None:
        if self._index is None and self.steps.index is not None:
            try:
                self._open_index()
            except Exception as exc:
                log.debug("opening the index failed", exc_info=True)
                result.warnings.append(f"stored, but not indexed: {type(exc).__name__}: {exc}")
                return
        if self._index is None:
            return
        if self._deferred is not None:  # inside iter_ingest: written with the rest of its batch
            self._deferred.append((result, doc, units, index_input))
            return
        self._index_now(result, doc, units)

    def _open_index(self) -> None:
        if self._index is None and self.steps.index is not None:
            self._index = self.steps.index(self.settings)

    def _index_now(self, result: IngestResult, doc: LoadedDocument, units: list[ReportUnit] | None) -> None:
        try:
            # No units (extraction skipped or found none): the index segments the document itself.
            self._index.upsert_document(doc, units or None)
        except Exception as exc:
            log.debug("indexing %s failed", doc.filename, exc_info=True)
            result.warnings.append(f"stored, but not indexed: {type(exc).__name__}: {exc}")

    def _fill_unchanged(self, result: IngestResult, doc_id: str) -> None:
        doc = self.store.get_document(doc_id)
        result.status = "unchanged"
        result.doc_id, result.kind = doc.doc_id, doc.kind
        result.pages, result.lines, result.projects = doc.page_count, doc.line_count, doc.projects
        result.by_severity = doc.findings
        result.findings = sum(doc.findings.values())
        result.coverage_status, result.coverage_reason = doc.coverage_status, doc.coverage_reason
        result.message = "already stored (same bytes); nothing changed"
        if result.unread:
            result.message += f"; {result.coverage_status.upper()} — {result.coverage_reason}"
        self._ensure_indexed(result, doc.doc_id)

    def _ensure_indexed(self, result: IngestResult, doc_id: str) -> None:
        """A stored document whose indexing failed earlier (the store commits first) is indexed now from
        its stored lines, so ingesting it again repairs search instead of only saying "unchanged"."""
        if self.steps.index is None:
            return
        try:
            self._open_index()
            if doc_id in self._index.documents():
                return
        except Exception:  # an index we cannot read is reported by the next real indexing attempt
            log.debug("index check for %s failed", doc_id, exc_info=True)
            return
        self._index_now(result, self.store.get_loaded(doc_id), self.store.list_units(doc_id))  # not deferred: its message says so now
        if not result.warnings:
            result.message += "; its missing search index entry was rebuilt"


class Prepared(NamedTuple):
    doc: LoadedDocument
    extraction: DocumentExtraction | None
    findings: list[Finding]
    artifacts: list
    # the document's chunks and vectors when a worker made them (retrieval.index.IndexInput): the writer
    # then only writes; None in one process, where the index makes them as it writes
    index_input: Any = None


_WORKER_PIPELINE: Pipeline | None = None


class _WorkerPool:
    """Worker processes that read files for the one writer. A worker that dies (a signal, the kernel, a C
    library aborting at the memory cap) breaks the whole ProcessPoolExecutor and fails every pending future
    with it, so a break must not be charged to every queued file: the file at the head of the line is read
    again alone in a fresh one-worker pool (if that dies too, it is the culprit: `worker_crashed`), and the
    files behind it go to a new pool. Innocent files are read twice at worst; the batch always goes on."""

    def __init__(self, workers: int, settings: Settings,
                 read: Callable[[str, Settings], Prepared | tuple[str, str]] | None = None,
                 suffixes: Iterable[str] | None = None) -> None:
        import multiprocessing

        self.workers = workers
        self.settings = settings
        self.suffixes = set(suffixes) if suffixes is not None else None  # the files' kinds (None: any)
        self.read = read or _prepare_in_worker  # module-level, so a spawned worker can import it
        self.ctx = multiprocessing.get_context("spawn")  # no fork of a process holding SQLite and Chroma handles
        self.spool: str | None = None  # where workers leave their results (_spool_result); made by start()
        self.pool: Any = None
        self.futures: dict[int, Any] = {}
        self.queued: list[tuple[int, Path]] = []

    def _new_pool(self, workers: int, ctx: Any = None) -> Any:
        import concurrent.futures as cf

        # the settings and the reader go to each worker once, not pickled again with every file (100 copies
        # of the settings were a third of a core for the writer's queue thread on 100 one-page forms)
        cap = self.settings.worker_memory_mb
        if ctx is not None and ctx.get_start_method() == "fork" and cap > 0:
            # a forked worker starts with the writer's heap (RLIMIT_DATA counts it): the cap is what it may
            # allocate on top of that, as a spawned worker may on top of its imports
            cap += _data_segment_mb()
        with _read_ahead(READ_AHEAD):
            return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx or self.ctx, initializer=_init_worker,
                                          initargs=(cap, self.read, self.settings, self.spool))

    def start(self) -> None:
        """Create the first pool now, before the writer opens Chroma (its threads) and while it is still
        checking which files are already stored."""
        if self.spool is None:
            import tempfile

            self.spool = tempfile.mkdtemp(prefix="jixiao-read-")
        if self.pool is None:
            self.pool = self._new_pool(self.workers, self._first_context())

    def _first_context(self) -> Any:
        """The first pool forks from the writer when that is safe, and spawns otherwise.

        A spawned worker imports the service and loads the tokenizer before its first file (about 1 s of CPU
        each on one-page forms, 2 of the 14 CPU-seconds of a 100-form `--workers 2` ingest on two cores). A
        forked one starts with what the writer has already loaded, so the writer loads the readers and the
        tokenizer once, before the pool (a one-worker ingest loads them too). Fork only while this process
        runs no other Python thread (a lock held by a thread at fork time would stay held in the child): the
        CLI's progress bar refreshes without a thread for that reason. The workers never touch the store or
        the index the writer holds open; a pool made after a worker died spawns (`self.ctx`), since Chroma's
        threads are running by then. JIXIAO_WORKER_START=spawn turns the fork off."""
        import multiprocessing

        if (os.environ.get("JIXIAO_WORKER_START", "").strip().lower() == "spawn"
                or threading.active_count() != 1 or "fork" not in multiprocessing.get_all_start_methods()):
            return None
        if self.read is _prepare_in_worker:
            _preload_reader(self.settings, self.suffixes)
        return multiprocessing.get_context("fork")

    def add(self, k: int, f: Path) -> None:
        self.start()
        self.queued.append((k, f))
        self.futures[k] = self.pool.submit(_read_in_worker, str(f))

    def submit(self, todo: Sequence[tuple[int, Path]]) -> None:
        self.queued, self.futures = [], {}
        self.pool = None
        for k, f in todo:
            self.add(k, f)

    def outcome(self, k: int, f: Path) -> Prepared | tuple[str, str]:
        from concurrent.futures.process import BrokenProcessPool

        future = self.futures.pop(k)
        try:
            return _unspool(future.result())
        except BrokenProcessPool:
            log.warning("a reading worker died while %s was queued; reading it again alone", f)
        self.pool.shutdown(wait=True, cancel_futures=True)
        outcome = self._alone(f)
        self.submit([(j, g) for j, g in self.queued if j > k])
        return outcome

    def _alone(self, f: Path) -> Prepared | tuple[str, str]:
        from concurrent.futures.process import BrokenProcessPool

        pool = self._new_pool(1)
        try:
            return _unspool(pool.submit(_read_in_worker, str(f)).result())
        except BrokenProcessPool:
            cap = self.settings.worker_memory_mb
            return ("worker_crashed", "the process reading this file died (out of memory or a crash in a parser"
                    + (f"; the memory cap is JIXIAO_WORKER_MEMORY_MB={cap} MB" if cap > 0 else "")
                    + "); nothing of it was stored")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self, abandon: bool = False) -> None:
        """Shut the pool down; `abandon` (the run stopped early: an interrupt, a consumer that went away)
        stops the workers at once instead of letting them read the READ_AHEAD files already queued to them,
        which nobody would take. Workers write nothing but their spool files, so nothing is lost."""
        if self.pool is not None:
            if abandon:
                _stop_workers(self.pool)
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.spool is not None:  # results read by nobody (a run stopped early) go with it
            import shutil

            shutil.rmtree(self.spool, ignore_errors=True)


def _stop_workers(pool: Any) -> None:
    """Terminate a pool's worker processes (the public call is Python 3.14's; before, its process table)."""
    stop = getattr(pool, "terminate_workers", None)
    if callable(stop):
        stop()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()


# Why the workers need none of the writer's threads while they read: Chroma's upsert (Rust) holds the GIL
# for its whole call, ~0.4 s for a batch of 16 one-page forms, and meanwhile no other thread of the writer
# runs, the pool's own included. With ProcessPoolExecutor's defaults a worker had at most one more file
# queued, so both workers sat idle through every index write (1 s of each worker's 5.7 s on 100 one-page
# forms). So READ_AHEAD more files wait in the workers' queue (a batch's write lasts ~4 one-page forms of a
# worker's time), and a worker leaves its result (~100 KB pickled, vectors mostly) in a file and sends only
# the file's name, instead of a pipe only the writer's threads empty (64 KB by default; it was widened
# through a private attribute of the pool before).
READ_AHEAD = INDEX_BATCH


@contextlib.contextmanager
def _read_ahead(extra: int) -> Iterator[None]:
    """A ProcessPoolExecutor made inside queues `extra` calls to its workers beyond one each (not one). Its
    constructor reads the queue's size from a module constant (CPython 3.8-3.13); where there is none, the
    pool has the default depth and works as before, only slower through an index write."""
    import concurrent.futures.process as cfp

    with _READ_AHEAD_LOCK:
        saved = getattr(cfp, "EXTRA_QUEUED_CALLS", None)
        if saved is None:
            yield
            return
        cfp.EXTRA_QUEUED_CALLS = max(saved, extra)
        try:
            yield
        finally:
            cfp.EXTRA_QUEUED_CALLS = saved


_READ_AHEAD_LOCK = threading.Lock()


class _Spooled(NamedTuple):
    """A worker's result left in a file (see READ_AHEAD): its path."""
    path: str


def _spool_result(result: Prepared | tuple[str, str]) -> Prepared | tuple[str, str] | _Spooled:
    """In a worker: a Prepared written to a file of the spool directory; anything else (a failure's small
    tuple), or a Prepared that could not be written, goes through the pipe as it is."""
    if _WORKER_SPOOL is None or not isinstance(result, Prepared):
        return result
    import pickle
    import tempfile

    name = None
    try:
        fd, name = tempfile.mkstemp(dir=_WORKER_SPOOL, suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            # protocol 4, as the pool's pipe used: with 5 the vectors come back as views of the buffer read
            # from the file, and the peak RSS of a 1,000-form ingest rose 747 -> 926 MB (measured; which
            # reference keeps them was not run down)
            pickle.dump(result, fh, protocol=4)
        return _Spooled(name)
    except OSError:  # a full disk: the pipe still works
        log.debug("could not spool a result", exc_info=True)
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)
        return result


def _unspool(result: Any) -> Prepared | tuple[str, str]:
    """In the writer: a spooled result read back (and its file removed)."""
    if not isinstance(result, _Spooled):
        return result
    import pickle

    try:  # the spool is this run's own directory (mkdtemp: mode 0700), so it holds only our workers' files
        with open(result.path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        return ("internal_error", f"the worker's result could not be read back: {exc}")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(result.path)


# the library each kind of file is read with (the loaders import them lazily)
_READER_MODULES = {".pdf": "pdfplumber", ".docx": "docx", ".xlsx": "openpyxl"}


def _preload_reader(settings: Settings, suffixes: Iterable[str] | None = None) -> None:
    """What a worker loads before its first file, loaded in the writer for forked workers to inherit: the
    readers of the kinds of file in the batch (`suffixes`; None: every reader), and the tokenizer. This runs
    before the first worker starts, so a library no file needs is time nothing else runs in (openpyxl is
    0.1 s, a tenth of this preload, for a folder of PDFs)."""
    kinds = _READER_MODULES.keys() if suffixes is None else set(suffixes) & _READER_MODULES.keys()
    for module in sorted(_READER_MODULES[k] for k in kinds):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    if settings.embedding_backend == "hashed":  # the only case in which workers cut tokens
        from retrieval.index import get_tokenizer

        get_tokenizer(Path(settings.data_dir) / "jieba")


_WORKER_READ: Callable[[str, Settings], Prepared | tuple[str, str]] | None = None
_WORKER_SETTINGS: Settings | None = None
_WORKER_SPOOL: str | None = None


def _init_worker(memory_mb: int, read: Callable[[str, Settings], Prepared | tuple[str, str]],
                 settings: Settings, spool: str | None = None) -> None:
    global _WORKER_READ, _WORKER_SETTINGS, _WORKER_SPOOL
    _WORKER_READ, _WORKER_SETTINGS, _WORKER_SPOOL = read, settings, spool
    _limit_worker_memory(memory_mb)


def _read_in_worker(path: str) -> Prepared | tuple[str, str] | _Spooled:
    assert _WORKER_READ is not None and _WORKER_SETTINGS is not None, "a worker started without _init_worker"
    return _spool_result(_WORKER_READ(path, _WORKER_SETTINGS))


def _prepare_in_worker(path: str, settings: Settings) -> Prepared | tuple[str, str]:
    """Load and analyse one file in a worker process: a Prepared, or (error code, message). The worker's
    pipeline is built without a store or an index: workers never write."""
    global _WORKER_PIPELINE
    if _WORKER_PIPELINE is None:
        _WORKER_PIPELINE = Pipeline.__new__(Pipeline)
        _WORKER_PIPELINE.settings, _WORKER_PIPELINE.steps, _WORKER_PIPELINE._index = settings, resolve_steps(), None
    try:
        doc = load_path(Path(path), settings, max_bytes=settings.max_upload_bytes)
        prepared = _WORKER_PIPELINE.prepare(doc)
        return prepared._replace(index_input=_worker_index_input(prepared, settings))
    except JixiaoError as exc:
        return (exc.code, exc.message)
    except _StageError as exc:
        return (exc.code, str(exc))
    except MemoryError:
        return ("worker_memory", f"reading this file needed more than JIXIAO_WORKER_MEMORY_MB="
                                 f"{settings.worker_memory_mb} MB; nothing of it was stored")
    except Exception as exc:
        return ("internal_error", f"{type(exc).__name__}: {exc}")


_WORKER_EMBEDDER: Any = None


def _worker_index_input(prepared: Prepared, settings: Settings) -> Any:
    """The document's chunks and vectors, made in the worker so the writer only writes them. Only for the
    local embedder (an endpoint's embeddings stay with the writer, which batches its requests); any failure
    leaves it to the writer, which makes them as it always did."""
    global _WORKER_EMBEDDER
    if settings.embedding_backend != "hashed" or _WORKER_PIPELINE is None or _WORKER_PIPELINE.steps.index is None:
        return None
    try:
        from retrieval.embedding import make_embedder
        from retrieval.index import get_tokenizer, prepare_index_input

        if _WORKER_EMBEDDER is None:
            _WORKER_EMBEDDER = make_embedder(settings)
        units = prepared.extraction.units if prepared.extraction is not None else None
        # the same tokenizer (and dictionary cache) the writer's index would load
        return prepare_index_input(prepared.doc, units or None, settings, _WORKER_EMBEDDER,
                                   tokenizer=get_tokenizer(Path(settings.data_dir) / "jieba"))
    except Exception:
        log.debug("chunking in the worker failed; the writer will", exc_info=True)
        return None


def _data_segment_mb() -> int:
    """This process's data segment (VmData, what RLIMIT_DATA measures) in MB; 0 where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) // 1024 + 1
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _limit_worker_memory(mb: int) -> None:
    """Cap a worker's data segment (heap and anonymous mappings: RLIMIT_DATA, not RLIMIT_AS, which would also
    count shared libraries and thread stacks that are never touched). An allocation past it raises MemoryError
    in that worker, which fails only the file being read; the pool and the writer go on."""
    if mb <= 0:
        return
    try:
        import resource

        limit = mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    except (ImportError, ValueError, OSError):  # not on this platform: the loaders' limits still hold
        log.debug("could not cap worker memory", exc_info=True)


# Module-level conveniences: one pipeline per call. Batch callers should hold a Pipeline instead.

def ingest_path(path: str | Path, settings: Settings, **kw: Any) -> IngestResult:
    with Pipeline(settings, **kw) as p:
        return p.ingest_path(path)


def ingest_bytes(data: bytes, filename: str, settings: Settings, **kw: Any) -> IngestResult:
    with Pipeline(settings, **kw) as p:
        return p.ingest_bytes(data, filename)


def ingest_many(paths: Iterable[str | Path], settings: Settings,
                progress: Callable[[int, int, IngestResult], None] | None = None, **kw: Any) -> list[IngestResult]:
    with Pipeline(settings, **kw) as p:
        return p.ingest_many(paths, progress)


def run_checks_for(doc_ref: str, settings: Settings, **kw: Any) -> ChecksResult:
    with Pipeline(settings, **kw) as p:
        return p.run_checks_for(doc_ref)
