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
