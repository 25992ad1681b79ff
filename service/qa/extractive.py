"""Offline answers to open questions: the best supporting sentences from retrieved chunks, each cited to
the exact lines it came from. Pure: the caller passes the retrieved spans' lines."""
from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.normalize import is_cjk, normalize_text
from retrieval.types import Line

# Words every question about these reports shares; they say nothing about *which* passage answers it.
_GENERIC = (
    "哪些", "什么", "多少", "是否", "如何", "怎样", "为什么", "为何", "原因", "情况", "项目", "资金", "预算", "执行",
    "绩效", "目标", "指标", "年度", "报告", "自评", "得分", "请问", "说明", "主要", "有关", "相关", "的", "了", "吗",
    "呢", "是", "在", "和", "与", "及", "中", "对", "有", "为", "哪个", "哪里", "怎么",
)
_EN_STOP = {"what", "which", "why", "how", "did", "does", "do", "the", "a", "an", "of", "for", "to", "in", "is",
            "are", "was", "were", "its", "their", "and", "or", "on", "by", "with", "project", "projects", "report",
            "reports", "say", "said", "about", "be", "it", "that", "this", "there", "any", "were", "promised"}
_EN_ZH = {
    "measure": "措施", "measures": "措施", "improve": "改进", "improvement": "改进", "problem": "问题",
    "problems": "问题", "issue": "问题", "issues": "问题", "reason": "原因", "reasons": "原因", "target": "目标",
    "targets": "目标", "execution": "执行", "rate": "执行率", "budget": "预算", "low": "较低", "covid": "疫情",
    "epidemic": "疫情", "pandemic": "疫情", "satisfaction": "满意度", "retirees": "退休人员", "retired": "退休",
    "medical": "医疗", "insurance": "保险", "pension": "养老", "assistance": "救助", "relief": "救助",
    "outpatient": "门诊", "inpatient": "住院", "hospital": "住院", "fund": "资金", "funds": "资金",
    "definition": "定义", "define": "定义", "framework": "框架", "indicator": "指标", "indicators": "指标",
    "score": "得分", "grade": "等级", "evaluation": "评价", "self-evaluation": "自评", "suggestion": "建议",
    "suggestions": "建议", "recommend": "建议", "recommendations": "建议", "experience": "经验",
    "training": "培训", "archives": "档案", "employment": "就业", "entrepreneurship": "创业",
}
_SENT_END = re.compile(r"(?<=[。！？!?；;])")


@dataclass
class Sentence:
    text: str
    doc_id: str
    page: int
    line_start: int
    line_end: int
    hit_rank: int
    score: float = 0.0


def bigrams(text: str) -> set[str]:
    chars = [c for c in text if is_cjk(c) or c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])} | {c for c in chars if is_cjk(c)}


def bridge_english(question: str) -> str:
    """The question with the Chinese words its English words stand for appended, so an English question
    can match Chinese text lexically (retrieval and sentence ranking both use it)."""
    q = normalize_text(question)
    extra = [zh for word, zh in _EN_ZH.items() if re.search(rf"\b{re.escape(word)}\b", q, re.I)]
    return q + (" " + " ".join(dict.fromkeys(extra)) if extra else "")


def question_terms(question: str) -> set[str]:
    """What a supporting sentence should contain: CJK bigrams of the question's specific words (generic
    report vocabulary removed, bigrams never across word gaps), else its English content words."""
    q = bridge_english(question).lower()
    q_cjk = re.sub(r"[a-z]+", " ", q)  # English words are bridged above, not counted as letter pairs
    for g in sorted(_GENERIC, key=len, reverse=True):
        q_cjk = q_cjk.replace(g, " ")
    grams: set[str] = set()
    for seg in re.split(r"[^\u4e00-\u9fff0-9]+", q_cjk):
        if len(seg) == 1:
            grams.add(seg)
        grams |= {a + b for a, b in zip(seg, seg[1:])}
    if grams:
        return grams
    return {w for w in re.findall(r"[a-z]+", q) if w not in _EN_STOP and len(w) > 2}


_WHY = re.compile(r"为什么|为何|原因|why|reason|explain", re.I)
_HOW = re.compile(r"措施|建议|改进|整改|如何|measure|improve|suggest|recommend|plan", re.I)
_REASON_CUE = re.compile(r"原因|因为|由于|因疫情|导致|致使|影响")
_MEASURE_CUE = re.compile(r"加快|加强|进一步|建议|措施|整改|优化|提高|完善|督促")


def split_sentences(doc_id: str, lines: list[Line], hit_rank: int) -> list[Sentence]:
    """Sentences of a span of lines with the line numbers each covers. Table rows stay one sentence."""
    out: list[Sentence] = []
    buf = ""
    offsets: list[tuple[int, int, Line]] = []

    def flush():
        nonlocal buf, offsets
        pos = 0
        for piece in _SENT_END.split(buf):
            if not piece.strip():
                pos += len(piece)
                continue
            start, end = pos, pos + len(piece)
            covered = [ln for s, e, ln in offsets if s < end and e > start]
            pos = end
            text = piece.strip()
            if covered and len(text) >= 4:
                out.append(Sentence(text, doc_id, covered[0].page, covered[0].line_no, covered[-1].line_no, hit_rank))
        buf, offsets = "", []

    for ln in lines:
        if ln.kind == "row":
            flush()
            out.append(Sentence(ln.text, doc_id, ln.page, ln.line_no, ln.line_no, hit_rank))
            continue
        if offsets and offsets[-1][2].page != ln.page:
            flush()  # a quote is verified on one page: never let a sentence straddle a page break
        sep = "" if not buf or is_cjk(buf[-1]) or (ln.text and is_cjk(ln.text[0])) else " "
        start = len(buf) + len(sep)
        buf += sep + ln.text
        offsets.append((start, len(buf), ln))
    flush()
    return out


def rank_sentences(question: str, sentences: list[Sentence]) -> list[Sentence]:
    """Share of the question's terms a sentence contains, nudged towards sentences that give reasons for a
    "why" question or measures for a "what will be done" question, and away from bare list fragments."""
    terms = question_terms(question)
    if not terms:
        return []
    why, how = bool(_WHY.search(question)), bool(_HOW.search(question))
    for s in sentences:
        text = s.text.lower()
        grams = bigrams(text) | set(re.findall(r"[a-z]+", text))
        score = len(terms & grams) / len(terms)
        if why and _REASON_CUE.search(s.text):
            score += 0.15
        if how and _MEASURE_CUE.search(s.text):
            score += 0.15
        if len(s.text) < 10:
            score -= 0.2
        s.score = score + 0.05 / (1 + s.hit_rank)
    return sorted(sentences, key=lambda s: -s.score)


def pick(question: str, sentences: list[Sentence], *, k: int = 3, min_score: float = 0.34) -> list[Sentence]:
    ranked = [s for s in rank_sentences(question, sentences) if s.score >= min_score]
    chosen: list[Sentence] = []
    for s in ranked:
        if any(s.text == c.text or (s.doc_id == c.doc_id and s.page == c.page and s.line_start == c.line_start)
               for c in chosen):
            continue
        chosen.append(s)
        if len(chosen) == k:
            break
    return chosen


def display(text: str) -> str:
    return text.replace("\t", " | ")
