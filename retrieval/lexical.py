"""BM25 over token ids kept as flat numpy arrays (pure: no I/O).

Why not bm25s's own index: it takes a Python list of lists of token ids and walks it token by token, and
the search state had to hold those lists to build it. At 10,000 documents (311k chunks, tens of millions of
tokens) the lists and the walk were 15 s and about a gigabyte of every rebuild, and a rebuild happened on
every change to the corpus. Here the ids of all chunks are one int32 array with offsets: they are stored
beside the search snapshot, so a change re-scores from the stored ids plus the new documents' ids instead
of re-reading and re-cutting the corpus, and every step is a vectorised pass.

The scores are bm25s's "lucene" variant computed with the same operations in the same dtypes, so they equal
bm25s's bit for bit (tests/test_lexical.py compares them on a real corpus):
    idf = ln(1 + (N - df + 0.5) / (df + 0.5))           (float32)
    tfc = tf / (k1 * ((1 - b) + b * dl / avgdl) + tf)   (float64)
    score = float32(idf * tfc); a query's score is the float32 sum over its distinct terms, in query order.
"""
from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


def encode(token_lists: Iterable[Iterable[str]], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each chunk's tokens as ids of `vocab` (new tokens added to it), streamed into (flat int32 ids, int64
    offsets of length n + 1): per-chunk lists of Python ints cost ~36 bytes a token (23.4M tokens at 10,000
    documents); this holds 4, and the token lists can be made one chunk at a time."""
    flat = array("i")
    offsets = array("q", [0])
    for tokens in token_lists:
        flat.extend([vocab.setdefault(t, len(vocab)) for t in tokens])
        offsets.append(len(flat))
    return np.frombuffer(flat, dtype=np.int32).copy(), np.frombuffer(offsets, dtype=np.int64).copy()


def gather(flat: np.ndarray, offsets: np.ndarray, rows) -> tuple[np.ndarray, np.ndarray]:
    """The ids of the given rows, in that order, as a new (flat, offsets)."""
    rows = np.asarray(rows, dtype=np.int64)
    lengths = offsets[rows + 1] - offsets[rows]
    out_off = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_off[1:])
    # each output position minus the start of its row in the output, plus the start of that row in the source
    pos = np.arange(int(out_off[-1]), dtype=np.int64)
    pos += np.repeat(offsets[rows] - out_off[:-1], lengths)
    return np.asarray(flat)[pos], out_off


def concat(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    (fa, oa), (fb, ob) = a, b
    return np.concatenate([np.asarray(fa), np.asarray(fb)]).astype(np.int32, copy=False), \
        np.concatenate([np.asarray(oa), np.asarray(ob[1:]) + oa[-1]])


def compact(flat: np.ndarray, vocab: dict[str, int]) -> tuple[np.ndarray, dict[str, int]]:
    """Drop the vocabulary's terms no chunk uses any more (a removed document's), renumbering the rest in
    their old order. Without it the vocabulary would only grow over updates."""
    used = np.zeros(len(vocab), dtype=bool)
    used[np.asarray(flat, dtype=np.int64)] = True
    if used.all():
        return np.asarray(flat), vocab
    remap = np.full(len(vocab), -1, dtype=np.int64)
    remap[used] = np.arange(int(used.sum()))
    return remap[np.asarray(flat)].astype(np.int32), {t: int(remap[i]) for t, i in vocab.items() if used[i]}


@dataclass
class Postings:
    """Per term, the chunks that hold it and its BM25 weight in each (compressed sparse columns)."""

    indptr: np.ndarray  # int64, n_terms + 1
    docs: np.ndarray  # int32 chunk index, ascending within a term
    weights: np.ndarray  # float32
    n_docs: int

    def scores(self, term_ids: Sequence[int]) -> np.ndarray:
        """float32 BM25 scores of every chunk for these (distinct) terms; 0 where none occurs."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for t in term_ids:
            a, b = int(self.indptr[t]), int(self.indptr[t + 1])
            if b > a:  # a chunk occurs once per term: no repeated index, a plain += is exact
                out[self.docs[a:b]] += self.weights[a:b]
        return out


def build(flat: np.ndarray, offsets: np.ndarray, n_terms: int, k1: float, b: float) -> Postings:
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    if n == 0 or len(flat) == 0:
        return Postings(np.zeros(n_terms + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), n)
    avgdl = lengths.mean()
    # one key per token, term-major: sorted, equal keys are one (term, chunk) pair and their run is its tf
    key = np.asarray(flat, dtype=np.int64) * n
    key += np.repeat(np.arange(n, dtype=np.int64), lengths)
    key.sort()
    first = np.empty(len(key), dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    del first
    tf = np.diff(np.append(starts, len(key))).astype(np.float32)
    pair = key[starts]
    del key, starts
    term, doc = np.divmod(pair, n)
    del pair
    df = np.bincount(term, minlength=n_terms)
    idf = np.zeros(n_terms, dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log(1 + (n - df[seen] + 0.5) / (df[seen] + 0.5))
    tfc = tf / (k1 * ((1 - b) + b * lengths[doc] / avgdl) + tf)
    weights = (idf[term] * tfc).astype(np.float32)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return Postings(indptr, doc.astype(np.int32), weights, n)
