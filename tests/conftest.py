"""Fixtures shared by test modules."""
from __future__ import annotations

import pytest

from llm_server import LLMReplayServer


@pytest.fixture(scope="module")
def server_module():
    """One local OpenAI-compatible replay server per test module (127.0.0.1, random port)."""
    with LLMReplayServer() as srv:
        yield srv


@pytest.fixture
def server(server_module: LLMReplayServer) -> LLMReplayServer:
    """The module's server with its scripts and recorded requests cleared for this test."""
    server_module.reset()
    return server_module


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """`jixiao …` in-process against a fresh data dir, with no JIXIAO_ setting from the environment."""
    import os

    from typer.testing import CliRunner

    from service.cli import app
    from service.settings import get_settings

    for key in list(os.environ):
        if key.startswith("JIXIAO_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("JIXIAO_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    get_settings.cache_clear()
