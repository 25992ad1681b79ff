"""retrieval.lexical's array helpers: the flat token ids the search state keeps and updates."""
from __future__ import annotations

import numpy as np

from retrieval import lexical


def _ids(rows):
    """Rows of ids as `encode` makes them, from tokens of a vocabulary that maps each id to itself."""
    return lexical.encode(([str(i) for i in row] for row in rows), {str(i): i for i in range(10)})


def test_encode_adds_new_tokens_to_the_vocabulary_in_order():
    vocab = {"a": 0}
    flat, off = lexical.encode([["b", "a"], [], ["c", "b"]], vocab)
    assert vocab == {"a": 0, "b": 1, "c": 2} and flat.tolist() == [1, 0, 2, 1] and off.tolist() == [0, 2, 2, 4]


def test_encode_gather_and_concat_keep_each_rows_ids():
    rows = [[5, 1], [], [2, 2, 9], [7]]
    flat, off = _ids(rows)
    assert flat.dtype == np.int32 and off.tolist() == [0, 2, 2, 5, 6]
    f, o = lexical.gather(flat, off, [3, 0, 1, 2])
    assert [f[o[i]:o[i + 1]].tolist() for i in range(4)] == [[7], [5, 1], [], [2, 2, 9]]
    f, o = lexical.concat((flat, off), _ids([[1], [3, 4]]))
    assert [f[o[i]:o[i + 1]].tolist() for i in range(6)] == rows + [[1], [3, 4]]


def test_compact_drops_unused_terms_and_keeps_the_rest_in_order():
    vocab = {"a": 0, "b": 1, "c": 2, "d": 3}
    flat, new = lexical.compact(np.array([3, 0, 3], dtype=np.int32), vocab)
    assert new == {"a": 0, "d": 1} and flat.tolist() == [1, 0, 1]


def test_bm25_ranks_by_term_rarity_and_frequency():
    # chunk 0 has the rare term twice, chunk 1 once, chunk 2 only the common one
    flat, off = _ids([[0, 0, 1], [0, 1, 1], [1, 1, 1]])
    post = lexical.build(flat, off, 2, 1.2, 0.3)
    s = post.scores([0])
    assert s[0] > s[1] > 0 and s[2] == 0
    both = post.scores([0, 1])
    assert both[2] > 0 and np.all(both >= s)
    assert lexical.build(*_ids([]), 0, 1.2, 0.3).scores([]).shape == (0,)
