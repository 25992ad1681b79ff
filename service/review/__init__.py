"""Review drafts (审核意见) per document or per project, as Markdown, DOCX, PDF or XLSX.

Pure builders: `build_review(extraction, findings, document=…, project=None)` gives a `Review`;
`build_opinion(review)` the official document's content (service.review.opinion);
`render(review, "md" | "docx" | "pdf" | "xlsx", edition="working" | "issue")` gives bytes. The reviewer's working copy
carries an appendix with the rule ids, schemes and units behind each item; the 发文版 ("issue") leaves it out. Writing files is the CLI's job. An optional prose
summary comes from a chat model passed to `attach_summary`; it is kept only when every number in it appears
in the findings or the recomputed figures."""
from __future__ import annotations

from typing import Any, Literal

from service.review.docx_draft import build_docx
from service.review.llm_summary import SummaryResult, summarize
from service.review.markdown import build_markdown
from service.review.model import Review, build_review
from service.review.opinion import Opinion, build_opinion
from service.review.xlsx_draft import build_xlsx

Format = Literal["md", "docx", "xlsx", "pdf"]
Edition = Literal["working", "issue"]
FORMATS: tuple[str, ...] = ("md", "docx", "xlsx", "pdf")
EDITIONS: tuple[str, ...] = ("working", "issue")


def render(review: Review, fmt: Format, edition: Edition = "working") -> bytes:
    """The draft in one format. XLSX is the reviewer's workbook and always keeps the rule ids."""
    if edition not in EDITIONS:
        raise ValueError(f"unknown edition {edition!r}; use one of {', '.join(EDITIONS)}")
    appendix = edition == "working"
    if fmt == "md":
        return build_markdown(review, appendix=appendix).encode("utf-8")
    if fmt == "docx":
        return build_docx(review, appendix=appendix)
    if fmt == "xlsx":
        return build_xlsx(review)
    if fmt == "pdf":
        from service.review.pdf_draft import build_pdf  # reportlab is imported only when a PDF is asked for

        return build_pdf(review, appendix=appendix)
    raise ValueError(f"unknown review format {fmt!r}; use one of {', '.join(FORMATS)}")


def attach_summary(review: Review, chat_model: Any | None) -> SummaryResult | None:
    """Add the model's prose summary to the review when a model is given and its numbers check out."""
    if chat_model is None:
        return None
    result = summarize(review, chat_model)
    review.summary = result.text
    review.summary_model = result.model if result.text else None
    return result


__all__ = ["Review", "build_review", "render", "Opinion", "build_opinion", "EDITIONS", "attach_summary", "build_markdown", "build_docx", "build_xlsx",
           "FORMATS", "SummaryResult"]
