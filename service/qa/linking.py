"""Entity linking for everyday questions (pure): projects named partly or loosely, departments named by
their usual abbreviations, and the years a question asks about.

People do not use the extracted names verbatim: they drop a bracketed qualifier (基层党建工作经费 for
基层党建工作经费(专项)), a generic tail (创业扶持 for 创业扶持资金), abbreviate (国企, 医保, 社保费) or keep only
the distinctive words (大督查经费 for 组织人事及重点工作大督查). So a project is linked when the question
covers most of its *core* (the name without bracketed qualifiers and generic tails), or contains a
distinctive fragment of it that no other project's name has. Longer, better-covered names claim their part
of the question first, so 公务员医疗补助追加 does not also link 公务员医疗补助 unless that is named again.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from retrieval.normalize import normalize_text

# Common abbreviations of Chinese public-administration words, applied to the question only (names keep
# their spelling; the question is rewritten towards the long form the reports print).
_EXPANSIONS = (("国企", "国有企业"), ("社保费", "社会保障费"), ("医保费", "医疗保险费"), ("医保", "医疗保险"),
               ("医补", "医疗补助"),
               # shortenings that keep no character of a word in the middle (非物质文化遗产 → 非遗), which the
               # abbreviation linker (each word kept by a character, or left out) cannot derive
               ("非遗", "非物质文化遗产"), ("低保", "最低生活保障"), ("棚改", "棚户区改造"), ("危改", "危房改造"))

# Bureau kinds: every spelling a question or a report uses for the same kind of department; the last is the
# one an answer names it by (a 市教育局 was 教育体育局 in "what the corpus covers", a merged bureau it is not).
DEPARTMENT_KINDS: dict[str, tuple[str, ...]] = {
    "人社": ("人力资源和社会保障局", "人力资源与社会保障局", "人力资源社会保障局", "人社局"),
    "医保": ("医疗保障局", "医保局"),
    "财政": ("财政局",),
    "民政": ("民政局",),
    "卫健": ("卫生健康委员会", "卫生健康委", "卫健局", "卫健委"),
    "教育": ("教育体育局", "教体局", "教育局"),
    "住建": ("住房和城乡建设局", "住建局"),
    "农业": ("农业农村局", "农业局"),
    "水利": ("水利局",),
    "交通": ("交通运输局", "交通局"),
    "退役": ("退役军人事务局", "退役军人局"),
    "社保": ("社会保险事业管理局", "社会保险中心", "社保中心", "社保局"),
}
_KIND_WORDS = sorted(((w, k) for k, ws in DEPARTMENT_KINDS.items() for w in ws), key=lambda x: -len(x[0]))
_KIND_RE = "|".join(re.escape(w) for w, _ in _KIND_WORDS)
# a place is the two characters before 区/县 (上街区, 中原区, 高新区); "我区", "全区" are not places
_KIND_ONLY = re.compile(rf"({_KIND_RE})")
_PLACE_ONLY = re.compile(r"([\u4e00-\u9fff]{2})(区|县)")
_NOT_PLACES = {"我区", "全区", "本区", "该区", "辖区", "城区", "社区", "园区", "景区", "市区", "地区", "各区", "我县",
               "全县", "本县", "该县", "各县", "郡县", "城乡", "省市", "市县"}
# words that stand before a bureau in a question without being its place (查一下医保局…), beyond those the
# characters below already bar (想知道, 查询, 看看, 统计, 那个, 所有, 对比 …)
_NOT_PLACE_WORDS = {"一下"}
# characters of requests and pronouns, which a place abbreviated without 区/县 (高新, 上街, 中原) does not hold:
# 给我医保局…, 帮我查人社局…, 挑出医保局… (上 and 下 are left out: 上街)
_NOT_PLACE_CHARS = re.compile(r"[我你您他她它给帮查看找挑列算问说要想请把让将被对跟同向从到过在个些这那哪各每所全统计数比较析知询告诉解关于吗呢吧啊]")
# (not an amount, a score or a count that happens to read 2000: 预算2000万, 2000元, 2000人)
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?![\d.])(?!\s*(?:万|亿|元|块|分|%|个|人|名|家|项|次|户|thousand|million|yuan))"
                   r"\s*(?:年|年度|\b|(?=[^\d]))")

# generic tails and qualifiers people drop when they name a project
_GENERIC_TAIL = re.compile(r"(?:专项资金|补助资金|补贴资金|专项经费|工作经费|资金|经费|专项|项目)+$")
_BRACKETED = re.compile(r"[(（][^()（）]{0,12}[)）]")
_NAME_PUNCT = re.compile(r"[\s、,，.。:：;；·\-—_“”\"'‘’《》<>()（）]+")


@dataclass(frozen=True)
class Department:
    place: str | None  # 上街, 高新, 中原 (without 区/县)
    kind: str | None  # a key of DEPARTMENT_KINDS, or another bureau's word as its report prints it (应急管理局)
    # the level written just before the bureau (县 of 县卫健局, 市 of 市卫生健康委员会), when one is: a 县 bureau is
    # not the 市 one of the same kind. Not part of equality: a document naming a bureau with and without its
    # level names one department.
    level: str | None = field(default=None, compare=False)

    def same_level(self, other: Department) -> bool:
        return self.level is None or other.level is None or self.level == other.level

    def label(self) -> str:
        kind = (DEPARTMENT_KINDS[self.kind][-1] if self.kind in DEPARTMENT_KINDS else self.kind) if self.kind else ""
        where = self.place + (self.level or "区") if self.place else (self.level or "") if kind else ""
        return f"{where}{kind}" or "该单位"


# Any other bureau, as the reports name it (应急管理局, 自然资源和规划局, 发展和改革委员会, 市场监督管理局): its
# kind is the bureau word itself, read from the stored documents; a question names it in full or by an
# abbreviation that keeps its first character and some later ones in order (应急局, 发改委, 市监局, 文旅局).
# People's organisations report as departments too (残疾人联合会 → 残联, 科学技术协会 → 科协): their short name is
# the first character of the body and of 联合会/协会.
_BUREAU = re.compile(r"([\u4e00-\u9fff]{2,16}?)(委员会|联合会|协会|局|厅)")
_BUREAU_TAILS = ("委员会", "联合会", "协会", "局", "厅")
_BUREAU_SHORT = {"委员会": ("委员会", "委"), "联合会": ("联合会", "联"), "协会": ("协会", "协"), "局": ("局",), "厅": ("厅",)}
_LEVEL_CHARS = "省市区县"
_NOT_KIND_CHARS = re.compile(r"[的在是了为、年度我你帮查看找给问请个些这那哪各每所全]")  # 和 is in 住房和城乡建设
# words ending like a bureau that are none (项目布局, 总体格局, 服务大厅)
_NOT_BUREAUS = {"布局", "格局", "结局", "当局", "大局", "全局", "开局", "出局", "僵局", "残局", "终局", "定局", "时局",
                "政局", "骗局", "饭局", "赌局", "邮局", "大厅", "客厅", "餐厅", "展厅", "门厅", "前厅", "舞厅"}
# a form's field label before the bureau it names (主管部门：区应急管理局) is no place
_FIELD_WORDS = {"部门", "单位", "主管", "实施", "名称", "机构", "预算", "填报"}


def _place_before(t: str, s: int) -> tuple[str | None, int]:
    """The place written just before position s (上街区, 中原县, 郑州市, 高新 without 区), and where it starts.
    A name's generic words before a level character are no place (…补助县农业农村局, …资金区民政局)."""
    mark = t[s - 1] if s >= 1 and t[s - 1] in "区县市省" else None
    ps = s - 1 if mark else s
    before = t[ps - 2:ps] if ps >= 2 else ""
    place = before if len(before) == 2 and all("\u4e00" <= ch <= "\u9fff" for ch in before) else None
    if place is None:
        pass
    elif all(ch in _GENERIC_CHARS for ch in place) or place in _FIELD_WORDS or re.search(r"[的和与及在是了为、年度局由向从将被]", place):
        place = None  # two of a name's generic characters (资金, 补助), a field label, a particle or a year
    elif mark is not None:
        place = None if f"{place}{mark}" in _NOT_PLACES else place
    elif place[-1] in "区县" or place in _NOT_PLACE_WORDS or re.search(_NOT_PLACE_CHARS, place):
        place = None
    return place, (ps - 2 if place is not None else (ps if mark else s))


_FIELD_LABEL = re.compile(r"(?:部门|单位|主管|预算|实施|项目|填报|申报)?(?:部门|单位)?[(（]?(?:单位|部门)?[)）]?(?:名称|部门|单位)")
# a level character inside a word is none (城市管理局, 市场监督管理局, 社区服务中心)
_LEVEL_IN_WORDS = {"城市", "都市", "市场", "市政", "市容", "社区", "园区", "景区", "城区", "辖区", "小区", "片区", "区域",
                   "县域", "郡县"}


def _bureau_core(prefix: str) -> int:
    """Where the bureau word starts in the run of characters before 局/委员会/…: after the asker's words, a
    joining 和, a field label and the places in front of it, that is after the last level character that is
    not inside a word (区城市管理 → 城市管理, 郑州市中原区城市管理 → 城市管理, 区市场监督管理 → 市场监督管理,
    部门名称县残疾人联合 → 残疾人联合)."""
    junk = list(_NOT_KIND_CHARS.finditer(prefix))
    i = junk[-1].end() if junk else 0  # 帮我查应急管理局: the bureau starts after the asker's words
    while i < len(prefix) and prefix[i] in "和与及":  # 财政局和应急管理局: the second bureau starts after 和
        i += 1
    label = _FIELD_LABEL.match(prefix, i)  # 部门名称应急管理局: a form's field label before the bureau
    if label and len(prefix) - label.end() >= 2:
        i = label.end()
    cut = i
    for j in range(i, len(prefix) - 2):  # a bureau word keeps two characters at least
        if prefix[j] in _LEVEL_CHARS and prefix[j - 1:j + 1] not in _LEVEL_IN_WORDS \
                and prefix[j:j + 2] not in _LEVEL_IN_WORDS:
            cut = j + 1
    return cut


def bureaus_in(text: str) -> list[tuple[str, str | None, tuple[int, int]]]:
    """Bureaus a report's own text names, outside the kinds above: (bureau word, place, span). The bureau
    word starts after the places in front of it (区应急管理局 → 应急管理局, 上街区应急管理局 → 上街 + 应急管理局)."""
    t = normalize_text(text)
    known = [m.span() for m in _KIND_ONLY.finditer(t)]
    out = []
    for m in _BUREAU.finditer(t):
        if any(a < m.end() and m.start() < b for a, b in known):
            continue
        prefix = m.group(1)
        cut = _bureau_core(prefix)
        core = prefix[cut:]
        if len(core) < 2 or (core[-1] + m.group(2)) in _NOT_BUREAUS:
            continue
        start = m.start(1) + cut
        place, pstart = _place_before(t, start)
        out.append((core + m.group(2), place, (pstart if place else start, m.end())))
    return out


def _abbreviates(short: str, core: str) -> bool:
    """短 names 长: the same first character, the rest in order (应急 应急管理, 发改 发展和改革, 市监 市场监督管理)."""
    if short == core:
        return True
    if not short or short[0] != core[0]:
        return False
    i = 0
    for ch in short:
        i = core.find(ch, i) + 1
        if i == 0:
            return False
    return True


def bureaus_named(question: str, bureaus: Iterable[str]) -> list[tuple[str, tuple[int, int]]]:
    """Which of the stored bureaus (bureau words from bureaus_in) a question names, in full or abbreviated,
    with the span of the words it used."""
    t = normalize_text(question)
    found: list[tuple[bool, int, str, tuple[int, int]]] = []
    for bureau in bureaus:
        tail = next(x for x in _BUREAU_TAILS if bureau.endswith(x))
        core = bureau[: -len(tail)]
        for short in _BUREAU_SHORT[tail]:
            for m in re.finditer(re.escape(short), t):
                e = m.start()
                # the longest run before it that names the bureau; one character before 联/协 (残联, 科协)
                least = 1 if tail in ("联合会", "协会") and len(short) == 1 else 2
                for k in range(min(len(core), e), least - 1, -1):
                    if _abbreviates(t[e - k:e], core):
                        found.append((t[e - k:e] == core, k, bureau, (e - k, m.end())))
                        break
    # one bureau per stretch of the question: the one it spells in full, else the longest (区城市管理局 is
    # 城市管理局, not 市场监督管理局 abbreviated as 市管理)
    out: list[tuple[str, tuple[int, int]]] = []
    for _, _, bureau, (a, b) in sorted(found, key=lambda x: (not x[0], -x[1], x[3])):
        if not any(a < y and x < b for _, (x, y) in out):
            out.append((bureau, (a, b)))
    return sorted(out, key=lambda x: x[1])


def expand(question: str) -> str:
    q = normalize_text(question).replace("医保局", "医疗保障局")  # the bureau, before 医保 means insurance
    for short, long in _EXPANSIONS:
        q = q.replace(short, long)
    return q


def departments_in(text: str, bureaus: Iterable[str] | None = None) -> list[tuple[Department, tuple[int, int]]]:
    """Departments a text names (place + kind, or a kind alone), with their spans. A report's text also names
    any other bureau (bureaus_in); a question names the stored `bureaus` it is given, in full or abbreviated."""
    t = normalize_text(text)
    out: list[tuple[Department, tuple[int, int]]] = []
    kinds = dict(_KIND_WORDS)
    # the kind first, then the place before it: a place read by the same regex as the kind would overlap the
    # kind before it (人社局和医保局: 局和 is where 医保局's place would be) and lose the second department.
    # No place: a kind alone at the start (教育局有哪些项目…) or after Latin; 我区人社局, 的人社局, 人社局和医保局,
    # 给我医保局, 帮我查医保局. "高新人社局": a place written without 区.
    for m in _KIND_ONLY.finditer(t):
        place, start = _place_before(t, m.start())
        out.append((Department(place, kinds[m.group(1)], _level_before(t, m.start())), (start, m.end())))
    taken = [sp for _, sp in out]
    # (bureau, place, span, where the bureau word itself starts: its level is the character before that)
    if bureaus is None:
        others = [(b, place, sp, sp[1] - len(b)) for b, place, sp in bureaus_in(t)]
    else:
        others = []
        for b, (a, e) in bureaus_named(t, bureaus):
            place, start = _place_before(t, a)
            others.append((b, place, (start, e), a))
    for b, place, (a, e), core in others:
        if not any(x < e and a < y for x, y in taken):
            out.append((Department(place, b, _level_before(t, core)), (a, e)))
    return out


def _level_before(t: str, s: int) -> str | None:
    """The level character just before position s (县 of 县卫健局, 区 of 上街区人社局), unless it belongs to a
    word (城市管理局's 市 is no level)."""
    if s < 1 or t[s - 1] not in _LEVEL_CHARS or t[s - 2:s] in _LEVEL_IN_WORDS:
        return None
    return t[s - 1]


def places_in(text: str) -> list[tuple[str, tuple[int, int]]]:
    t = normalize_text(text)
    return [(m.group(1), m.span()) for m in _PLACE_ONLY.finditer(t) if m.group(0) not in _NOT_PLACES]


def years_in(text: str, exclude_spans: list[tuple[int, int]] = ()) -> list[int]:
    """Years a question asks about; a year inside a project name it mentions (提前下达2022年…) is not one."""
    out = []
    for m in _YEAR.finditer(text):
        if any(a <= m.start(1) < b for a, b in exclude_spans):
            continue
        y = int(m.group(1))
        if y not in out:
            out.append(y)
    return out


def question_key(question: str) -> str:
    """The question as names are matched in it (and as mention spans count): expanded, without punctuation.
    An enumeration comma separates names as 和 does (name_key drops it: 远程教育、基层党建 would read as one
    name), and so does a space between Chinese words (keywords typed into a search box: 公开招聘 档案室建设
    执行数), replaced before normalize_text, which joins Chinese across spaces."""
    spaced = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "和", question)
    # a clause's end is a boundary no name crosses: the asker's situation before a comma (正在整理材料，9村村民…)
    # is not words of the name after it. "|" survives name_key and matches no name's character.
    clauses = re.sub(r"(?<!\d)[，,；;：:。！!？?]|[，,；;：:。！!？?](?!\d)", "|", normalize_text(spaced))  # not 3,899.46
    return name_key(expand(clauses).replace("、", "和"))


_EN_FILLER = re.compile(r"^(?:the|a|an|of|for|on|in|'s|s)$", re.I)


def english_names_in_chinese(question: str) -> str | None:
    """An English question that names a project only in English (the labor inspection fund, the civil servant
    medical subsidy): its words in the reports' Chinese (retrieval.index.EN_ZH, first reading), adjacent
    translations joined into one phrase, the rest dropped — for the linker to read the name in. None for a
    question with Chinese in it or nothing to translate."""
    from retrieval.index import _EN_KEYS as keys  # longest first
    from retrieval.index import EN_ZH

    if re.search(r"[\u4e00-\u9fff]", question):
        return None
    text = question.lower()
    pieces: list[str] = []
    run = ""
    tokens = re.findall(r"[a-z]+(?:'s)?|[^a-z\s]+", text)
    i = 0
    while i < len(tokens):
        hit = None
        for k in keys:
            words = k.split()
            if [t.removesuffix("'s") for t in tokens[i:i + len(words)]] == words or \
                    [t.removesuffix("'s").rstrip("s") for t in tokens[i:i + len(words)]] == [w.rstrip("s") for w in words]:
                hit = (k, len(words))
                break
        if hit:
            run += EN_ZH[hit[0]].split()[0].replace("=", "")
            i += hit[1]
        elif _EN_FILLER.match(tokens[i]) and run:
            i += 1  # "fund of the bureau": fillers do not end a phrase
        else:
            if run:
                pieces.append(run)
            run = ""
            i += 1
    if run:
        pieces.append(run)
    return " ".join(pieces) or None


def name_key(name: str) -> str:
    return _NAME_PUNCT.sub("", normalize_text(name)).lower()


_GENERIC_HEAD = re.compile(r"^提前下达(?:\d{4}年?)?")  # "advance allocation of …": the fund is the rest
_GENERIC_CHARS = set("资金经费专项补助贴目工作财政")


def core(name: str) -> str:
    """The name without bracketed qualifiers, an advance-allocation head, a trailing number and generic
    tails: what a person keeps when naming it."""
    n = _BRACKETED.sub("", normalize_text(name))
    n = _NAME_PUNCT.sub("", n).lower()
    c = _GENERIC_TAIL.sub("", re.sub(r"\d+$", "", _GENERIC_HEAD.sub("", n)))
    return c or n


@functools.lru_cache(maxsize=100_000)
def _name_forms(name: str) -> tuple[str, str]:
    """(core, key) of a name as the question is matched: abbreviated the way the question is expanded, so a
    name printed with the short form (…城乡居民医保代办员补助资金) still meets the question that says 医保 (which
    expand() reads as 医疗保险)."""
    long = expand(name)
    return core(long), name_key(long)


@dataclass
class Mention:
    project: str  # canonical name
    score: float
    span: tuple[int, int]  # in the expanded question
    ambiguous_with: list[str] = field(default_factory=list)


def _fragments(q: str, c: str, taken: set[int], min_len: int = 2) -> list[tuple[int, int, int]]:
    """Greedy longest common substrings of q (positions not taken) and c: (q_start, length, c_start)."""
    out = []
    used_c: set[int] = set()
    while True:
        best = (0, -1, -1)
        for i in range(len(q)):
            if i in taken:
                continue
            for j in range(len(c)):
                if j in used_c:
                    continue
                k = 0
                while i + k < len(q) and j + k < len(c) and q[i + k] == c[j + k] and (i + k) not in taken \
                        and (j + k) not in used_c:
                    k += 1
                if k > best[0]:
                    best = (k, i, j)
        k, i, j = best
        if k < min_len:
            return out
        out.append((i, k, j))
        taken = taken | set(range(i, i + k))
        used_c |= set(range(j, j + k))


def link_projects(question: str, names: dict[str, str], *, threshold: float = 0.6, relaxed: bool = False) -> list[Mention]:
    """Projects the question names. `names` maps every spelling (name and aliases) to its canonical name.

    A spelling is linked when the question covers at least `threshold` of its core with common runs of two
    or more characters, or when the question holds a run of three or more characters of its core that no
    other project's core contains (distinctive). Best-covered names claim their characters first.
    `relaxed` (the caller already narrowed the candidates to one department's projects): a run of four or
    more non-generic characters anywhere in a core is enough (上街区…养老保险补助 → 城乡居民基本养老保险费财政补助资金)."""
    q = question_key(question)
    forms = {sp: _name_forms(sp) for sp in names}
    cores = {sp: f[0] for sp, f in forms.items()}
    keys = {sp: f[1] for sp, f in forms.items()}
    latin = {i for i, ch in enumerate(q) if "a" <= ch <= "z"}

    q_pairs = {q[i:i + 2] for i in range(len(q) - 1)}

    def evaluate(sp: str, taken: set[int]) -> tuple[float, int, tuple[int, int]] | None:
        c, key = cores[sp], keys[sp]
        if not any(c[i:i + 2] in q_pairs for i in range(len(c) - 1)):
            return None  # not one pair of characters in common: cannot be linked (and cheap to tell)
        free = "".join(ch if i not in taken else "\0" for i, ch in enumerate(q))
        if key and key in free:  # the name as printed: always the best link
            i = free.index(key)
            return 2.0, len(key), (i, i + len(key))
        if len(c) < 3:
            # a short core (就业 of 就业专项资金) links only when the question names it as a fund: 就业资金
            m = re.search(re.escape(c) + r"(?=专项|资金|经费|补助|补贴|项目)", free) if c else None
            return (1.0, len(c), _absorb_tail(q, m.start(), m.end())) if m else None
        # Latin letters link nothing by themselves: "and" in an English question is not 检查and专项
        frags = _fragments(q, c, taken | latin)
        if not frags:
            return None
        covered = sum(k for _, k, _ in frags)
        score = covered / len(c)
        if score < threshold:
            # a distinctive run: three or more characters at the head or the tail of the core (people keep
            # a name's first or last words: 大督查 of 组织人事及重点工作大督查), not all generic, that no
            # other project's name has
            others = [keys[o] for o in keys if names[o] != names[sp]]

            def tail_named(i: int, k: int, j: int) -> bool:
                # the core's last words with the name's own generic tail after them (招聘|专项资金 of
                # 公开招聘专项资金), found in no other name
                if j + k != len(c) or len(set(q[i:i + k]) - _GENERIC_CHARS) < 2:
                    return False
                tail = next((w for w in _TAIL_WORDS if q.startswith(w, i + k) and key.endswith(q[i:i + k] + w)), None)
                return tail is not None and not any(q[i:i + k] + tail in o for o in others)

            def inner_named(i: int, k: int, j: int) -> bool:
                # four words of substance from inside the name, in no other name, with the name's own generic
                # tail after them (道路照明|经费 of 城市道路照明维护经费)
                if k < 4 or len(set(q[i:i + k]) - _GENERIC_CHARS) < 4 or any(q[i:i + k] in o for o in others):
                    return False
                return any(q.startswith(w, i + k) and key.endswith(w) for w in _TAIL_WORDS)

            def key_tail() -> tuple[int, int] | None:
                # the name's own last five or more characters, digit included, in no other name (医疗救助资金2
                # of 提前下达2022年中央财政医疗救助资金2): where the question spells them
                for n in range(len(key), 4, -1):
                    run = key[-n:]
                    strong = any(ch.isdigit() for ch in run) or n >= 6 and len([ch for ch in run if ch not in _GENERIC_CHARS]) >= 4
                    if strong and run in free and not any(run in o for o in others):
                        i = free.index(run)
                        if _other_words(q, [(i, n, 0)], i, i + n, look_before=True) >= 2:
                            return None  # more words of another name before it (智慧停车场|…)
                        return i, i + n
                return None

            kt = key_tail()
            if kt is not None:
                return 0.9, kt[1] - kt[0], kt  # the name's own ending, spelled: near-certain
            # the name with a middle word left out (大病保险|延续项目 of 购买大病保险经办服务延续项目): two or more
            # runs in the name's own order, half its core or more, each with two words of substance
            ordered = sorted(frags)
            if 2 <= len(ordered) <= 3 and covered * 2 >= len(c) and \
                    all(a[2] < b[2] for a, b in zip(ordered, ordered[1:])) and \
                    all(len(set(q[i:i + k]) - _GENERIC_CHARS) >= 2 for i, k, _ in ordered) and \
                    ordered[-1][0] - (ordered[0][0] + ordered[0][1]) <= 1 + sum(k for _, k, _ in ordered[1:-1]):
                score = threshold
                start = ordered[0][0]
                end = ordered[-1][0] + ordered[-1][1]
                ends = end == len(q) or _NAME_END.match(q, end) or any(q.startswith(w, end) for w in _TAIL_WORDS)
                if not ends or _other_words(q, frags, start, end, look_before=True) > 0:
                    return None  # every word of the question's phrase must be the name's (…医疗|费 is not …医疗补助金)
                return score, covered, _absorb_tail(q, start, end)
            if not any(k >= 3 and (j == 0 or j + k == len(c)) and len(set(q[i:i + k]) - _GENERIC_CHARS) >= 2
                       and not any(q[i:i + k] in o for o in others) or tail_named(i, k, j) or inner_named(i, k, j)
                       for i, k, j in frags) \
                    and not (relaxed and any(sum(ch not in _GENERIC_CHARS for ch in q[i:i + k]) >= 4 for i, k, _ in frags)):
                return None
            score = threshold
        start = min(i for i, _, _ in frags)
        end = max(i + k for i, k, _ in frags)
        # a link by a distinctive run alone (a shared tail: 建设专项资金) also counts the words before it
        if _other_words(q, frags, start, end, look_before=score <= threshold) >= 2:
            return None  # the question names something else: 公务员体检补助 is not 公务员医疗补助
        # the name's own ending written after the match (…医疗救助|补助资金 vs …医疗救助|资金2): of two names
        # with the same core, the one whose ending the question spells
        rest = key[key.rfind(c) + len(c):] if c and c in key else ""
        if rest and q.startswith(rest, end):
            return score, covered + len(rest), (start, end + len(rest))
        return score, covered, _absorb_tail(q, start, end)

    found: list[Mention] = []
    taken: set[int] = set()
    pending = set(names)
    while pending:
        results = {sp: r for sp in pending if (r := evaluate(sp, taken)) is not None}
        if not results:
            break
        sp = max(results, key=lambda o: (results[o][0], results[o][1], len(cores[o]), o))
        (a0, b0) = results[sp][2]
        # a name spelled inside a longer one the question spells too (城乡医疗救助 inside 彩票公益金支持城乡医疗救助的
        # 资金): the longer name is what is asked
        wider = [o for o, r in results.items() if r[2][0] <= a0 and r[2][1] >= b0 and r[2][1] - r[2][0] > b0 - a0
                 and r[1] >= results[sp][1] + 3  # words of its own around it (not 城乡医疗救助|的)
                 # one phrase, not two names joined (公务员医疗补助|和追加 is two projects)
                 and not any(j in q[r[2][0]:r[2][1]] and j not in keys[o] for j in ("和", "与", "及", "跟"))]
        if wider:
            sp = max(wider, key=lambda o: (results[o][1], results[o][0], len(cores[o]), o))
        score, covered, span = results[sp]
        canon = names[sp]
        ties = sorted({names[o] for o, r in results.items()
                       if names[o] != canon and r[0] == score and r[1] == covered and r[2] == span})
        found.append(Mention(canon, min(score, 1.0), span, ties))
        taken |= set(range(*span))
        pending -= {o for o in pending if names[o] == canon or names[o] in ties}
    out: list[Mention] = []
    for m in found:
        if all(o.project != m.project for o in out):
            out.append(m)
    extra = _elided(q, out, names, keys)
    # a weaker link read in the words an elided name took (追加项目 of …及其追加项目) is that name, not another
    out = [m for m in out if m.score >= 1.0 or not any(m.span[0] < e.span[1] and e.span[0] < m.span[1] for e in extra)]
    return out + extra or _abbreviated(q, names, cores, threshold)


@functools.lru_cache(maxsize=100_000)
def _abbreviation_re(c: str) -> re.Pattern:
    """A core as it reads abbreviated, two characters a word: the first word's first character kept, each later
    word kept whole, by one of its characters (远程教育站点 → 远教站点, 公共租赁住房 → 公租房: 住房 by 房), or
    left out (公共租赁住房运营补助 → 公租房补助). Group "s<i>" is set where word i is kept by one character."""
    words = [c[i:i + 2] for i in range(0, len(c), 2)]
    head = re.escape(words[0][0]) + (f"(?:{re.escape(words[0][1])}|(?P<s0>))" if len(words[0]) > 1 else "")
    rest = "".join(f"(?:{re.escape(w)}|(?P<s{i}>{re.escape(w[0])}|{re.escape(w[1])}))?" if len(w) > 1 else
                   f"(?:{re.escape(w)})?" for i, w in enumerate(words[1:], 1))
    return re.compile(head + rest)


def _abbreviated(q: str, names: dict[str, str], cores: dict[str, str], threshold: float) -> list[Mention]:
    """The last resort when nothing else links: a name abbreviated word by word (远教站点资金 for 远程教育站点专项
    资金, 公租房补助 for 公共租赁住房运营补助), four or more characters, three of substance, and half its core or
    more, naming exactly one project."""
    hits: dict[str, tuple[int, int]] = {}
    for sp, c in cores.items():
        if len(c) < 5 or not re.fullmatch(r"[\u4e00-\u9fff]+", c):
            continue
        # the longest reading anywhere in the question (the regex alone takes the first, maybe one character)
        best = max((m for i in range(len(q)) if q[i] == c[0] and (m := _abbreviation_re(c).match(q, i))),
                   key=lambda m: len(m.group(0)), default=None)
        # an abbreviation shortens two words or more (公租房, 远教): a name with whole words left out
        # (破产企业退休人员医疗 of 破产困难企业退休人员大病医疗补助金) or a run it spells as it is (退役军人 of
        # 市退役军人事务局) is the linker's to judge above
        shortened = sum(1 for k, v in best.groupdict().items() if v is not None) if best else 0
        if best and 4 <= len(best.group(0)) < len(c) and len(best.group(0)) >= 0.5 * len(c) \
                and len(set(best.group(0)) - _GENERIC_CHARS) >= 3 and shortened >= 2:
            hits.setdefault(names[sp], best.span())
    if len(hits) != 1:
        return []
    (canon, span), = hits.items()
    return [Mention(canon, threshold, _absorb_tail(q, *span))]


_ELIDED = re.compile(r"(?:和|与|及其|及|以及|跟)([\u4e00-\u9fff0-9]{1,6}?)(?=项目|的|两个|两项|二项|这两|分别|各|一共|合计|哪|谁|相比|比较|$)")


def _elided(q: str, found: list[Mention], names: dict[str, str], keys: dict[str, str]) -> list[Mention]:
    """A second name written as the first's continuation: 公务员医疗补助和追加 (…及其追加项目) names 公务员医疗
    补助追加 too, when that is a project's name."""
    by_key = {k: names[sp] for sp, k in keys.items()}
    have = {m.project for m in found}
    extra: list[Mention] = []
    for m in found:
        g = _ELIDED.match(q, m.span[1])
        if not g:
            continue
        bare = re.sub(r"(?:资金|经费|项目)$", "", g.group(1))  # 及追加资金 names …追加 too
        for suffix in dict.fromkeys((g.group(1), g.group(1) + "项目", bare)):
            canon = by_key.get(name_key(m.project) + suffix)
            if canon and canon not in have:
                extra.append(Mention(canon, 1.0, g.span(1)))
                have.add(canon)
                break
    return extra


_LOOSE_TAIL = re.compile(r"(?:补助|补贴|资金|经费|专项|项目|费|金)+$")
_ASK_HEAD = re.compile(r"^(?:请问|请|问|查询|查一下|告诉我|我想知道|想了解)")
_ASK_TAIL = re.compile(r"(?:一共|总共|共|获得|得到|得)$")


def loose_candidates(question: str, names: dict[str, str], most: int = 8) -> tuple[str, list[str]] | None:
    """A loose name no project owns (养老保险补助, asked where four projects' names hold 养老保险): the words
    the question names a project with, and every project whose name contains their core. Answering every
    one of them, said so, is what a colleague would do; guessing one is wrong most of the time. None when
    the words are too short to mean anything (two characters) or match one project or more than `most`."""
    q = question_key(question)
    for piece in _NAME_END.split(q):
        piece = _ASK_TAIL.sub("", _ASK_HEAD.sub("", piece))
        c = _LOOSE_TAIL.sub("", piece)
        if len(c) < 3 or len(set(c) - _GENERIC_CHARS) < 3:
            continue
        hits = sorted({canon for sp, canon in names.items() if c in name_key(sp)})
        if 1 < len(hits) <= most:
            return piece, hits
    return None


# where a project's name in a question ends: particles, conjunctions and the words asked about it
_NAME_END = re.compile(r"的|是|和|与|及|跟|或|在|为|了|有|、|这|那|[两二三四五六七八九十几][个笔项]|加起来|加一块|加在一起|合起来|相加|平均|总计|之和|两项|两者|二者|当年|今年|去年|本年|上年|年度|年初|年末|年底|预算|执行|得分|自评|总分|分数|等级|评价|评级|评为|项目|实际|全年|一共|合计|"
                       r"共|比较|哪|多少|几|分别|各|情况|绩效|安排|花|用|支出|到位|拨付|发放|怎么|如何|吗|呢|发现|存在|取得|实现|达到|主要|"
                       r"没|未|一分钱|分文|为什么|为何|原因|评了|评上|评的|被评|[^\u4e00-\u9fff]")


def _other_words(q: str, frags: list[tuple[int, int, int]], start: int, end: int, look_before: bool = False) -> int:
    """Non-generic characters of the question's name phrase that the stored name does not have: inside
    the matched span, and running on after it up to where the phrase ends (设备购置 in 远程教育设备购置资金)."""
    matched = {i for i, k, _ in frags for i in range(i, i + k)}
    inside = sum(1 for i in range(start, end) if i not in matched and q[i] not in _GENERIC_CHARS)
    # and before it, back to where the phrase starts: 智慧停车场|建设专项资金 is not 公共文化服务体系建设专项资金. An
    # issuing body (…局, …区), a year, an asking head (请问) or a particle ends the walk
    j = start
    while look_before and j > 0:
        ch = q[j - 1]
        if not "\u4e00" <= ch <= "\u9fff" or ch in _BODY_END or \
                any(_NAME_END.fullmatch(q, j - k, j) or _ASK_HEAD_WORDS.fullmatch(q, j - k, j) for k in (1, 2, 3, 4) if j >= k):
            break
        j -= 1
    if look_before:
        inside += sum(1 for i in range(j, start) if q[i] not in _GENERIC_CHARS)
    tail_start, tail_end = _absorb_tail(q, end, end)
    if tail_end > tail_start:
        # the name's generic tail right after the match (河道保洁|经费) ends the phrase: what follows is what is
        # asked of it (救助人次完成值, an indicator), not more words of another name
        return inside
    j = end
    after = 0
    while j < len(q) and not _NAME_END.match(q, j):
        if any(q.startswith(w, j) for w in _TAIL_WORDS):
            break
        after += q[j] not in _GENERIC_CHARS
        j += 1
    return inside + after


_BODY_END = set("局区县市省厅队委办年")
_ASK_HEAD_WORDS = re.compile(r"请问|请|问|查询|查一下|一下|告诉我|我想知道|想了解|想知道|看看|说说|列出|统计|计算|分析|对比")
_TAIL_WORDS = ("专项资金", "补助资金", "补贴资金", "专项经费", "工作经费", "资金", "经费", "专项", "项目")


def _absorb_tail(q: str, start: int, end: int) -> tuple[int, int]:
    """A mention's span includes the generic tail the question put after it (创业扶持|资金)."""
    for w in _TAIL_WORDS:
        if q.startswith(w, end):
            return start, end + len(w)
    return start, end


def strip_spans(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for i in range(a, min(b, len(chars))):
            chars[i] = " "
    return "".join(chars)


@dataclass
class DocProfile:
    """What a stored document covers: its departments and years, from its title and its records."""

    doc_id: str
    departments: list[Department]
    years: list[int]

    def covers(self, dept: Department) -> bool:
        return any((dept.place is None or d.place == dept.place) and (dept.kind is None or d.kind == dept.kind)
                   and d.same_level(dept) for d in self.departments)


def profile(doc_id: str, title_lines: list[str], fields: list[str], years: list[int],
            body_lines: list[str] = ()) -> DocProfile:
    """A document's departments come from its title lines and the department/implementer fields of its
    records (not from its body, which names the bureaus it worked with); a kind known without a place
    takes the place the same document gives that kind elsewhere."""
    depts: list[Department] = []
    for text in [*title_lines, *fields]:
        for d, _ in departments_in(text):
            if d not in depts:
                depts.append(d)
    placed = {d.kind: d.place for d in depts if d.place}
    depts = [Department(placed.get(d.kind), d.kind, d.level) if d.place is None else d for d in depts]
    out: list[Department] = []
    for d in depts:
        if d not in out:
            out.append(d)
    ys = sorted(set(years) | {y for t in title_lines for y in years_in(t)})
    if not ys:
        # no year in the records or the title: the years the opening text reports on, not those inside a
        # document number (五人社〔2015〕82号)
        ys = sorted({y for t in body_lines for y in years_in(re.sub(r"[〔\[【(（][^〕\]】)）]*[〕\]】)）]", " ", t))})
    return DocProfile(doc_id, out, ys)


def close_names(text: str, names: list[str], k: int = 3, floor: float = 0.35) -> list[str]:
    """Stored names closest to a name we do not hold (shared character pairs of the cores, Dice), for a
    not-found answer to suggest; nothing when nothing is close."""
    def pairs(s: str) -> set[str]:
        return {s[i:i + 2] for i in range(len(s) - 1)}

    want = pairs(core(text))
    if not want:
        return []
    scored = []
    for n in dict.fromkeys(names):
        have = pairs(core(n))
        if have:
            score = 2 * len(want & have) / (len(want) + len(have))
            if score >= floor:
                scored.append((score, n))
    return [n for _, n in sorted(scored, key=lambda x: -x[0])[:k]]
