"""Offline answers to open questions: the best supporting sentences from retrieved chunks, each cited to
the exact lines it came from. Pure: the caller passes the retrieved spans' lines."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from retrieval.normalize import is_cjk, normalize_text
from retrieval.types import Line

# Words every question about these reports shares; they say nothing about *which* passage answers it.
_GENERIC = (
    "哪些", "什么", "多少", "是否", "如何", "怎样", "为什么", "为何", "原因", "情况", "项目", "资金", "预算", "执行",
    "绩效", "目标", "指标", "年度", "报告", "自评", "得分", "请问", "说明", "主要", "有关", "相关", "的", "了", "吗",
    "呢", "是", "在", "和", "与", "及", "中", "对", "有", "为", "哪个", "哪里", "怎么", "几个", "几项", "几家", "几",
)
_EN_STOP = {"many", "much", "when", "where", "who", "whom", "have", "has", "had", "were", "what", "which", "why", "how", "did", "does", "do", "the", "a", "an", "of", "for", "to", "in", "is",
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
    "training": "培训", "short": "未完成", "shortfall": "未完成", "missed": "未完成", "miss": "未完成", "shangjie": "上街", "zhongyuan": "中原", "gaoxin": "高新", "zhengzhou": "郑州", "archives": "档案", "employment": "就业", "entrepreneurship": "创业",
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
    context: str = ""  # the heading / table header the sentence sits under
    bonus: float = 0.0  # the report's own explanation for the project asked about (see service.qa.service)


def bigrams(text: str) -> set[str]:
    chars = [c for c in text if is_cjk(c) or c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])} | {c for c in chars if is_cjk(c)}


@functools.lru_cache(maxsize=1)
def _en_zh() -> dict[str, str]:
    """Retrieval's English-to-report-Chinese words (EN_ZH: employers → 用人单位, labour inspection → 劳动监察)
    and this module's own readings, which win where both read a word. One vocabulary: with this module's short
    list alone, an English question retrieval answered well was judged to share nothing with its passage."""
    from retrieval.index import EN_ZH

    return {**{k: v for k, v in EN_ZH.items() if re.search(r"[\u4e00-\u9fff]", v)}, **_EN_ZH}


def bridge_english(question: str) -> str:
    """The question with the Chinese words its English words stand for appended, so an English question
    can match Chinese text lexically (retrieval and sentence ranking both use it)."""
    q = normalize_text(question)
    extra = [zh for word, zh in _en_zh().items() if re.search(rf"\b{re.escape(word)}\b", q, re.I)]
    return q + (" " + " ".join(dict.fromkeys(extra)) if extra else "")


@functools.lru_cache(maxsize=1)
def _bridged_words() -> frozenset[str]:
    return frozenset(w for k in _en_zh() for w in k.split())


# (科室, 处室, 处理, 科技 are no bodies: 内设科室 is not an office called 内设科)
# (an English question names the body before English words: "did the 劳动监察大队 review")
_ORG = re.compile(r"[\u4e00-\u9fff]{2,12}?(?:局|大队|中心|办公室|委员会|处(?![室理置])|科(?![室技学研]))(?=[\u4e00-\u9fff]|\s*[A-Za-z])")


def _term_sets(question: str, names: list[str] = ()) -> tuple[set[str], set[str]]:
    from retrieval.index import ZH_PLAIN

    # everyday words count with the reports' words for them (科室 → 内设机构), as retrieval searched them
    question = question + "".join(" " + v for k, v in ZH_PLAIN.items() if k in question)
    q = bridge_english(question).lower()
    for name in sorted(names, key=len, reverse=True):
        base = normalize_text(name).lower()
        # the question may spell the name the loose way the matcher accepted (和 for and, no 、, no trailing 1)
        for variant in {base, base.replace("and", "和"), base.replace("、", ""), re.sub(r"\d+$", "", base)}:
            q = q.replace(variant, " ")
    q = _ORG.sub(" ", q)
    q_cjk = re.sub(r"[a-z]+", " ", q)  # English words are bridged above, not counted as letter pairs
    for g in sorted(_GENERIC, key=len, reverse=True):
        q_cjk = q_cjk.replace(g, " ")
    cjk: set[str] = set()
    for seg in re.split(r"[^\u4e00-\u9fff0-9]+", q_cjk):
        if len(seg) == 1 and not seg.isdigit():
            cjk.add(seg)
        cjk |= {a + b for a, b in zip(seg, seg[1:])}
    bridged = _bridged_words()
    english = {w for w in re.findall(r"[a-z]+", q) if w not in _EN_STOP and w not in bridged and len(w) > 2}
    return cjk, english


def question_terms(question: str, names: list[str] = ()) -> set[str]:
    """What a supporting sentence should contain: CJK bigrams of the question's specific words (generic
    report vocabulary, the named projects and issuing bodies removed — retrieval already narrowed to them,
    and the sentence that answers rarely repeats them; bigrams never across word gaps), else its English
    content words."""
    cjk, english = _term_sets(question, names)
    return cjk or english


_WHY = re.compile(r"为什么|为何|原因|why|reason|explain", re.I)
_HOW = re.compile(r"措施|建议|改进|整改|如何|measure|improve|suggest|recommend|plan", re.I)
_REASON_CUE = re.compile(r"原因|因为|由于|因疫情|导致|致使|影响")
_MEASURE_CUE = re.compile(r"加快|加强|进一步|建议|措施|整改|优化|提高|完善|督促")


_ENDS_SENTENCE = re.compile(r"[。！？!?；;：:]\s*$")


def complete_last_sentence(lines: list[Line], following: list[Line], most: int = 3) -> list[Line]:
    """The span's lines, plus the next few text lines of its page up to the end of the sentence the span stops
    in. A chunk boundary falls mid-sentence ("…下降65.67%,主"); quoting the cut sentence answers with half a
    clause and hides its reason. Table rows and spans that end a sentence are left as they are."""
    if not lines or lines[-1].kind == "row" or _ENDS_SENTENCE.search(lines[-1].text):
        return lines
    out = list(lines)
    for ln in following[:most]:
        if ln.kind == "row" or ln.page != lines[-1].page:
            break
        out.append(ln)
        if _SENT_END.search(ln.text):
            break
    return out


def split_sentences(doc_id: str, lines: list[Line], hit_rank: int, context: str = "") -> list[Sentence]:
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
                out.append(Sentence(text, doc_id, covered[0].page, covered[0].line_no, covered[-1].line_no, hit_rank,
                                    context=context))
        buf, offsets = "", []

    for ln in lines:
        if ln.kind == "row":
            flush()
            out.append(Sentence(ln.text, doc_id, ln.page, ln.line_no, ln.line_no, hit_rank, context=context))
            continue
        if offsets and offsets[-1][2].page != ln.page:
            flush()  # a quote is verified on one page: never let a sentence straddle a page break
        sep = "" if not buf or is_cjk(buf[-1]) or (ln.text and is_cjk(ln.text[0])) else " "
        start = len(buf) + len(sep)
        buf += sep + ln.text
        offsets.append((start, len(buf), ln))
    flush()
    return out


_TOC_LINE = re.compile(r"\.{4,}|…{2,}|\.{2,}\s*\|?\s*\d+\s*$")


def sentence_score(terms: set[str], s: Sentence, *, why: bool, how: bool) -> float:
    """Terms found in the sentence count fully; terms found only in the heading above it count 0.7 (the
    answer to "主要经验和做法" sits under that heading and need not repeat it)."""
    text = s.text.lower()
    grams = bigrams(text) | set(re.findall(r"[a-z]+", text))
    ctx = s.context.lower()
    ctx_grams = (bigrams(ctx) | set(re.findall(r"[a-z]+", ctx))) - grams if ctx else set()
    score = (len(terms & grams) + 0.7 * len(terms & ctx_grams)) / len(terms) if terms else 0.0
    if why and _REASON_CUE.search(s.text):
        score += 0.15
    if how and _MEASURE_CUE.search(s.text):
        score += 0.15
    if len(s.text) < 10:
        score -= 0.2
    if _TOC_LINE.search(s.text):  # a table-of-contents entry names the topic but never answers it
        score -= 1.0
    return score + s.bonus


def rank_sentences(question: str, sentences: list[Sentence], names: list[str] = ()) -> list[Sentence]:
    """Share of the question's terms a sentence contains, nudged towards sentences that give reasons for a
    "why" question or measures for a "what will be done" question, and away from bare list fragments."""
    terms = question_terms(question, names)
    why, how = bool(_WHY.search(question)), bool(_HOW.search(question))
    for s in sentences:
        s.score = sentence_score(terms, s, why=why, how=how) + 0.05 / (1 + s.hit_rank)
    return sorted(sentences, key=lambda s: -s.score)


def coverage(question: str, texts: list[str], names: list[str] = ()) -> float:
    """Share of the question's specific terms found anywhere in the retrieved text: below a floor, the
    retrieved passages are about something else and the honest answer is "not found". An English question
    whose bridged Chinese is too thin to judge by is judged by its remaining English words, unless it names
    a project we hold."""
    cjk, english = _term_sets(question, names)
    if sum(len(t) == 2 for t in cjk) >= 2:
        terms = cjk
    elif names:
        return 1.0
    else:
        terms = cjk | english
    if not terms:
        return 1.0
    grams: set[str] = set()
    for t in texts:
        grams |= bigrams(t.lower()) | set(re.findall(r"[a-z]+", t.lower()))
    return len(terms & grams) / len(terms)


def unsupported_years(question: str, texts: list[str]) -> list[str]:
    """Years the question asks about that none of the retrieved text mentions (2025 in a 2022 report)."""
    joined = " ".join(texts)
    return [y for y in dict.fromkeys(re.findall(r"(?<!\d)(20\d{2})(?!\d)", question)) if y not in joined]


def _shape(text: str) -> str:
    return re.sub(r"[\s|。；;，,]+", "", text)


def pick(question: str, sentences: list[Sentence], *, names: list[str] = (), k: int = 3, hits: int = 3,
         min_score: float = 0.2) -> list[Sentence]:
    """The best sentence of each of the top retrieved passages (retrieval rank is the strongest signal we
    have), then the best remaining ones, up to k; a passage whose best sentence shares too little with the
    question contributes nothing."""
    ranked = rank_sentences(question, sentences, names)
    chosen: list[Sentence] = []
    def take(s: Sentence) -> None:
        if s.score < min_score:
            return
        # the same sentence cut by another chunk's boundary ("…执行率为" beside "…执行率为70.51%。") is one
        # sentence: the fuller reading stays, in the place of the cut one
        key = _shape(s.text)
        for i, c in enumerate(chosen):
            if s.text == c.text or (s.doc_id == c.doc_id and s.page == c.page and s.line_start == c.line_start) \
                    or key in _shape(c.text):
                return
            if _shape(c.text) in key:
                chosen[i] = s
                return
        if len(chosen) < k:
            chosen.append(s)

    if ranked:
        take(ranked[0])  # the single best sentence always makes it, wherever retrieval ranked its passage
    for rank in range(hits):
        best = next((s for s in ranked if s.hit_rank == rank), None)
        if best is not None:
            take(best)
    for s in ranked:
        take(s)
    return sorted(chosen, key=lambda s: (s.hit_rank, -s.score))


_ASKS_FIGURE = re.compile(r"多少|几[个项次名人家年]|多大|比例|比重|百分之|占比|how (?:much|many)|what (?:percentage|share|proportion)",
                          re.I)
_FIGURE = re.compile(r"\d")
_ENUMERATION = re.compile(r"^\s*(?:[(（]?\d{1,2}[)）.、．]|第[一二三四五六七八九十\d]+[条项点])")  # "2.加强…" is no figure


def keep_figures(question: str, chosen: list[Sentence]) -> list[Sentence]:
    """A question that asks for a figure is answered by the sentences that state one: a heading or a definition
    that shares its words but holds no number is noise beside the sentence with the figure (asked 机关运行经费
    比上年减少多少, the answer is the sentence with 减少89.62万元, not the section title "机关运行经费支出情况说明"
    and the glossary entry after it). Questions that ask for no figure keep every chosen sentence."""
    if not _ASKS_FIGURE.search(question):
        return chosen
    with_figures = [s for s in chosen if _FIGURE.search(_ENUMERATION.sub("", s.text))]
    return with_figures or chosen


def display(text: str) -> str:
    return text.replace("\t", " | ")


_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{4,40})[”\"」』]")
_QUESTION_WORDS = re.compile(r"多少|哪些|哪个|什么|几|共|了|吗|呢|是否|怎|为|如何|安排|涉及")
# a fund's name (…资金, …经费, …保证金, optionally …项目) opening the question; an issuing body before it
# (中原区医疗保障局针对项目…) is no part of a name
_NAME_HEAD = re.compile(r"\s*(?:[\u4e00-\u9fff]{2,12}?(?:局|大队|中心|办公室|委员会|厅|部))?"
                        r"((?:(?!局|厅|委员会|办公室)[\u4e00-\u9fff]){4,24}?"
                        r"(?:(?:专项资金|补助资金|补贴资金|资金|经费|补助金|保证金|保障金|补贴)(?:项目)?|项目(?=的?(?:预算|得分|自评|执行|评价|等级|总分))))"
                        r"(?=的|项目|自评|得分|预算|执行|评价|等级|总分|实际|花了|用了|花掉|支出了|[^\u4e00-\u9fff])"
                        # or a bare name before 的 and the figure asked (城市内涝监测预警的自评得分)
                        r"|\s*((?:(?!局|厅|委员会|办公室|项目|哪)[\u4e00-\u9fff]){4,16}?)(?=的(?:全年)?(?:预算|自评|得分|执行|评价|等级|总分))")
_CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,24}(?:(?:专项资金|补助资金|补贴资金|资金|经费|补助金|保证金|保障金|补贴)(?:项目)?|项目)")
_NAME_LIKE = re.compile(r"([\u4e00-\u9fff]{4,24}?(?:专项资金|补助资金|补贴资金|资金|经费|补助金|补贴|项目))")


def unknown_names(question: str, known_projects: list[str], index, names_only: bool = False) -> list[str]:
    """Names the question asks about that no ingested text contains: a quoted name, a body (…局, …大队,
    …中心), or a project-like phrase (…资金, …经费, …项目) after a year. Asked about a project that is not there, the honest answer is
    "not found", however well the rest of the question matches."""
    from service.qa.names import light_key, match_project

    q = normalize_text(question)
    candidates = [] if names_only else [m.group(1) for m in _QUOTED.finditer(q)]
    # an issuing body we hold no report of; a department the linker reads (中原区医保局 for 中原区医疗保障局) has
    # been scoped already — the caller refuses one the corpus does not cover — so its short name is no unknown
    from service.qa.linking import departments_in

    if not names_only:  # names_only: a fund's name only (the structured routes; bodies and quotes are the open route's)
        candidates += [m.group(0) for m in _ORG.finditer(q) if not any(d.place for d, _ in departments_in(m.group(0)))]
    for m in re.finditer(r"(?:\d{4}年度?|\d{4})", q) if not names_only else ():
        tail = _NAME_LIKE.match(q, m.end())
        if tail and not _QUESTION_WORDS.search(tail.group(1)):
            candidates.append(tail.group(1))
    # a project-like name the question opens with, or one in an English question (农民工工资保证金项目自评
    # 得分多少 / What score did the 农民工工资保证金 project get?): asked for a project's figure by a name no
    # project holds, retrieval's nearest passage is about something else
    # (at the question's start, or a clause's: 帮领导查：高新区人社局失业保险稳岗补贴执行了多少)
    starts = [0] + [m.end() for m in re.finditer(r"[：:，,；;]\s*", q)]
    named = [h.group(1) or h.group(2) for h in (_NAME_HEAD.match(q, s) for s in starts) if h]
    if re.match(r"\s*[A-Za-z]", q):
        named += [m.group(0) for m in _CJK_NAME.finditer(q)]
    if named:
        from service.qa.linking import link_projects

        spellings = {n: n for n in known_projects}
        # a name the linker reads as a stored project however abbreviated (远程教育站点经费) is known
        candidates += [n for n in named if not _QUESTION_WORDS.search(n) and not link_projects(n, spellings)]
    if not candidates:
        return []
    todo = [(cand, light_key(re.sub(r"项目$", "", cand))) for cand in candidates if not match_project(cand, known_projects)]
    todo = [(cand, key) for cand, key in todo if key]
    if not todo:
        return []
    if hasattr(index, "text_contains"):  # the keyed corpus kept on disk by the index, per generation
        found = index.text_contains([key for _, key in todo], light_key)
    else:
        texts = index.texts() if hasattr(index, "texts") else [c.text for c in index.chunks()]
        corpus = light_key("".join(texts))
        found = [key in corpus for _, key in todo]
    return [cand for (cand, _), hit in zip(todo, found) if not hit]
