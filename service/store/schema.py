"""Tables. SQLAlchemy Core with types that mean the same thing on SQLite and Postgres.

Every table but `documents` hangs off a document by `doc_id` with ON DELETE CASCADE, so deleting a
document is one statement and can never leave orphans behind. Payload columns hold the pydantic model
(`model_dump(mode="json")`) that the typed columns beside them summarise for filtering.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

Json = JSON().with_variant(JSONB(), "postgresql")
DocId = String(64)


class Amount(TypeDecorator):
    """Money, rates and scores: NUMERIC on Postgres; REAL on SQLite, which has no decimal type.

    Filters only need ordering, and the exact reported text is kept in the payload, so the float round trip
    on SQLite loses nothing that matters; values come back as Decimal either way.
    """

    impl = Numeric(20, 6)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Float())
        return dialect.type_descriptor(Numeric(20, 6))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return float(value) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        text = format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
        if "." in text:  # 93.760000 -> 93.76 without Decimal.normalize()'s 1E+2 for 100
            text = text.rstrip("0").rstrip(".")
        return Decimal(text)


def _doc_fk() -> Column:
    return Column("doc_id", DocId, ForeignKey("documents.doc_id", ondelete="CASCADE"), nullable=False)


documents = Table(
    "documents",
    metadata,
    Column("doc_id", DocId, primary_key=True),  # sha256 of the bytes
    Column("filename", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("title", Text),
    Column("year", Integer),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    # the reader's verdict (service.models.Coverage.status) and its reason, so every listing can say loudly
    # which documents were not (fully) read; the whole verdict is the "coverage" artifact
    Column("coverage_status", String(16)),
    Column("coverage_reason", Text),
    Index("ix_documents_filename", "filename"),
    # the API cache's fingerprint reads max(ingested_at) and max(updated_at) before answering: an index each
    # makes that a lookup, not a scan of every document's artifacts (40 ms at 10,000 documents)
    Index("ix_documents_ingested_at", "ingested_at"),
)

lines = Table(
    "lines",
    metadata,
    Column("doc_id", DocId, ForeignKey("documents.doc_id", ondelete="CASCADE"), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("cells", Json),
    Column("grid", Json),  # per cell [first grid column, column span], when the loader knew the grid
    Column("table_index", Integer),
    Column("row_index", Integer),
)

doc_tables = Table(
    "doc_tables",
    metadata,
    Column("doc_id", DocId, ForeignKey("documents.doc_id", ondelete="CASCADE"), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("first_line", Integer, nullable=False),
    Column("bbox", Json),
    Column("rows", Json, nullable=False),  # [[{"text": str, "bbox": [x0, top, x1, bottom] | null}]]
)

units = Table(
    "units",
    metadata,
    Column("unit_id", String(64), primary_key=True),
    _doc_fk(),
    Column("kind", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("project", Text),
    Column("page_start", Integer, nullable=False),
    Column("line_start", Integer, nullable=False),
    Column("page_end", Integer, nullable=False),
    Column("line_end", Integer, nullable=False),
    Index("ix_units_doc", "doc_id"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _doc_fk(),
    Column("unit_id", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("year", Integer),
    Column("amount_unit", String(16)),  # unit of adjusted_budget / executed as reported (万元, 元)
    Column("adjusted_budget", Amount),
    Column("executed", Amount),
    Column("execution_rate", Amount),  # percent: executed / adjusted budget, else the reported rate
    Column("reported_rate", Amount),
    Column("reported_total", Amount),
    Column("reported_grade", String(16)),
    Column("payload", Json, nullable=False),  # ProjectEvaluation
    Index("ix_projects_doc", "doc_id"),
)

# What questions filter, rank and add up of each project, in indexed columns, so a structured question is one
# SQL query over them (service.qa.pushdown) rather than a pass over every record. Written with the project in
# the same transaction, and again when its document's findings change (allowed_total rests on them).
# Amounts are in 万元 whatever unit the form printed; rate is the execution rate as Q&A computes it;
# `head` holds what an answer prints and cites of the project (service.qa.facts.head_of).
project_facts = Table(
    "project_facts",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    _doc_fk(),
    Column("name", Text, nullable=False),
    Column("department", Text),
    Column("year", Integer),
    Column("budget", Amount),
    Column("executed", Amount),
    Column("initial", Amount),
    Column("available", Amount),
    Column("unspent", Amount),
    Column("rate", Amount),
    Column("total", Amount),
    Column("grade", String(8)),
    Column("allowed_total", Amount),
    Column("n_missed", Integer),
    Column("printed", Json, nullable=False),  # service.qa.facts.printed_of: what a listed project shows
    Column("head", Json, nullable=False),
    Index("ix_facts_doc", "doc_id"),
    Index("ix_facts_name", "name"),
    Index("ix_facts_department", "department"),
    Index("ix_facts_year", "year"),
    Index("ix_facts_budget", "budget"),
    Index("ix_facts_executed", "executed"),
    Index("ix_facts_rate", "rate"),
    Index("ix_facts_total", "total"),
    Index("ix_facts_grade", "grade"),
    Index("ix_facts_n_missed", "n_missed"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _doc_fk(),
    Column("unit_id", String(64), nullable=False),
    Column("project", Text),
    Column("rule_id", String(32), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("payload", Json, nullable=False),  # Finding
    Index("ix_findings_doc", "doc_id"),
    Index("ix_findings_unit", "unit_id"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("doc_id", DocId, ForeignKey("documents.doc_id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("payload", Json, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_artifacts_updated_at", "updated_at"),
)

# Child tables first: the order in which a document's rows are removed or counted.
DOCUMENT_TABLES = (artifacts, findings, project_facts, projects, units, doc_tables, lines, documents)
