"""The offline default embedding: signed hashing of character n-grams and word tokens.

Why this and not a neural model: jixiao runs without internet and without model weights, and the reports
are formulaic government Chinese where the words that matter (project names, indicator names, 执行率,
满意度, amounts) recur verbatim between a question and its passage. Character 1–3 grams capture those
words without a segmenter (so the embedding never depends on jieba's dictionary), and ASCII word tokens
keep numbers such as `93.76%` or `2020` whole. The settings were chosen on the retrieval benchmark
(eval/retrieval.py; figures in scripts/bench_retrieval.py's docstring and the report).

Hashing is vectorised with numpy (code points → rolling 64-bit hash → finaliser → bucket and sign), so
embedding the whole bundled corpus takes well under a second on two cores, and the hash is stable across
processes and machines (Python's `hash()` is salted per process and would silently scramble a persisted
index).

Other backends (an OpenAI-compatible endpoint) implement the same `Embedder` protocol; they live on the
service side because `retrieval/` never imports network clients (docs/ARCHITECTURE.md, layering).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from retrieval.normalize import normalize_text

if TYPE_CHECKING:  # pragma: no cover
    from service.settings import Settings

EMBEDDING_VERSION = 2  # bump when the feature extraction changes, so persisted vectors are not mixed


@runtime_checkable
class Embedder(Protocol):
    """What the index needs from an embedding backend. Vectors are float32 and L2-normalised."""

    def signature(self) -> dict:
        """Everything that changes the vectors (names the Chroma collection)."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32."""

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32."""


# Unicode ranges kept as n-gram material: CJK ideographs, digits, latin letters, and `.`/`%` because they
# belong to numbers (93.76%), and `=` which marks the reports' formulas. Everything else (punctuation, spaces, TAB between cells) separates runs,
# so no n-gram spans two cells or two clauses.
_KEEP_RANGES = (
    (0x30, 0x39), (0x61, 0x7A), (0x41, 0x5A), (0x25, 0x25), (0x2E, 0x2E), (0x3D, 0x3D),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
)
_WORD_RE = re.compile(r"[a-z][a-z0-9\-]*|\d+(?:\.\d+)?%?")
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S63 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(63)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads nearby inputs over all 64 bits (uint64 arithmetic wraps)."""
    h = h ^ (h >> _S30)
    h = h * _M2
    h = h ^ (h >> _S27)
    h = h * _M3
    return h ^ (h >> _S31)


def _stable_hash(token: str, seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8, person=seed.to_bytes(8, "little")).digest(),
                          "little")


class HashedNgramEmbedder:
    """Signed feature hashing of character n-grams (n in `ngram_range`) plus word tokens.

    Each distinct feature contributes `weight_n × (1 + log count)` (sublinear term frequency, so a
    repeated boilerplate phrase does not dominate) to bucket `h mod dim` with sign from the top bit of
    `h`; the signs make collisions cancel on average instead of piling up. Vectors are L2-normalised, so
    Chroma's cosine distance is 1 − dot product.
    """

    def __init__(self, dim: int = 512, ngram_range: tuple[int, int] = (1, 3),
                 ngram_weights: dict[int, float] | None = None, word_weight: float = 1.0):
        if dim < 16:
            raise ValueError("embedding dim must be at least 16")
        self.dim = int(dim)
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        # unigrams are the least specific (一, 的, 元 …): half weight, measured on the benchmark.
        self.ngram_weights = ngram_weights or {1: 0.5, 2: 1.0, 3: 1.0}
        self.word_weight = float(word_weight)

    @classmethod
    def from_settings(cls, settings: Settings) -> HashedNgramEmbedder:
        return cls(dim=settings.embedding_dim)

    def signature(self) -> dict:
        return {
            "backend": "hashed", "version": EMBEDDING_VERSION, "dim": self.dim,
            "ngram_range": list(self.ngram_range),
            "ngram_weights": {str(k): v for k, v in sorted(self.ngram_weights.items())},
            "word_weight": self.word_weight,
        }

    # -- Embedder ---------------------------------------------------------------------------------------
    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """All texts in one vectorised pass (a query is a batch of one): indexing the corpus embeds ~2,000
        chunks, and per-chunk numpy calls would cost more than the arithmetic. Texts are kept apart by a
        NUL between them, so each row equals the text embedded on its own."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        norm = [normalize_text(t).lower() for t in texts]
        n_rows = len(norm)
        # NUL separates texts: it is outside _KEEP_RANGES, so no n-gram crosses from one text to the next
        cps = np.frombuffer("\x00".join(norm).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        row_of = np.cumsum(cps == 0).astype(np.int64)
        keep = np.zeros(len(cps), dtype=bool)
        for lo, hi in _KEEP_RANGES:
            keep |= (cps >= lo) & (cps <= hi)
        flat = np.zeros(n_rows * self.dim, dtype=np.float64)
        n_lo, n_hi = self.ngram_range
        for n in range(n_lo, n_hi + 1):
            if len(cps) < n:
                break
            m = len(cps) - n + 1
            valid = keep[:m].copy()
            h = np.full(m, np.uint64((n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
            for j in range(n):
                valid &= keep[j:j + m]
                h = _mix(h ^ cps[j:j + m])
            self._add_rows(flat, row_of[:m][valid], h[valid], self.ngram_weights.get(n, 1.0))
        if self.word_weight:
            rows, hashes = [], []
            cache: dict[str, int] = {}
            for r, text in enumerate(norm):
                for w in _WORD_RE.findall(text):
                    if w not in cache:
                        cache[w] = _stable_hash(w, 7)
                    rows.append(r)
                    hashes.append(cache[w])
            if rows:
                self._add_rows(flat, np.array(rows, dtype=np.int64), np.array(hashes, dtype=np.uint64),
                               self.word_weight)
        vecs = flat.reshape(n_rows, self.dim)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        np.divide(vecs, norms, out=vecs, where=norms > 0)
        return vecs.astype(np.float32)

    def _add_rows(self, flat: np.ndarray, rows: np.ndarray, h: np.ndarray, weight: float) -> None:
        """Per (row, feature): weight × (1 + log count), signed, into bucket h mod dim of that row."""
        if not len(h):
            return
        order = np.lexsort((h, rows))
        rows, h = rows[order], h[order]
        starts = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (h[1:] != h[:-1])])
        counts = np.diff(np.r_[starts, len(h)])
        rows, h = rows[starts], h[starts]
        idx = rows * self.dim + (h % np.uint64(self.dim)).astype(np.int64)
        sign = np.where((h >> _S63) & np.uint64(1), -1.0, 1.0)
        flat += np.bincount(idx, weights=sign * weight * (1.0 + np.log(counts)), minlength=len(flat))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by settings, for backends that live in `retrieval/`.

    `embedding_backend="openai"` needs a network client, which `retrieval/` may not import: build it with
    `service.embeddings.make_embedder(settings)` and pass it to `HybridIndex(settings, embedder=...)`.
    """
    if settings.embedding_backend == "hashed":
        return HashedNgramEmbedder.from_settings(settings)
    from service.errors import ConfigError

    raise ConfigError(
        f"embedding backend {settings.embedding_backend!r} is built on the service side: "
        "use service.embeddings.make_embedder(settings)", subject="embedding_backend")


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms
