"""SQLAlchemy store (SQLite in the data dir by default, Postgres by URL)."""
from service.store.records import ArtifactRow, DocumentRow, FindingRow, ProjectRow
from service.store.repository import Store, document_title, document_year, open_store

__all__ = ["ArtifactRow", "DocumentRow", "FindingRow", "ProjectRow", "Store", "document_title", "document_year",
           "open_store"]
