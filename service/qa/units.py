"""Amounts asked in another unit than the reports print (pure). The reports print 万元; people ask in 元,
块(钱), 亿元, yuan, thousand or million. A question's thresholds are read in 万元 (`to_wan`), and an answer's
amounts are given in the asked unit too, beside the printed figure that its citation carries (`in_asked_unit`)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_WAN = Decimal(10000)

# a unit asked: 元 that is not 万元/亿元/千元 (多少元, 合多少元, 50000元), 块(钱), 亿, yuan/RMB, thousand, million
_ASKS_YUAN = re.compile(r"(?<![万亿千])元|块钱|(?<=\d)块|(?<=[万千])块|\byuan\b|\brmb\b", re.I)
_ASKS_YI = re.compile(r"亿")
_ASKS_MILLION = re.compile(r"\bmillions?\b", re.I)
_AMOUNT_WAN = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*万元(?!\s*[（(]合\d)")


def _plain(d: Decimal) -> str:
    s = f"{d.normalize():f}"
    return s[:-2] if s.endswith(".0") else s


def _wan_of_yuan(yuan: Decimal) -> str:
    """An amount in 元 as the reports print 万元: two decimals (18791574元 → 1879.16, not 1879.1574)."""
    from decimal import ROUND_HALF_UP

    return _plain((yuan / _WAN).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def asked_units(question: str) -> list[str]:
    q = question or ""
    out = []
    if _ASKS_YUAN.search(q):
        out.append("元")
    if _ASKS_YI.search(q):
        out.append("亿元")
    if _ASKS_MILLION.search(q):
        out.append("million")
    return out


# 万元 asked (多少万元, 几万, in 万元): an amount a form printed in 元 is given in 万元 beside it
_ASKS_WAN = re.compile(r"万元|几万|多少万|(?<![\d.])万(?![\u4e00-\u9fff])|ten thousand yuan|in wan", re.I)
_AMOUNT_YUAN = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*元(?!\s*[（(]合)")


def in_asked_unit(answer: str, question: str) -> str:
    """Each "X万元" of the answer followed by the same amount in the unit the question asked (合Y元 / 合Y亿元 /
    = Y million yuan); asked in 万元, each "X元" a form printed in 元 followed by 合Y万元. Unchanged when the
    question names no unit."""
    units = asked_units(question)
    if _ASKS_WAN.search(question or "") and "元" not in units:
        answer = _AMOUNT_YUAN.sub(lambda m: f"{m.group(0)}（合{_wan_of_yuan(Decimal(m.group(1)))}万元）", answer)
    if not units:
        return answer

    def conv(m: re.Match) -> str:
        try:
            v = Decimal(m.group(1))
        except InvalidOperation:
            return m.group(0)
        bits = []
        for u in units:
            if u == "元":
                bits.append(f"{_plain(v * _WAN)}元")
            elif u == "亿元":
                bits.append(f"{_plain(v / _WAN)}亿元")
            else:
                bits.append(f"{_plain(v / 100)} million yuan")
        return f"{m.group(0)}（合{'、'.join(bits)}）"

    return _AMOUNT_WAN.sub(conv, answer)


def to_wan(q: str) -> str:
    """A question's amounts in 万元: 50000元 / 5万块钱 / 两万块 / 50,000 yuan / 20 thousand yuan / 10 million yuan /
    1亿元 — so the conditions read them as the reports' figures."""
    q = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", q)  # 50,000 → 50000
    q = re.sub(r"(?<![一二两三四五六七八九十百千\d])([一二两三四五六七八九])万(?=块|元)",
               lambda m: f"{'一二三四五六七八九'.index(m.group(1).replace('两', '二')) + 1}万", q)
    q = re.sub(r"(\d+(?:\.\d+)?)\s*万\s*块(?:钱)?", r"\1万元", q)
    q = re.sub(r"(\d+(?:\.\d+)?)\s*亿(?:元)?", lambda m: f"{_plain(Decimal(m.group(1)) * _WAN)}万元", q)
    q = re.sub(r"(\d+(?:\.\d+)?)\s*million\s*(?:yuan|rmb)?", lambda m: f"{_plain(Decimal(m.group(1)) * 100)}万元", q,
               flags=re.I)
    q = re.sub(r"(\d+(?:\.\d+)?)\s*thousand\s*(?:yuan|rmb)?", lambda m: f"{_plain(Decimal(m.group(1)) / 10)}万元", q,
               flags=re.I)
    q = re.sub(r"(?<![\d.万亿千])(\d+(?:\.\d+)?)\s*(?:元|块钱|块|yuan|rmb)(?![\u4e00-\u9fff]*?[分%])",
               lambda m: f"{_plain(Decimal(m.group(1)) / _WAN)}万元", q, flags=re.I)
    return q
