"""GET /health: liveness and the store's reachability, without an API key. Also tells the web page whether
it must ask for a key and how large an upload may be."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from service.api.deps import SettingsDep, StoreDep

PUBLIC = True
router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
    documents: int
    llm_configured: bool
    auth_required: bool
    max_upload_mb: float


@router.get("/health", response_model=HealthOut)
def health(store: StoreDep, settings: SettingsDep) -> HealthOut:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("jixiao")
    except PackageNotFoundError:
        ver = "unknown"
    return HealthOut(status="ok", version=ver, database=store.dialect, documents=store.counts()["documents"],
                     llm_configured=settings.llm_configured, auth_required=bool(settings.api_keys),
                     max_upload_mb=settings.max_upload_mb)
