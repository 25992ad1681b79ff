"""Structured extraction: `extract_document(doc, settings=None) -> DocumentExtraction`.

The deterministic rules always run (service.extraction.rules, pure): they segment the document and, in the
rules and auto backends, give the records. With a model configured the backend (settings.extraction_backend,
default auto) decides what the model reads (service.extraction.llm_backend, the network edge), imported only
in that branch so the offline path never loads LangChain.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.extraction.coverage import assess_coverage
from service.extraction.rules import extract_rules
from service.models import DocumentExtraction

if TYPE_CHECKING:
    from retrieval.types import LoadedDocument
    from service.settings import Settings


def _settings_hash(settings: Settings | None) -> str:
    from service.settings import Settings

    # defaults via model_construct: no environment or .env file is read on the pure path
    return (settings or Settings.model_construct()).settings_hash()


def extract_document(doc: LoadedDocument, settings: Settings | None = None, *, backend: str | None = None,
                     llm: Any = None) -> DocumentExtraction:
    """`backend` (rules | llm | auto) overrides settings.extraction_backend; `llm` overrides the model
    built from settings (tests pass one)."""
    extraction = extract_rules(doc, settings_hash=_settings_hash(settings))
    chosen = "rules" if settings is None and backend in (None, "auto") else None
    if chosen is None:
        from service.extraction.llm_backend import resolve_backend

        chosen = resolve_backend(settings, backend)
    if chosen != "rules":
        from service.extraction.llm_backend import run_llm_backend

        extraction = run_llm_backend(extraction, doc, settings, backend=chosen, llm=llm)
    # the verdict on what was read travels with the extraction; the pipeline refines it once it knows
    # whether the document also holds 部门决算 tables
    extraction.coverage = assess_coverage(doc, extraction)
    return extraction


__all__ = ["extract_document", "extract_rules"]
