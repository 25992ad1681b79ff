"""Loose but never wrong project-name matching.

Reports spell one project several ways (`破产、困难企业…` / `破产困难企业…`, `检查和专项` / `检查 and 专项`,
a trailing `1`, spaces inside numbers) while some genuinely different projects differ by exactly such a
detail (seed 004 has both `…医疗救助补助的资金` and `…医疗救助补助资金`). So: an exact match on the lightly
normalized name always wins; the loose key is used only when it identifies exactly one project.
"""
from __future__ import annotations

import re
from functools import lru_cache

from retrieval.normalize import normalize_text

_PUNCT = re.compile(r"[\s、,，.。:：;；·\-—_()（）\[\]【】“”\"'‘’《》<>]+")
_TRAILING_NUM = re.compile(r"\d+$")


@lru_cache(maxsize=4096)  # the same project names are keyed for every question
def light_key(name: str) -> str:
    """Spacing, full-width forms and punctuation removed; everything else kept."""
    return _PUNCT.sub("", normalize_text(name)).lower()


@lru_cache(maxsize=4096)
def loose_key(name: str) -> str:
    """Also ignores 的, 和/and/与/及 and a trailing number."""
    key = light_key(name)
    key = key.replace("and", "").replace("和", "").replace("与", "").replace("及", "").replace("的", "")
    return _TRAILING_NUM.sub("", key)


def match_project(mention: str, names: list[str]) -> list[str]:
    """Projects the mention names. One element when sure; several when ambiguous; none when unknown."""
    light = light_key(mention)
    if not light:
        return []
    exact = [n for n in names if light_key(n) == light]
    if exact:
        return exact
    loose = loose_key(mention)
    by_loose = [n for n in names if loose_key(n) == loose]
    if by_loose:
        return by_loose
    # the mention may be a distinctive part of a longer name ("创业扶持" for 创业扶持资金)
    contained = [n for n in names if len(light) >= 4 and light in light_key(n)]
    return contained


def find_mentions(question: str, names: list[str]) -> list[str]:
    """Project names (from `names`) that the question mentions, longest first, without overlaps."""
    q_light = light_key(question)
    q_loose = loose_key(question)
    hits: list[str] = []
    for name in sorted(names, key=lambda n: -len(light_key(n))):
        if light_key(name) and light_key(name) in q_light:
            hits.append(name)
    if hits:
        # prefer the longest names; drop names contained in a longer hit
        kept: list[str] = []
        for h in hits:
            if not any(light_key(h) in light_key(k) and h != k for k in kept):
                kept.append(h)
        return kept
    loose_hits = [n for n in names if loose_key(n) and loose_key(n) in q_loose]
    return loose_hits
