"""The store: one repository object over SQLAlchemy Core.

A document is written in ONE transaction (document, lines, tables, units, projects, findings,
artifacts), keyed by the sha256 of its bytes. The primary key is the only arbiter of "already stored": two
writers racing on the same bytes both try to insert, one wins, the other gets an IntegrityError and reports
"unchanged". On SQLite every write transaction starts with BEGIN IMMEDIATE so that a writer waits for the
lock (busy_timeout) instead of failing half-way with a stale read snapshot; reads stay DEFERRED, and WAL lets
them run beside a writer.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, and_, create_engine, delete, event, exists, func, insert, inspect, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from retrieval.types import Cell, Line, LoadedDocument, Page, Table
from service.errors import InputError, NotFoundError
from service.models import (
    Coverage,
    DepartmentEvaluation,
    DocumentExtraction,
    Figure,
    Finding,
    ProjectEvaluation,
    ReportUnit,
    SummaryTable,
)
from service.settings import Settings
from service.store import schema as t
from service.store.records import ArtifactRow, DocumentRow, FindingRow, ProjectRow

SEVERITY_ORDER = ("error", "warning", "info")
_SQLITE_BUSY_MS = 60_000
_YEAR = re.compile(r"(20\d{2})\s*年")
_MIN_PREFIX = 4


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is always DEFERRED).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_MS / 1000, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _add_missing_columns(conn: Connection) -> None:
    """Additive schema changes for a store made by an older version: a nullable column the tables now
    declare but the database lacks is added (ALTER TABLE … ADD COLUMN), and so is an index they declare, so
    an existing data dir keeps working. Anything else (a changed type, a new NOT NULL column) would need a
    real migration."""
    inspector = inspect(conn)
    for table in t.metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for col in table.columns:
            if col.name in have:
                continue
            if not col.nullable or col.primary_key:
                raise RuntimeError(f"store schema: {table.name}.{col.name} is missing and cannot be added "
                                   "in place; ingest into a new data dir")
            ddl = col.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {ddl}')
    # indexes declared since the tables were made (create_all makes those of new tables only)
    for table in t.metadata.sorted_tables:
        have_ix = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for ix in table.indexes:
            if ix.name not in have_ix:
                ix.create(conn, checkfirst=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _value(fig: Figure | None) -> Decimal | None:
    return fig.value if fig is not None else None


def _json(payload: Any) -> Any:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    if isinstance(payload, (list, tuple)):
        return [_json(p) for p in payload]
    return payload


def document_year(loaded: LoadedDocument, extraction: DocumentExtraction | None) -> int | None:
    """The year the report is about: what the extracted units say, else the first `20xx年` on page 1."""
    if extraction is not None:
        years = [p.year for p in extraction.projects if p.year] + [d.year for d in extraction.departments if d.year]
        if years:
            return Counter(years).most_common(1)[0][0]
    for line in loaded.pages[0].lines[:60] if loaded.pages else []:
        m = _YEAR.search(line.text)
        if m:
            return int(m.group(1))
    return None


def document_title(loaded: LoadedDocument) -> str | None:
    if loaded.title:
        return loaded.title
    for line in loaded.iter_lines():
        if line.kind == "text":
            return line.text[:200]
    return None


def _project_values(p: ProjectEvaluation) -> dict[str, Any]:
    budget, executed, rate = _value(p.funds.adjusted_budget), _value(p.funds.executed), _value(p.funds.reported_rate)
    exec_rate = executed * 100 / budget if budget and executed is not None else rate
    return {
        "doc_id": p.doc_id, "unit_id": p.unit_id, "name": p.project, "year": p.year, "amount_unit": p.funds.unit,
        "adjusted_budget": budget, "executed": executed, "execution_rate": exec_rate, "reported_rate": rate,
        "reported_total": _value(p.reported_total),
        "reported_grade": p.reported_grade.text if p.reported_grade else None,
        "payload": _json(p),
    }


def _line_of(r) -> Line:
    """A stored line row as the loader's Line."""
    return Line(page=r.page, line_no=r.line_no, text=r.text, raw=r.raw, kind=r.kind, cells=r.cells,
                grid=[tuple(g) for g in r.grid] if r.grid else None, table_index=r.table_index,
                row_index=r.row_index)


def _finding_values(doc_id: str, f: Finding) -> dict[str, Any]:
    if f.doc_id != doc_id:
        raise ValueError(f"finding {f.rule_id} belongs to {f.doc_id[:12]}, not {doc_id[:12]}")
    return {"doc_id": doc_id, "unit_id": f.unit_id, "project": f.project, "rule_id": f.rule_id,
            "severity": f.severity, "payload": _json(f)}


class Store:
    """Repository over the jixiao tables. Thread-safe: share one instance; each call uses its own connection."""

    def __init__(self, settings: Settings, *, engine: Engine | None = None):
        self.settings = settings
        self.url = settings.resolved_database_url
        self.engine = engine or make_engine(self.url)
        with self._write() as conn:
            t.metadata.create_all(conn)
            _add_missing_columns(conn)
            self._backfill_facts(conn)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # documents ---------------------------------------------------------------------------------------------

    def has_document(self, doc_id: str) -> bool:
        with self._read() as conn:
            return conn.execute(select(t.documents.c.doc_id).where(t.documents.c.doc_id == doc_id)).first() is not None

    def stored_documents(self, doc_ids: Iterable[str]) -> set[str]:
        """Which of these documents are stored (one query per 500 ids)."""
        ids, out = sorted(set(doc_ids)), set()
        with self._read() as conn:
            for i in range(0, len(ids), 500):
                col = t.documents.c.doc_id
                out.update(r[0] for r in conn.execute(select(col).where(col.in_(ids[i:i + 500]))))
        return out

    def save_document(
        self,
        loaded: LoadedDocument,
        extraction: DocumentExtraction | None = None,
        findings: Sequence[Finding] | None = None,
        *,
        artifacts: Iterable[tuple[str, str, Any]] = (),
    ) -> tuple[str, bool]:
        """Store a document and everything derived from it. Returns (doc_id, created); the same bytes a second
        time write nothing and return created=False."""
        doc_id = loaded.doc_id
        if extraction is not None and extraction.doc_id != doc_id:
            raise ValueError(f"extraction is for {extraction.doc_id[:12]}, document is {doc_id[:12]}")
        if self.has_document(doc_id):
            return doc_id, False
        now = datetime.now(timezone.utc)
        extra = [(kind, key, _json(p)) for kind, key, p in artifacts]
        coverage = extraction.coverage if extraction is not None else None
        if extraction is not None:
            extra += [("summary", s.unit_id, _json(s)) for s in extraction.summaries]
            extra += [("department", d.unit_id, _json(d)) for d in extraction.departments]
            if coverage is not None:
                extra.append(("coverage", "document", _json(coverage)))
            if extraction.llm_usage is not None:  # what the model backends cost for this document
                extra.append(("llm_usage", "document", _json(extraction.llm_usage)))
        try:
            with self._write() as conn:
                # The document row goes first: a concurrent writer of the same bytes fails here, before any work.
                conn.execute(insert(t.documents).values(
                    doc_id=doc_id, filename=loaded.filename, kind=loaded.kind, size_bytes=loaded.size_bytes,
                    page_count=len(loaded.pages), line_count=loaded.line_count, title=document_title(loaded),
                    year=document_year(loaded, extraction), ingested_at=now,
                    coverage_status=coverage.status if coverage else None,
                    coverage_reason=coverage.reason_zh if coverage else None,
                ))
                self._insert_many(conn, t.lines, [
                    {"doc_id": doc_id, "page": ln.page, "line_no": ln.line_no, "kind": ln.kind, "text": ln.text,
                     "raw": ln.raw, "cells": ln.cells, "grid": [list(g) for g in ln.grid] if ln.grid else None,
                     "table_index": ln.table_index, "row_index": ln.row_index}
                    for ln in loaded.iter_lines()
                ])
                self._insert_many(conn, t.doc_tables, [
                    {"doc_id": doc_id, "page": tb.page, "idx": tb.index, "first_line": tb.first_line,
                     "bbox": list(tb.bbox) if tb.bbox else None,
                     "rows": [[{"text": c.text, "bbox": list(c.bbox) if c.bbox else None} for c in row]
                              for row in tb.rows]}
                    for page in loaded.pages for tb in page.tables
                ])
                if extraction is not None:
                    self._insert_many(conn, t.units, [u.model_dump() for u in extraction.units])
                    self._insert_many(conn, t.projects, [_project_values(p) for p in extraction.projects])
                    self._write_facts(conn, doc_id, extraction.projects, findings or ())
                self._insert_many(conn, t.findings, [_finding_values(doc_id, f) for f in findings or ()])
                self._insert_many(conn, t.artifacts, [
                    {"doc_id": doc_id, "kind": kind, "key": key, "payload": payload, "updated_at": now}
                    for kind, key, payload in extra
                ])
        except IntegrityError:
            if self.has_document(doc_id):
                return doc_id, False
            raise
        return doc_id, True

    @staticmethod
    def _write_facts(conn: Connection, doc_id: str, projects: Sequence[ProjectEvaluation],
                     findings: Sequence[Finding]) -> None:
        """(Re)write the project_facts rows of a document's projects, already stored (their ids are read)."""
        from service.qa.facts import facts_of

        conn.execute(delete(t.project_facts).where(t.project_facts.c.doc_id == doc_id))
        ids = dict(conn.execute(select(t.projects.c.unit_id, t.projects.c.id).where(t.projects.c.doc_id == doc_id)).all())
        by_unit: dict[str, list[Finding]] = {}
        for f in findings:
            by_unit.setdefault(f.unit_id, []).append(f)
        Store._insert_many(conn, t.project_facts, [
            {**facts_of(p, by_unit.get(p.unit_id, [])), "project_id": ids[p.unit_id], "doc_id": doc_id}
            for p in projects if p.unit_id in ids])

    @classmethod
    def _rewrite_facts(cls, conn: Connection, doc_id: str, findings: Sequence[Finding]) -> None:
        """_write_facts for a document already stored, its projects read back from the store."""
        p = t.projects
        projects = [ProjectEvaluation.model_validate(r.payload) for r in conn.execute(
            select(p.c.payload).where(p.c.doc_id == doc_id).order_by(p.c.id))]
        cls._write_facts(conn, doc_id, projects, findings)

    def _backfill_facts(self, conn: Connection) -> None:
        """A store made before project_facts existed: the facts of every project lacking them, per document."""
        p, pf = t.projects, t.project_facts
        docs = [r[0] for r in conn.execute(
            select(p.c.doc_id).where(~exists().where(pf.c.project_id == p.c.id)).distinct())]
        for doc_id in docs:
            self._rewrite_facts(conn, doc_id, [Finding.model_validate(r.payload) for r in conn.execute(
                select(t.findings.c.payload).where(t.findings.c.doc_id == doc_id))])

    @staticmethod
    def _insert_many(conn: Connection, table, rows: list[dict[str, Any]]) -> None:
        if rows:
            conn.execute(insert(table), rows)

    def delete_document(self, doc_id: str) -> bool:
        with self._write() as conn:
            return conn.execute(delete(t.documents).where(t.documents.c.doc_id == doc_id)).rowcount > 0

    def get_document(self, ref: str) -> DocumentRow:
        """A document by full id, unique id prefix (≥4 hex chars) or file name."""
        ref = ref.strip()
        d = t.documents
        with self._read() as conn:
            rows = conn.execute(select(d.c.doc_id).where(d.c.doc_id == ref.lower())).all()
            if not rows and len(ref) >= _MIN_PREFIX and re.fullmatch(r"[0-9a-fA-F]+", ref):
                rows = conn.execute(select(d.c.doc_id).where(d.c.doc_id.startswith(ref.lower()))).all()
            if not rows:
                rows = conn.execute(select(d.c.doc_id).where(d.c.filename == ref)).all()
        if not rows:
            raise NotFoundError("no such document (give a doc id, a unique id prefix or a file name)", subject=ref)
        if len(rows) > 1:
            ids = ", ".join(r.doc_id[:12] for r in rows[:5])
            raise InputError(f"matches {len(rows)} documents ({ids}); give more of the id", subject=ref,
                             code="ambiguous_document")
        return self.list_documents(doc_ids=[rows[0].doc_id])[0]

    def list_documents(self, *, doc_ids: Sequence[str] | None = None) -> list[DocumentRow]:
        d = t.documents
        q = select(d).order_by(d.c.ingested_at, d.c.filename)
        if doc_ids is not None:
            q = q.where(d.c.doc_id.in_(doc_ids))
        with self._read() as conn:
            docs = conn.execute(q).mappings().all()
            # counted for the asked documents only: get_document (every get_lines, every citation check) asks
            # for one, and whole-table GROUP BYs made that cost grow with the corpus
            pq = select(t.projects.c.doc_id, func.count()).group_by(t.projects.c.doc_id)
            fq = select(t.findings.c.doc_id, t.findings.c.severity, func.count(), func.max(t.findings.c.id)).group_by(
                t.findings.c.doc_id, t.findings.c.severity)
            if doc_ids is not None:
                pq = pq.where(t.projects.c.doc_id.in_(doc_ids))
                fq = fq.where(t.findings.c.doc_id.in_(doc_ids))
            n_projects = dict(conn.execute(pq).all())
            by_sev: dict[str, dict[str, int]] = {}
            newest: dict[str, int] = {}
            for doc_id, sev, n, top in conn.execute(fq):
                by_sev.setdefault(doc_id, {})[sev] = n
                newest[doc_id] = max(newest.get(doc_id, 0), top or 0)
        return [
            DocumentRow(**{**row, "ingested_at": _utc(row["ingested_at"])}, projects=n_projects.get(row["doc_id"], 0),
                        findings={s: by_sev[row["doc_id"]][s] for s in SEVERITY_ORDER
                                  if s in by_sev.get(row["doc_id"], {})},
                        findings_version=newest.get(row["doc_id"], 0))
            for row in docs
        ]

    # lines and tables ----------------------------------------------------------------------------------------

    def get_lines(self, doc_id: str, page: int | None = None) -> list[Line]:
        doc = self.get_document(doc_id)
        if page is not None and not 1 <= page <= doc.page_count:
            raise NotFoundError(f"no page {page}; the document has pages 1–{doc.page_count}", subject=doc.filename)
        q = select(t.lines).where(t.lines.c.doc_id == doc.doc_id).order_by(t.lines.c.page, t.lines.c.line_no)
        if page is not None:
            q = q.where(t.lines.c.page == page)
        with self._read() as conn:
            return [_line_of(r) for r in conn.execute(q)]

    def lines_in(self, spans: Sequence[tuple[str, int, int, int]]) -> dict[tuple[str, int], list[Line]]:
        """The lines of many (doc_id, page, first line, last line) spans, in one query per 100 spans:
        checking the citations of a list answer one get_lines per document was 3 s at 10,000 documents.
        Lines of an unknown document or page are simply absent."""
        out: dict[tuple[str, int], list[Line]] = {}
        ln = t.lines
        uniq = sorted(set(spans))
        with self._read() as conn:
            for i in range(0, len(uniq), 100):  # 400 bound values a query: under every SQLite's limit
                cond = or_(*[and_(ln.c.doc_id == d, ln.c.page == p, ln.c.line_no >= a, ln.c.line_no <= b)
                             for d, p, a, b in uniq[i:i + 100]])
                for r in conn.execute(select(ln).where(cond).order_by(ln.c.doc_id, ln.c.page, ln.c.line_no)):
                    out.setdefault((r.doc_id, r.page), []).append(_line_of(r))
        return out

    def head_lines(self, doc_ids: Sequence[str], limit: int = 60) -> dict[str, list[str]]:
        """The first `limit` lines' text of page 1 of each document, in one query per 500 documents: the
        title block Q&A reads a document's department and year from (one get_lines per document took 26 s
        of the first question at 10,000 documents)."""
        out: dict[str, list[str]] = {d: [] for d in doc_ids}
        ln = t.lines
        ids = list(out)
        with self._read() as conn:
            for i in range(0, len(ids), 500):  # bounded IN lists (SQLite's variable limit, Postgres' plan size)
                q = (select(ln.c.doc_id, ln.c.text)
                     .where(ln.c.doc_id.in_(ids[i:i + 500]), ln.c.page == 1, ln.c.line_no <= limit)
                     .order_by(ln.c.doc_id, ln.c.line_no))
                for doc_id, text in conn.execute(q):
                    out[doc_id].append(text)
        return out

    def get_loaded(self, doc_id: str) -> LoadedDocument:
        """Rebuild the LoadedDocument as the loader returned it (pages, lines, tables)."""
        doc = self.get_document(doc_id)
        pages = [Page(number=n) for n in range(1, doc.page_count + 1)]
        for line in self.get_lines(doc.doc_id):
            pages[line.page - 1].lines.append(line)
        q = select(t.doc_tables).where(t.doc_tables.c.doc_id == doc.doc_id).order_by(
            t.doc_tables.c.page, t.doc_tables.c.idx)
        with self._read() as conn:
            for r in conn.execute(q):
                rows = [[Cell(i, j, c["text"], tuple(c["bbox"]) if c["bbox"] else None) for j, c in enumerate(row)]
                        for i, row in enumerate(r.rows)]
                pages[r.page - 1].tables.append(Table(page=r.page, index=r.idx, rows=rows,
                                                      bbox=tuple(r.bbox) if r.bbox else None,
                                                      first_line=r.first_line))
        return LoadedDocument(filename=doc.filename, kind=doc.kind, sha256=doc.doc_id, size_bytes=doc.size_bytes,
                              pages=pages, title=doc.title)

    # extraction --------------------------------------------------------------------------------------------

    def get_extraction(self, doc_id: str) -> DocumentExtraction:
        """Rebuild the DocumentExtraction that was stored with the document."""
        doc_id = self.get_document(doc_id).doc_id
        with self._read() as conn:
            units = [ReportUnit.model_validate(dict(r)) for r in conn.execute(
                select(*(t.units.c[k] for k in ReportUnit.model_fields)).where(t.units.c.doc_id == doc_id)
                .order_by(t.units.c.page_start, t.units.c.line_start, t.units.c.unit_id)).mappings()]
            projects = [ProjectEvaluation.model_validate(p) for p in conn.execute(
                select(t.projects.c.payload).where(t.projects.c.doc_id == doc_id).order_by(t.projects.c.id)).scalars()]
        return DocumentExtraction(
            doc_id=doc_id, units=units, projects=projects,
            summaries=[SummaryTable.model_validate(a.payload) for a in self.list_artifacts(doc_id, kind="summary")],
            departments=[DepartmentEvaluation.model_validate(a.payload)
                         for a in self.list_artifacts(doc_id, kind="department")],
            coverage=self.get_coverage(doc_id),
        )

    def get_coverage(self, doc_id: str) -> Coverage | None:
        """The reader's verdict stored with the document (None for documents stored before verdicts)."""
        payload = self.get_artifact(doc_id, "coverage", "document")
        return Coverage.model_validate(payload) if payload is not None else None

    def list_units(self, doc_id: str) -> list[ReportUnit]:
        return self.get_extraction(doc_id).units

    # projects ----------------------------------------------------------------------------------------------

    def _project_query(self):
        p, f = t.projects, t.findings
        n_findings = select(func.count()).where(f.c.unit_id == p.c.unit_id).correlate(p).scalar_subquery()
        return select(p, n_findings.label("n_findings"))

    @staticmethod
    def _project_row(r) -> ProjectRow:
        data = dict(r)
        payload = data.pop("payload")
        n = data.pop("n_findings")
        return ProjectRow(**data, findings=n, evaluation=ProjectEvaluation.model_validate(payload))

    def list_projects(
        self,
        *,
        doc_id: str | None = None,
        year: int | None = None,
        grade: str | None = None,
        execution_below: Decimal | float | None = None,
        has_findings: bool | None = None,
    ) -> list[ProjectRow]:
        """Projects in document order. `grade` matches the start of the reported grade (优 matches 优秀);
        `execution_below` is a percentage compared with executed / adjusted budget (else the reported rate)."""
        p, f = t.projects, t.findings
        q = self._project_query().order_by(p.c.id)
        if doc_id is not None:
            q = q.where(p.c.doc_id == doc_id)
        if year is not None:
            q = q.where(p.c.year == year)
        if grade:
            q = q.where(p.c.reported_grade.startswith(grade, autoescape=True))
        if execution_below is not None:
            q = q.where(p.c.execution_rate < Decimal(str(execution_below)))
        if has_findings is not None:
            has = exists().where(f.c.unit_id == p.c.unit_id)
            q = q.where(has if has_findings else ~has)
        with self._read() as conn:
            return [self._project_row(r) for r in conn.execute(q).mappings()]

    def get_project(self, ref: int | str) -> ProjectRow:
        """A project by numeric id or by unit_id."""
        p = t.projects
        key = str(ref).strip()
        cond = p.c.id == int(key) if key.isdigit() else p.c.unit_id == key
        with self._read() as conn:
            r = conn.execute(self._project_query().where(cond)).mappings().first()
        if r is None:
            raise NotFoundError("no such project", subject=key)
        return self._project_row(r)

    # project facts (service.qa.facts): what structured questions select by -------------------------------

    _FACT_OPS = {"lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__", "eq": "__eq__"}

    def select_facts(self, *, where: Sequence[tuple[str, str, Any]] = (), project_ids: Sequence[int] | None = None,
                     order_by: str | None = None, desc: bool = False, limit: int | None = None,
                     columns: Sequence[str] = ("project_id",)) -> list[tuple]:
        """Rows (the `columns` asked) of project_facts meeting every (column, op, value) of `where` — op one of
        lt le gt ge eq ne in notnull; column a facts column, or "total-allowed_total" —, among `project_ids`
        when given (queried 500 at a time), ordered by a column (NULLs never returned then) and cut to
        `limit`. The SQL the indexes serve; the caller re-checks the exact figures of what it gets."""
        pf = t.project_facts

        def col(name: str):
            if name == "total-allowed_total":
                return pf.c.total - pf.c.allowed_total
            return pf.c[name]

        # ids queried 500 at a time come back ordered per chunk: the order key rides along, to order them all
        resort = order_by is not None and project_ids is not None
        q = select(*(pf.c[c] for c in columns), *([col(order_by).label("order_key")] if resort else []))
        for name, op, value in where:
            c = col(name)
            if op in self._FACT_OPS:
                q = q.where(getattr(c, self._FACT_OPS[op])(value))
            elif op == "ne":
                q = q.where(c.not_in(list(value)) if isinstance(value, (tuple, list)) else c != value)
            elif op == "in":
                q = q.where(c.in_(list(value)))
            elif op == "notnull":
                q = q.where(c.is_not(None))
            else:
                raise ValueError(f"unknown facts operator {op!r}")
        if order_by is not None:
            q = q.where(col(order_by).is_not(None))
            q = q.order_by(col(order_by).desc() if desc else col(order_by), pf.c.project_id)
        else:
            q = q.order_by(pf.c.project_id)
        with self._read() as conn:
            if project_ids is None:
                return [tuple(r) for r in conn.execute(q.limit(limit) if limit is not None else q)]
            ids, out = sorted(set(project_ids)), []
            for i in range(0, len(ids), 500):
                out.extend(tuple(r) for r in conn.execute(q.where(pf.c.project_id.in_(ids[i:i + 500]))))
        if resort:  # stable: ties stay in project order, as SQL ordered them
            out = [r[:-1] for r in sorted(out, key=lambda r: r[-1], reverse=desc)]
        return out[:limit] if limit is not None else out

    def project_heads(self, project_ids: Sequence[int]) -> dict[int, Any]:
        """project_id → the `head` JSON of project_facts (service.qa.facts.head_from_json reads it)."""
        pf = t.project_facts
        ids, out = sorted(set(project_ids)), {}
        with self._read() as conn:
            for i in range(0, len(ids), 500):
                out.update(conn.execute(select(pf.c.project_id, pf.c.head).where(
                    pf.c.project_id.in_(ids[i:i + 500]))).all())
        return out

    # findings ----------------------------------------------------------------------------------------------

    def list_findings(
        self,
        *,
        doc_id: str | None = None,
        project: str | None = None,
        rule_id: str | None = None,
        severity: str | Sequence[str] | None = None,
    ) -> list[FindingRow]:
        """Findings, errors first then by insertion order. `project` matches part of the project name."""
        f = t.findings
        q = select(f).order_by(f.c.id)
        if doc_id is not None:
            q = q.where(f.c.doc_id == doc_id)
        if project:
            q = q.where(f.c.project.contains(project, autoescape=True))
        if rule_id:
            q = q.where(f.c.rule_id == rule_id)
        if severity:
            q = q.where(f.c.severity.in_([severity] if isinstance(severity, str) else list(severity)))
        with self._read() as conn:
            rows = [
                FindingRow(id=r.id, doc_id=r.doc_id, unit_id=r.unit_id, project=r.project, rule_id=r.rule_id,
                           severity=r.severity, finding=Finding.model_validate(r.payload))
                for r in conn.execute(q)
            ]
        rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
        return sorted(rows, key=lambda r: (rank.get(r.severity, len(rank)), r.id))

    def replace_findings(self, doc_id: str, findings: Sequence[Finding], *,
                         artifacts: Iterable[tuple[str, str, Any]] = ()) -> int:
        """Make the stored findings of a document exactly `findings` (idempotent); artifacts produced by the
        same check run are replaced in the same transaction."""
        doc_id = self.get_document(doc_id).doc_id
        rows = [_finding_values(doc_id, f) for f in findings]
        now = datetime.now(timezone.utc)
        with self._write() as conn:
            conn.execute(delete(t.findings).where(t.findings.c.doc_id == doc_id))
            self._insert_many(conn, t.findings, rows)
            self._rewrite_facts(conn, doc_id, findings)  # their allowed_total (and head) rest on the findings
            for kind, key, payload in artifacts:
                self._put_artifact(conn, doc_id, kind, key, payload, now)
        return len(rows)

    # artifacts ---------------------------------------------------------------------------------------------

    def put_artifact(self, doc_id: str, kind: str, key: str, payload: Any) -> None:
        try:
            with self._write() as conn:
                self._put_artifact(conn, doc_id, kind, key, payload, datetime.now(timezone.utc))
        except IntegrityError as exc:
            if not self.has_document(doc_id):
                raise NotFoundError("no such document", subject=doc_id) from exc
            raise

    @staticmethod
    def _put_artifact(conn: Connection, doc_id: str, kind: str, key: str, payload: Any, now: datetime) -> None:
        a = t.artifacts
        # delete + insert rather than a dialect-specific upsert: the same SQL on SQLite and Postgres
        conn.execute(delete(a).where((a.c.doc_id == doc_id) & (a.c.kind == kind) & (a.c.key == key)))
        conn.execute(insert(a).values(doc_id=doc_id, kind=kind, key=key, payload=_json(payload), updated_at=now))

    def get_artifact(self, doc_id: str, kind: str, key: str) -> Any | None:
        a = t.artifacts
        with self._read() as conn:
            return conn.execute(select(a.c.payload).where(
                (a.c.doc_id == doc_id) & (a.c.kind == kind) & (a.c.key == key))).scalar_one_or_none()

    def list_artifacts(self, doc_id: str, kind: str | None = None) -> list[ArtifactRow]:
        a = t.artifacts
        q = select(a).where(a.c.doc_id == doc_id).order_by(a.c.kind, a.c.key)
        if kind is not None:
            q = q.where(a.c.kind == kind)
        with self._read() as conn:
            return [ArtifactRow(**{**r, "updated_at": _utc(r["updated_at"])}) for r in conn.execute(q).mappings()]

    # housekeeping ------------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per table: a cheap fingerprint of the whole store."""
        with self._read() as conn:
            return {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
                    for tb in t.DOCUMENT_TABLES}


def open_store(settings: Settings) -> Store:
    return Store(settings)
