"""jixiao (绩效): ingestion, extraction, checks, Q&A and review drafts for budget-performance reports."""

__version__ = "0.1.0"
