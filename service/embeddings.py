"""Embedding backends that need the network, and the one place that picks a backend from settings.

`retrieval/` never imports network clients (docs/ARCHITECTURE.md, layering), so the OpenAI-compatible
backend lives here and is handed to `retrieval.index.HybridIndex` as an `Embedder`. The default
(`embedding_backend="hashed"`) is the offline hashed n-gram embedding from retrieval.embedding.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.embedding import Embedder, HashedNgramEmbedder, l2_normalize
from service.errors import ConfigError, LLMError
from service.settings import Settings


class OpenAIEmbedder:
    """`POST {embedding_base_url}/embeddings` through the openai client (any OpenAI-compatible server)."""

    batch_size = 64

    def __init__(self, settings: Settings, client=None):
        if not settings.embedding_base_url or not settings.embedding_model:
            raise ConfigError("embedding_backend=openai needs embedding_base_url and embedding_model",
                              subject="embedding_backend")
        self.model = settings.embedding_model
        self.base_url = settings.embedding_base_url
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=self.base_url, api_key=settings.llm_api_key.get_secret_value() or "unused",
                            timeout=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
        self.client = client

    def signature(self) -> dict:
        # the base URL is not part of it: the same model behind another host gives the same vectors
        return {"backend": "openai", "model": self.model}

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for s in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[s:s + self.batch_size]]
            try:
                resp = self.client.embeddings.create(model=self.model, input=batch)
            except Exception as exc:  # openai raises its own tree; ours names the endpoint
                raise LLMError(f"embedding request failed: {exc}", subject=self.base_url) from exc
            data = sorted(resp.data, key=lambda d: d.index)
            if len(data) != len(batch):
                raise LLMError(f"asked for {len(batch)} embeddings, got {len(data)}", subject=self.base_url)
            rows.extend(d.embedding for d in data)
        return l2_normalize(np.asarray(rows, dtype=np.float32))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return self._embed(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "openai":
        return OpenAIEmbedder(settings)
    return HashedNgramEmbedder.from_settings(settings)


def open_index(settings: Settings):
    """The hybrid index with the embedder the settings name (the entry point for service code)."""
    from retrieval.index import HybridIndex

    return HybridIndex(settings, embedder=make_embedder(settings))
