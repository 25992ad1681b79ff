"""Structured extraction: `extract_document(doc, settings=None) -> DocumentExtraction`.

The deterministic rules always run (service.extraction.rules, pure). When an LLM endpoint is configured,
the LLM chain then enriches their output (service.extraction.llm_chain, the network edge), imported only in
that branch so the offline path never loads LangChain.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

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


def extract_document(doc: LoadedDocument, settings: Settings | None = None) -> DocumentExtraction:
    extraction = extract_rules(doc, settings_hash=_settings_hash(settings))
    if settings is not None and settings.llm_configured:
        from service.extraction.llm_chain import enrich_with_llm

        extraction = enrich_with_llm(extraction, doc, settings)
    # the verdict on what was read travels with the extraction; the pipeline refines it once it knows
    # whether the document also holds 部门决算 tables
    extraction.coverage = assess_coverage(doc, extraction)
    return extraction


__all__ = ["extract_document", "extract_rules"]
