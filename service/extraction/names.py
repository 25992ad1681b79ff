"""Project-name keys and linking (pure).

The keys and the one-mention matcher live in retrieval.segment (segmentation needs them to tie a
sub-heading to its project); this module adds linking many mentions at once and is what the extractor and
the eval import.
"""
from __future__ import annotations

from collections.abc import Iterable

from retrieval.segment import light_key, loose_key, match_name

__all__ = ["light_key", "loose_key", "match_name", "link_names"]


def link_names(mentions: Iterable[str], names: Iterable[str]) -> dict[str, str]:
    """Map each mention to its project name where unambiguous. Exact matches are assigned first, so a
    project claimed exactly by one mention is not also handed to another mention by a looser rule."""
    names = list(dict.fromkeys(names))
    mentions = list(dict.fromkeys(mentions))
    out: dict[str, str] = {}
    for m in mentions:
        exact = [n for n in names if light_key(n) == light_key(m)]
        if len(exact) == 1:
            out[m] = exact[0]
    for m in mentions:
        if m in out:
            continue
        hit = match_name(m, names)
        if hit is not None:
            out[m] = hit
    return out
