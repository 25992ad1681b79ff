"""Helpers for tests that look inside the store: a full dump, documents built from seed text, a small
hand-written extraction with findings, and one bad input file per loader error code."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from retrieval.loaders.common import sha256_bytes
from retrieval.loaders.text import load_text
from retrieval.types import LoadedDocument
from service.models import (
    DepartmentEvaluation,
    DocumentExtraction,
    Figure,
    Finding,
    Funds,
    ProjectEvaluation,
    ReportUnit,
    SourceRef,
    SummaryRow,
    SummaryTable,
    TextField,
)
from service.store import Store
from service.store import schema as t

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "seeds"
RENDERED = ROOT / "corpus" / "rendered"


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table in primary-key order: equal dumps mean an unchanged store."""
    out = {}
    with store.engine.connect() as conn:
        for table in t.DOCUMENT_TABLES:
            q = select(table).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(repr(v) for v in row) for row in conn.execute(q)]
    return out


def text_doc(data: bytes, filename: str = "doc.txt", sha256: str | None = None) -> LoadedDocument:
    return LoadedDocument(filename=filename, kind="txt", sha256=sha256 or sha256_bytes(data), size_bytes=len(data),
                          pages=load_text(data))


def seed_doc(stem: str = "000_shangjie_retiree_medical") -> LoadedDocument:
    path = SEEDS / f"{stem}.txt"
    return text_doc(path.read_bytes(), path.name)


def fig(value: str, raw: str | None = None) -> Figure:
    return Figure(raw=raw or value, value=Decimal(value))


def ref(doc_id: str, page: int = 1, line: int = 1, quote: str = "x") -> SourceRef:
    return SourceRef(doc_id=doc_id, page=page, line_start=line, line_end=line, quote=quote)


def sample_extraction(doc: LoadedDocument) -> DocumentExtraction:
    """Two projects (one at 93.76% execution graded 优, one at 50% graded 良), a summary and a department."""
    d = doc.doc_id
    u = [f"{d[:12]}-u{i:03d}" for i in range(1, 5)]
    units = [
        ReportUnit(unit_id=u[0], doc_id=d, kind="project", title="医疗费", project="集体破产企业退休人员医疗费",
                   page_start=1, line_start=1, page_end=1, line_end=40),
        ReportUnit(unit_id=u[1], doc_id=d, kind="project", title="养老补助", project="城乡居民养老保险补助",
                   page_start=1, line_start=41, page_end=1, line_end=80),
        ReportUnit(unit_id=u[2], doc_id=d, kind="summary", title="汇总表", page_start=1, line_start=81,
                   page_end=1, line_end=90),
        ReportUnit(unit_id=u[3], doc_id=d, kind="department", title="部门整体", page_start=1, line_start=91,
                   page_end=1, line_end=100),
    ]
    p1 = ProjectEvaluation(
        unit_id=u[0], doc_id=d, project="集体破产企业退休人员医疗费", year=2020,
        funds=Funds(unit="万元", adjusted_budget=fig("600"), executed=fig("562.56"),
                    reported_rate=fig("93.76", "93.76%")),
        reported_total=fig("95"), reported_grade=TextField(text="优秀", ref=ref(d, line=30, quote="优秀")),
    )
    p2 = ProjectEvaluation(
        unit_id=u[1], doc_id=d, project="城乡居民养老保险补助", year=2021,
        funds=Funds(unit="元", adjusted_budget=fig("48000000"), executed=fig("24000000"), reported_rate=fig("50")),
        reported_total=fig("85.5"), reported_grade=TextField(text="良"),
    )
    summary = SummaryTable(unit_id=u[2], doc_id=d, title="项目自评汇总表",
                           rows=[SummaryRow(project=p1.project, budget=fig("600"), grade="优")])
    dept = DepartmentEvaluation(unit_id=u[3], doc_id=d, department="上街区人社局", year=2020, reported_total=fig("92"))
    return DocumentExtraction(doc_id=d, units=units, projects=[p1, p2], summaries=[summary], departments=[dept])


def sample_findings(extraction: DocumentExtraction) -> list[Finding]:
    p1 = extraction.projects[0]
    common = dict(unit_id=p1.unit_id, doc_id=p1.doc_id, project=p1.project)
    return [
        Finding(rule_id="R-GRADE", severity="info", message_zh="等级一致", message_en="grade consistent", **common),
        Finding(rule_id="R-EXEC-RATE", severity="error", message_zh="执行率不符", message_en="rate mismatch",
                reported="93.76%", recomputed="93.76%", refs=[ref(p1.doc_id, line=12, quote="93.76")], **common),
        Finding(rule_id="R-EXEC-EXPLAIN", severity="warning", message_zh="缺少偏差原因",
                message_en="missing explanation", **common),
    ]


BAD_CODES = ["missing_path", "unsupported_type", "empty_file", "too_large", "not_a_pdf", "corrupt_pdf",
             "encrypted_pdf", "no_text_layer", "cid_garbage", "corrupt_docx", "corrupt_xlsx"]


def make_bad_input(code: str, tmp_path, max_bytes: int):
    """A file that must be refused with `code` (tests/badfiles.py makes the realistic ones)."""
    import badfiles

    makers = {
        "missing_path": lambda: tmp_path / "nowhere" / "report.pdf",
        "unsupported_type": lambda: badfiles.make_unsupported(tmp_path),
        "empty_file": lambda: badfiles.make_empty(tmp_path, ".pdf"),
        "too_large": lambda: badfiles.make_oversized(tmp_path / "huge.pdf", max_bytes + 1),
        "not_a_pdf": lambda: badfiles.make_not_a_pdf(tmp_path),
        "corrupt_pdf": lambda: badfiles.make_corrupt_pdf(tmp_path),
        "encrypted_pdf": lambda: badfiles.make_encrypted_pdf(tmp_path),
        "no_text_layer": lambda: badfiles.make_scanned_pdf(tmp_path),
        "cid_garbage": lambda: badfiles.make_cid_pdf(tmp_path),
        "corrupt_docx": lambda: badfiles.make_corrupt_docx(tmp_path),
        "corrupt_xlsx": lambda: badfiles.make_corrupt_xlsx(tmp_path),
    }
    return makers[code]()
