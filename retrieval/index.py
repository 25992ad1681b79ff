"""The index edge: chunks → Chroma (explicit offline vectors) + BM25 over jieba tokens → reciprocal-rank fusion.

Consistency. The store (service/store) is the source of truth for which documents exist. The index keeps a
small manifest, `doc_id -> {content_hash, chunk_ids, filename}`, written atomically (temp file + fsync +
os.replace) *after* the Chroma write. Whatever a crash interrupts, `reconcile(known_doc_ids, fetch)`
compares the manifest and the Chroma contents with the store's list, removes orphans and re-adds whatever
is missing or half-written, so the index ends in the store's state. Writers in several processes (API and
CLI) serialise on a lock file next to the manifest.

The search state (chunks as columns, BM25 postings over jieba tokens, and the matrix of vectors it scores
exactly, see `_Bm25State`) is kept in a snapshot beside the collection, keyed by the manifest's generation
that every write bumps. A process whose snapshot is stale updates it (`HybridIndex._update_state`): the
manifest's content hashes say which documents changed, only their chunks are read back from Chroma and cut,
and BM25 is re-scored from the token ids stored for the rest, so a chunk is in BM25 exactly when it is in
Chroma. Tokens are not stored in Chroma: they are a pure function of a chunk's text and context, which keeps
documents and questions cut by the same dictionary and took 40% off the Chroma write (the token strings were
the largest metadata). `jixiao ingest` brings the snapshot up to date before it exits.

Ranking (`HybridIndex.search`, mode "hybrid"), each step general and each measured on the dev split of
eval/gold/retrieval.json (the test split was scored once, after tuning; figures in scripts/bench_retrieval.py):
  1. Issuer prior: a question naming the issuing department (`中原区医疗保障局…`, see
     retrieval.chunking.find_issuers) names a document; the name is taken out of the query and the search
     stays in that department's documents.
  2. Two global lists: exact cosine over the hashed n-gram vectors, and BM25 over jieba words + character
     bigrams (+ the terms formulas define, `=预算执行率`).
  3. Label prior: a question naming a unit (a project) is searched again inside it, without the name; those
     lists weigh by how well the rest of the question matches inside the unit against anywhere.
  4. Definition list: for "how is X computed", the chunks whose formula defines X.
  5. Reciprocal-rank fusion, k=15, then chunk priors: rows that only label columns count half, and so do
     chunks without a figure when the question asks for a quantity.

No network: vectors are always computed here and passed as `embeddings=` / `query_embeddings=`; the
collection is created with `embedding_function=None`, so Chroma never loads its default ONNX model, and
telemetry is off.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from retrieval import lexical
from retrieval.chunking import Chunk, chunk_document, chunking_signature, content_hash, issuer_aliases
from retrieval.embedding import Embedder, make_embedder
from retrieval.types import LoadedDocument

if TYPE_CHECKING:  # pragma: no cover
    from service.models import ReportUnit
    from service.settings import Settings

log = logging.getLogger(__name__)

DOMAIN_DICT = Path(__file__).with_name("data") / "domain_dict.txt"
# Cormack et al. (2009) use 60; that flat a curve let two middling votes beat one list's clear first (the
# formula that defines 预算执行率 was BM25's first and lost to rows ranked ~5th by both lists). Dev
# recall@5 by k: 60 0.93, 30 0.95, 20 0.95, 15 0.96, 10 0.96 (before the later steps).
RRF_K = 15
# Fusion weights and BM25 parameters, measured on eval/retrieval.py's dev split. BM25 carries more weight
# than the hashed vectors, which are the weaker signal here (recall@5 0.73 vs 0.54 alone); the searches
# scoped to a named project carry the most.
LIST_WEIGHTS = {"vector": 0.5, "bm25": 1.0, "vector_scoped": 1.0, "bm25_scoped": 2.0, "defined": 1.0}
# Low b: chunks run from a 10-character row to 400 characters of prose, and full length normalisation
# (b=0.75) let short boilerplate rows (`(2020年度)`, `⇥其他⇥⇥其他`) beat the passage that answers.
BM25_K1, BM25_B = 1.2, 0.3
# Fused-score factor for rows that only label columns (表头 rows, `栏次 1 2 3`): made of exactly the words a
# question uses (基本支出, 项目支出) and short, they outranked the sentences that answer.
LABEL_ROW_PRIOR = 0.5
# Expected answer: a question asking for a quantity (多少, 执行率, 得分 …, and not why or how) is answered by
# a chunk with a figure in it; chunks without one get this factor on their fused score.
NO_FIGURE_PRIOR = 0.5
_WANTS_FIGURE = re.compile(
    r"多少|几[个项家人次名辆]|执行率|完成率|得分|总分|分数|分值|金额|数额|比例|占比|百分之|人数|人次|预算数|决算数|执行数|"
    r"完成值|目标值|指标值|支出率|到位率|\bhow (?:much|many)\b|\b(?:rate|score|amount|number|total|percentage)\b", re.I)
_WANTS_REASON = re.compile(r"为什么|原因|问题|措施|建议|怎么|如何|怎样|哪些方面|什么方面|\bwhy\b|\bhow (?:is|are|was|were|did|do)\b|"
                           r"\breasons?\b|\bproblems?\b|\bmeasures?\b", re.I)
_NOT_FIGURES = re.compile(r"(?:19|20)\d{2}\s*年度?|〔\d{4}〕\s*\d+\s*号|\[\d+\]|^\s*\d{1,2}[.、]|\(\d{1,2}\)|[①-⑩]")
_FIGURE = re.compile(r"\d")


def wants_figure(question: str) -> bool:
    """Whether a question asks for a quantity rather than a reason, a measure or a description."""
    return bool(_WANTS_FIGURE.search(question)) and not _WANTS_REASON.search(question)


def has_figure(text: str) -> bool:
    """A figure beyond years, document numbers and list markers (2022年度, 〔2023〕1号, 1., (3))."""
    return bool(_FIGURE.search(_NOT_FIGURES.sub(" ", text)))


# The label prior's lists weigh (best BM25 score inside the named unit / best anywhere), for what is asked
# about the unit. (Squaring the ratio lost three dev questions, its square root one: the plain ratio.)
LABEL_TRUST = True
LABEL_MIN = 0.5  # share of a unit label's distinctive bigrams the question must contain to name that unit
# (vector, bm25): when the question names a unit, whether the unscoped searches also drop the name.
# BM25 does (else every title line and 项目名称 row of the project outranks the answer); the vectors keep
# it, which finds the unit's rows in summary tables of other units.
GLOBAL_STRIPPED = (False, True)

# ---------------------------------------------------------------------------------------------------------
# tokenization for BM25


_TOKENIZERS: dict[str, Any] = {}
_TOKENIZER_LOCK = threading.Lock()
_KEEP_TOKEN = re.compile(r"[\w%.=\u4e00-\u9fff]")
# question words and function words: rare in the reports, so BM25 would give them a high IDF and reward
# any chunk that happens to contain 多少 or 是否.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 为 对 中 有 其 该 此 之 以 等 于 把 被 从 由 向 个 项 吗 呢 啊 吧 么 请问 多少 什么 哪些 哪个 哪里 "
    "如何 怎么 怎样 是否 是不是 有没有 几 几个 分别 情况 请 告诉 我 "
    "what which who whom how many much is are was were the a an of in on for to and or by with did does do "
    "as at be from that this it its what's".split()
)


def get_tokenizer(cache_dir: Path):
    """A jieba Tokenizer with the domain dictionary, its 9 MB cache kept under `cache_dir` (not $TMPDIR)."""
    key = str(cache_dir)
    with _TOKENIZER_LOCK:
        tok = _TOKENIZERS.get(key)
        if tok is None:
            import jieba

            logging.getLogger("jieba").setLevel(logging.WARNING)  # "Building prefix dict…" on every start
            cache_dir.mkdir(parents=True, exist_ok=True)
            tok = jieba.Tokenizer()
            tok.tmp_dir = key
            cache, shared = cache_dir / "jieba.cache", _shared_jieba_cache(jieba)
            if shared is not None and not cache.exists():
                _copy_file(shared, cache)  # a new data dir starts from the machine's copy
            _load_jieba_cache(tok, cache)
            tok.load_userdict(str(DOMAIN_DICT))  # (builds and writes the cache when it could not be read)
            if shared is not None and not shared.exists() and tok.initialized:
                _copy_file(cache, shared)
            _TOKENIZERS[key] = tok
    return tok


class _FreqTable:
    """jieba's FREQ (word and prefix -> count, ~580k entries) read from a SQLite copy one lookup at a time,
    for a process that only cuts questions: loading the whole dictionary was 0.2 s of every open `jixiao ask`
    (a question looks up ~100 entries). Words added here (the domain dictionary) live in memory on top.
    Thread-safe: lookups share one read-only connection under a lock."""

    def __init__(self, path: Path):
        import sqlite3

        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._known: dict[str, int | None] = {}  # words looked up (None: absent) and words added
        self.total = int(self._conn.execute("SELECT n FROM meta WHERE k = 'total'").fetchone()[0])

    def _lookup(self, word: str) -> int | None:
        got = self._known.get(word, _UNSEEN)
        if got is not _UNSEEN:
            return got
        with self._lock:
            row = self._conn.execute("SELECT n FROM freq WHERE w = ?", (word,)).fetchone()
        got = None if row is None else row[0]
        if len(self._known) < 200_000:  # a server's questions repeat their words
            self._known[word] = got
        return got

    def __contains__(self, word) -> bool:
        return self._lookup(word) is not None

    def __getitem__(self, word: str) -> int:
        got = self._lookup(word)
        if got is None:
            raise KeyError(word)
        return got

    def get(self, word: str, default=None):
        got = self._lookup(word)
        return default if got is None else got

    def __setitem__(self, word: str, n: int) -> None:
        self._known[word] = n


_UNSEEN = object()
_FREQ_VERSION = "1"


def _freq_path(cache: Path) -> Path:
    return cache.with_name(cache.name + ".freq.sqlite3")


def _cache_stamp(cache: Path) -> str:
    """What a SQLite copy was made from: the dictionary cache's size and checksum (its content: a data dir's
    cache is a copy of the machine's, with its own mtime)."""
    import zlib

    data = cache.read_bytes()
    return f"{_FREQ_VERSION}:{len(data)}:{zlib.crc32(data)}"


def _write_freq_table(freq: dict, total: int, cache: Path) -> None:
    """The SQLite copy of a loaded dictionary cache, beside it, stamped with what it was made from (a cache
    jieba rebuilds makes it stale), and the machine's copy of it for the next data dirs. Best effort:
    without it, questions load the whole dictionary."""
    import sqlite3

    path = _freq_path(cache)
    try:
        stamp = _cache_stamp(cache)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=path.name, suffix=".tmp")
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp)
            with conn:
                conn.execute("CREATE TABLE freq (w TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
                conn.execute("CREATE TABLE meta (k TEXT PRIMARY KEY, n TEXT NOT NULL)")
                conn.executemany("INSERT INTO freq VALUES (?, ?)", freq.items())
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [("total", str(total)), ("stamp", stamp)])
            conn.close()
            os.replace(tmp, path)
            import jieba

            shared = _shared_jieba_cache(jieba)
            if shared is not None:
                _copy_file(path, _freq_path(shared))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except (OSError, sqlite3.Error):
        log.debug("could not write %s", path, exc_info=True)


def _freq_table(cache: Path) -> _FreqTable | None:
    """The SQLite copy of this dictionary cache, if there is one made from it: the data dir's, else the
    machine's (copied into the data dir)."""
    import sqlite3

    import jieba

    path = _freq_path(cache)
    try:
        want = _cache_stamp(cache)
        shared = _shared_jieba_cache(jieba)
        for source in (path, _freq_path(shared) if shared is not None else None):
            if source is None or not source.exists():
                continue
            table = _FreqTable(source)
            stamp = table._conn.execute("SELECT n FROM meta WHERE k = 'stamp'").fetchone()
            if stamp is None or stamp[0] != want:
                table._conn.close()
                continue
            if source != path:  # the data dir keeps its own copy, as it does of the dictionary cache
                table._conn.close()
                _copy_file(source, path)
                table = _FreqTable(path) if path.exists() else _FreqTable(source)
            return table
    except (OSError, sqlite3.Error, TypeError, ValueError):
        return None
    return None


def get_query_tokenizer(cache_dir: Path):
    """A tokenizer for questions: the same cuts as get_tokenizer's (same dictionary, same domain words),
    its dictionary looked up in a SQLite copy instead of loaded whole. The first process without that copy
    loads the whole dictionary, as before, and writes the copy for the next ones."""
    key = "query:" + str(cache_dir)
    with _TOKENIZER_LOCK:
        tok = _TOKENIZERS.get(key)
        if tok is not None:
            return tok
    import marshal

    cache = cache_dir / "jieba.cache"
    table = _freq_table(cache)
    if table is None:
        full = get_tokenizer(cache_dir)  # writes the dictionary cache if there was none
        try:  # the cache as read, before the domain words: what the copy is made of
            freq, total = marshal.loads(cache.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return full
        if isinstance(freq, dict) and isinstance(total, int) and freq:
            _write_freq_table(freq, total, cache)
        table = _freq_table(cache)
        if table is None:
            return full
    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(cache_dir)
    tok.FREQ, tok.total, tok.initialized = table, table.total, True
    tok.load_userdict(str(DOMAIN_DICT))
    with _TOKENIZER_LOCK:
        return _TOKENIZERS.setdefault(key, tok)


def _shared_jieba_cache(jieba) -> Path | None:
    """The machine's copy of jieba's dictionary cache, for data dirs that have none yet: jieba builds it
    from its 350k-word dictionary in 0.55 s (against 0.2 s to read it), which every new data dir paid (each
    test's, each evaluation folder's) and which a parallel ingest pays before its workers start.
    $JIXIAO_CACHE_DIR or $XDG_CACHE_HOME/jixiao (~/.cache/jixiao); JIXIAO_CACHE_DIR set empty turns it off.
    The data dir keeps its own copy, so a data dir never depends on it."""
    root = os.environ.get("JIXIAO_CACHE_DIR")
    if root is None:
        root = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jixiao")
    if not root.strip():
        return None
    try:  # named by what the cache is made from: jieba's version and its dictionary file
        made_from = Path(jieba.__file__).with_name("dict.txt").stat().st_size
    except OSError:
        return None
    return Path(root) / f"jieba-{jieba.__version__}-{made_from}.cache"


def _copy_file(src: Path, dst: Path) -> None:
    """Best effort and atomic (another process may be copying the same file): a failure leaves jieba to
    build the cache, as before."""
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=dst.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(src.read_bytes())
            os.replace(tmp, dst)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        log.debug("could not copy %s to %s", src, dst, exc_info=True)


def _load_jieba_cache(tok, cache: Path) -> None:
    """Fill a fresh jieba Tokenizer from the dictionary cache jieba wrote, read in one go. jieba's own
    initialize() runs marshal.load on the open file, which reads it object by object: 0.48 s against
    0.13 s for marshal.loads on the bytes, paid by every process that tokenizes (each ingest worker, each
    CLI question). Anything unexpected leaves the tokenizer to jieba, which rebuilds the cache."""
    import marshal

    try:
        freq, total = marshal.loads(cache.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return
    if isinstance(freq, dict) and isinstance(total, int) and freq:
        tok.FREQ, tok.total, tok.initialized = freq, total, True


BIGRAMS = True
# Function characters: a bigram across one (是多, 的预, 算和) is noise, not a phrase.
_FUNCTION_CHARS = frozenset("的是和与及了吗呢么哪啥怎何几或")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _words(text: str, tokenizer) -> list[str]:
    out = []
    for tok in tokenizer.cut_for_search(text.replace("\t", " "), HMM=True):
        tok = tok.strip().lower()
        if tok and _KEEP_TOKEN.search(tok) and tok not in STOPWORDS and " " not in tok:
            out.append(tok)
    return out


def _bigrams(text: str) -> list[str]:
    out: list[str] = []
    if BIGRAMS:
        for run in _HAN_RUN.findall(text):
            out.extend("~" + run[i:i + 2] for i in range(len(run) - 1)
                       if run[i] not in _FUNCTION_CHARS and run[i + 1] not in _FUNCTION_CHARS)
    return out


_DEFINED = re.compile(r"([\u4e00-\u9fff]{2,})\s*=")


def _definitions(text: str) -> list[str]:
    """`=预算执行率`, `=执行率` … for `预算执行率=(实际支出资金/实际到位资金)×100%`: the term a formula
    defines (every ending of the ideographs right before `=`, as the defined word may be preceded by others
    in flattened tables). A question asking how a term is computed asks for exactly these (query_tokens)."""
    out = []
    for m in _DEFINED.finditer(text):
        run = m.group(1)
        out.extend("=" + run[-n:] for n in range(2, min(8, len(run)) + 1))
    return out


def tokenize(text: str, tokenizer) -> list[str]:
    """Search-mode jieba tokens (words and their sub-words: 预算执行率 → 预算, 执行, 执行率, 预算执行率),
    lower-cased, without punctuation, whitespace and stopwords; plus the character bigrams of Chinese
    runs, marked `~`, which match phrases jieba cuts differently (实际支付: 际支) and words missing from
    its dictionary; plus the terms formulas define (`=执行率`)."""
    return _words(text, tokenizer) + _bigrams(text) + _definitions(text)


def query_tokens(question: str, tokenizer) -> list[str]:
    """A question's BM25 tokens: `tokenize` (without definition tokens: a question defines nothing), and
    for a question about how something is computed (预算执行率怎么计算), the definition tokens of its
    words (`=预算执行率`, `=执行率` …)."""
    toks = _words(question, tokenizer) + _bigrams(question)
    if _HOW_COMPUTED.search(question):
        toks += ["=" + t for t in toks if len(t) >= 2 and "\u4e00" <= t[0] <= "\u9fff"]
    return toks


def tokenize_chunks(chunks: Sequence[Chunk], tokenizer) -> list[tuple[list[str], list[str]]]:
    """(tokens of the text, tokens of the context) for every chunk, each distinct string cut once.

    A table's rows share their context (section, caption, header, carried cells), and cutting it again
    for every row was half the indexing time. Both jieba and the bigram runs break at the newline between
    context and text, so `tokenize(c.embed_text)` is the two lists together."""
    memo: dict[str, list[str]] = {}

    def cut(text: str) -> list[str]:
        got = memo.get(text)
        if got is None:
            got = memo[text] = tokenize(text, tokenizer) if text else []
        return got

    return [(cut(c.text), cut(c.context)) for c in chunks]


# English questions about Chinese reports: the words that carry the question, in the reports' vocabulary.
EN_ZH = {
    "execution rate": "执行率", "budget execution": "预算执行率", "implementation rate": "执行率",
    "self-evaluation": "自评", "self evaluation": "自评", "score": "得分", "total score": "总得分",
    "grade": "评价等级", "rating": "评价等级", "satisfaction": "满意度", "target": "指标值 目标",
    "actual": "实际完成值", "deviation": "偏差原因", "reason": "原因", "budget": "预算", "adjusted budget": "全年预算数",
    "initial budget": "年初预算数", "executed": "执行数", "spent": "支出 执行数", "expenditure": "支出",
    "income": "收入", "revenue": "收入", "final accounts": "决算", "problems": "存在问题", "problem": "问题",
    "improvement": "改进措施", "measures": "措施", "indicator": "指标", "output": "产出指标", "benefit": "效益指标",
    "cost": "成本", "quantity": "数量指标", "quality": "质量指标", "timeliness": "时效指标",
    "retirees": "退休人员", "retired": "退休", "medical": "医疗", "medical assistance": "医疗救助",
    "pension": "养老保险", "subsidy": "补贴 补助", "subsidies": "补贴 补助", "people": "人数", "number of": "人数 数量",
    "civil servant": "公务员", "civil servants": "公务员", "housing provident fund": "住房公积金",
    "three public": "三公经费", "official reception": "公务接待费", "vehicles": "公务用车", "procurement": "政府采购",
    "government procurement": "政府采购", "employment": "就业", "labor inspection": "劳动监察",
    "labour inspection": "劳动监察", "training": "培训", "framework": "指标体系框架", "formula": "计算公式 =",
    "bankrupt": "破产", "enterprises": "企业", "lottery": "彩票公益金", "operating expenses": "机关运行经费",
    "basic expenditure": "基本支出", "project expenditure": "项目支出", "personnel": "人员经费",
    "department": "部门", "goal": "绩效目标", "goals": "绩效目标", "objective": "绩效目标", "completion": "完成情况",
    "funds": "资金", "fund": "资金", "amount": "金额", "paid": "支付", "payment": "支付 拨付",
    "carry out": "进行了", "carried out": "进行了", "conduct": "开展", "conducted": "开展",
    "performance self-evaluation": "绩效 进行了自评", "how many projects": "多少个项目",
    "units": "单位", "included": "纳入", "employers": "用人单位", "employer": "用人单位", "review": "审查",
    "reviewed": "审查", "designated medical institutions": "定点医药机构", "self-inspect": "自查自纠",
    "self-inspection": "自查自纠", "urban-rural": "城乡", "urban and rural": "城乡", "residents": "居民", "resident": "居民",
    "pension insurance": "养老保险", "medical insurance": "医疗保险", "living allowance": "生活补贴",
    "internal divisions": "内设机构", "internal departments": "内设机构", "internal units": "内设机构",
    "average": "平均", "average score": "平均得分", "unpaid wages": "讨要工资 欠薪", "wages": "工资",
    "special inspection": "专项检查", "special inspections": "专项检查", "brigade": "大队", "checked": "检查",
    "inspected": "检查", "complaint": "投诉", "complaints": "投诉", "case": "案件", "cases": "案件",
}
_EN_KEYS = sorted(EN_ZH, key=len, reverse=True)
_LATIN = re.compile(r"[A-Za-z]{3,}")


# The reports define their indicators by formula (预算执行率=(实际支出资金/实际到位资金)×100%): a question
# about how something is computed is a question for the `=`.
_HOW_COMPUTED = re.compile(r"怎么计算|如何计算|怎样计算|怎么算|计算公式|计算方法|公式|定义|how is .* (?:computed|calculated|defined)|formula|definition",
                           re.I)


# Everyday Chinese for what the reports say formally (讨薪 for 讨要工资): the reports' words are appended.
ZH_PLAIN = {"科室": "内设机构", "讨薪": "讨要工资 欠薪", "讨回": "讨要", "欠薪": "拖欠工资", "花钱": "支出", "钱": "资金",
            "干了什么": "完成情况", "做了什么": "完成情况", "效果": "效益", "满意不满意": "满意度", "老百姓": "群众"}


def expand_query(query: str) -> str:
    """Append the Chinese terms of English words and everyday words in the query, and `=` to questions about
    formulas."""
    if _HOW_COMPUTED.search(query):
        query = f"{query} ="
    plain = [v for k, v in ZH_PLAIN.items() if k in query and v not in query]
    if plain:
        query = f"{query} {' '.join(plain)}"
    if not _LATIN.search(query):
        return query
    low = query.lower()
    extra = []
    for key in _EN_KEYS:
        if re.search(rf"\b{re.escape(key)}(?:s|es|ed|d|ing)?\b", low):  # budgeted, payments
            extra.append(EN_ZH[key])
            low = low.replace(key, " ")
    return f"{query} {' '.join(extra)}" if extra else query


_GRAM_CHAR = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]")


def char_bigrams(text: str) -> set[str]:
    """Bigrams of letters, digits and ideographs, never across punctuation or spaces."""
    grams: set[str] = set()
    prev = ""
    for ch in text.lower():
        if _GRAM_CHAR.match(ch):
            if prev:
                grams.add(prev + ch)
            prev = ch
        else:
            prev = ""
    return grams


# Words every label has (…专项资金, …自评报告, 2022年度…): they say nothing about which unit is meant.
_GENERIC_LABEL_GRAMS = char_bigrams("年度 自评 报告 绩效 项目 资金 专项 经费 评价 总结 汇总 财政")


def label_grams(label: str) -> set[str]:
    grams = {g for g in char_bigrams(label) if not g.isdigit()} - _GENERIC_LABEL_GRAMS
    return grams or char_bigrams(label)


def named_labels(query: str, labels: dict[str, set[str]]) -> list[str]:
    """Unit labels (project names) the question names: those whose bigrams it mostly contains, best first.

    Containment rather than similarity, because a question adds words around the name, and tolerant
    (LABEL_MIN) because people shorten names (`城乡居民养老保险补助` for `城乡居民基本养老保险费财政补助资金`).
    Near-ties all count: 中原区 has `…医疗救助补助的资金` and `…医疗救助补助资金`.
    """
    q = char_bigrams(query)
    scored = []
    for label, grams in labels.items():
        if len(grams) >= 2:
            scored.append((len(grams & q) / len(grams), len(grams), label))
    if not scored:
        return []
    best = max(sc for sc, _, _ in scored)
    if best < LABEL_MIN:
        return []
    named = [(sc, lb) for sc, _, lb in sorted(scored, reverse=True) if sc >= best - 0.05]
    # A name inside a longer name the question spells out at least as fully is not named on its own:
    # `公务员医疗补助追加` names that project, not also `公务员医疗补助`.
    return [lb for sc, lb in named if not any(lb != other and lb in other and osc >= sc for osc, other in named)]


ISSUER_STRIP = (True, True)  # (vector, bm25): search without the named issuer's name
ISSUER_SCOPE = True  # and only in the documents that issuer issued


def named_issuers(query: str, aliases: dict[str, set[str]]) -> tuple[list[str], str]:
    """The issuer names (aliases, see retrieval.chunking.issuer_aliases) the question spells out, longest
    first and never overlapping, and the question without them."""
    low = query.lower()
    found = []
    for alias in sorted(aliases, key=len, reverse=True):
        at = low.find(alias.lower())
        if at >= 0:
            found.append(alias)
            low = low[:at] + " " * len(alias) + low[at + len(alias):]
            query = query[:at] + " " * len(alias) + query[at + len(alias):]
    return found, re.sub(r"\s+", " ", query).strip()


def strip_labels(query: str, labels: Sequence[str]) -> str:
    """The question without the characters that spell the named labels: what is asked *about* the unit."""
    grams = set().union(*(char_bigrams(lb) for lb in labels)) if labels else set()
    low = query.lower()
    drop = [False] * len(low)
    for i in range(len(low) - 1):
        if low[i:i + 2] in grams:
            drop[i] = drop[i + 1] = True
    out = "".join(" " if d else ch for ch, d in zip(query, drop))
    return re.sub(r"\s+", " ", out).strip()


# ---------------------------------------------------------------------------------------------------------
# public types


@dataclass
class SearchFilters:
    """All optional; `project` and `section` match as substrings, the others exactly."""

    doc_ids: list[str] | None = None
    project: str | None = None
    year: int | None = None
    section: str | None = None
    unit_kind: str | None = None

    @classmethod
    def of(cls, value: SearchFilters | dict | None) -> SearchFilters:
        if value is None:
            return cls()
        if isinstance(value, SearchFilters):
            return value
        data = dict(value)
        if "doc_id" in data:
            doc = data.pop("doc_id")
            data["doc_ids"] = [doc] if isinstance(doc, str) else list(doc)
        if "kind" in data:
            data["unit_kind"] = data.pop("kind")
        unknown = set(data) - {"doc_ids", "project", "year", "section", "unit_kind"}
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def empty(self) -> bool:
        return not (self.doc_ids or self.project or self.year is not None or self.section or self.unit_kind)

    def mask_of(self, chunks: Sequence[Chunk]) -> np.ndarray:
        """accepts() over every chunk, read column by column (no Chunk objects built for the ones left out)."""
        n = len(chunks)
        m = np.ones(n, dtype=bool)
        if self.doc_ids:
            ids = set(self.doc_ids)
            m &= np.fromiter((d in ids for d in _column(chunks, "doc_id")), dtype=bool, count=n)
        if self.project:
            m &= np.fromiter((p is not None and self.project in p for p in _column(chunks, "project")), dtype=bool, count=n)
        if self.year is not None:
            m &= np.fromiter((y == self.year for y in _column(chunks, "year")), dtype=bool, count=n)
        if self.section:
            m &= np.fromiter((self.section in x for x in _column(chunks, "section")), dtype=bool, count=n)
        if self.unit_kind:
            m &= np.fromiter((x == self.unit_kind for x in _column(chunks, "unit_kind")), dtype=bool, count=n)
        return m


@dataclass
class SearchHit:
    rank: int
    score: float  # fused reciprocal-rank score
    chunk: Chunk
    vector_rank: int | None = None
    bm25_rank: int | None = None
    vector_score: float | None = None  # cosine similarity
    bm25_score: float | None = None

    @property
    def source(self) -> str:
        c = self.chunk
        end = f"{c.line_end}" if c.page_end == c.page else f"p{c.page_end}:{c.line_end}"
        return f"{c.stem or c.doc_id[:12]} p{c.page} l{c.line_start}-{end}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["chunk"] = self.chunk.to_dict()
        d["source"] = self.source
        return d


class IndexInput:
    """A document's chunks, their vectors and their BM25 tokens, made where the document was read (a worker
    process), so the writer only writes. `signature` is the chunking and embedding they were made with: an
    index whose own differs makes them again. `tokens` (None: not made) spare the writer jieba: cutting every
    chunk in the writer when the ingest ends was its longest serial step (1.7 of 6.9 s for 100 forms with
    two workers)."""

    __slots__ = ("chunks", "vectors", "signature", "tokens", "digest")

    def __init__(self, chunks: list[Chunk], vectors, signature: str,
                 tokens: list[tuple[list[str], list[str]]] | None = None, digest: str | None = None):
        self.chunks, self.vectors, self.signature, self.tokens = chunks, vectors, signature, tokens
        # content_hash(chunks), made where the chunks were (a tenth of the writer's index time on one-page
        # forms: it serialises every chunk); None: the writer hashes them
        self.digest = digest

    def __getstate__(self):
        return (self.chunks, self.vectors, self.signature, self.tokens, self.digest)

    def __setstate__(self, state):
        self.chunks, self.vectors, self.signature, self.tokens, self.digest = (*state, None, None)[:5]


def index_signature(settings: Settings, embedder: Embedder) -> str:
    return json.dumps({"chunking": chunking_signature(settings), "embedding": embedder.signature()}, sort_keys=True)


def prepare_index_input(doc: LoadedDocument, units: Sequence[ReportUnit] | None, settings: Settings,
                        embedder: Embedder, tokenizer=None) -> IndexInput:
    """Chunk and embed one document exactly as the index does (pure: no Chroma, no files), and with a
    tokenizer, cut its chunks for BM25 as the search state would."""
    chunks = chunk_document(doc, units if units is not None else _segment(doc), max_chars=settings.chunk_max_chars)
    vectors = np.asarray(embedder.embed_documents([c.embed_text for c in chunks]), dtype=np.float32) if chunks else None
    tokens = tokenize_chunks(chunks, tokenizer) if tokenizer is not None else None
    return IndexInput(chunks, vectors, index_signature(settings, embedder), tokens, content_hash(chunks))


# A chunk's BM25 tokens as the writer holds them until its next search state is built: one string, not two
# lists of strings (~0.7 KB against ~1.3 KB a chunk; a 10,000-document ingest holds 311k of them).
_TOK_SEP, _PART_SEP = "\x1f", "\x1e"


def _pack_tokens(tokens: tuple[list[str], list[str]]) -> str | None:
    text, context = tokens
    packed = _TOK_SEP.join(text) + _PART_SEP + _TOK_SEP.join(context)
    if packed.count(_PART_SEP) != 1 or any(_TOK_SEP in t for t in text) or any(_TOK_SEP in t for t in context):
        return None  # a token with a separator in it: cut again at build time rather than unpacked wrong
    return packed


def _unpack_tokens(packed: str) -> tuple[list[str], list[str]]:
    text, context = packed.split(_PART_SEP)
    return (text.split(_TOK_SEP) if text else [], context.split(_TOK_SEP) if context else [])


@dataclass
class UpsertResult:
    doc_id: str
    chunks: int
    changed: bool


@dataclass
class ReconcileReport:
    removed: list[str] = field(default_factory=list)  # orphans: indexed, unknown to the store
    readded: list[str] = field(default_factory=list)  # missing or half-written, indexed again via fetch
    missing: list[str] = field(default_factory=list)  # needed re-adding but no fetch was given
    failed: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, why) re-adding raised: left out
    ok: int = 0

    @property
    def clean(self) -> bool:
        return not (self.removed or self.readded or self.missing or self.failed)


SNAPSHOT_VERSION = 4  # bump when _Bm25State's fields change (3: chunks as columns, vectors beside; 4: token
# ids, postings and the documents read, for updates)
GET_PAGE = 5000  # chunks per Chroma get: well under SQLite's 32,766 bound variables


def deployment_id(settings: Settings) -> str:
    """Which store this index belongs to: a hash of the store's database URL (its resolved path for SQLite).
    Two deployments with their own stores get different ids; two processes of one deployment the same."""
    return hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:10]


def collection_name(settings: Settings, embedder: Embedder) -> str:
    """`jixiao-<hash>` of the chunking and embedding settings: a change never mixes vectors (STYLE.md #6).
    On a shared Chroma server the name also carries the deployment id: deployments with different stores
    pointed at one server otherwise shared a collection, and each one's reconcile deleted the other's
    documents (15 → 1, measured). The embedded index lives in the deployment's own data dir already."""
    sig = {"chunking": chunking_signature(settings), "embedding": embedder.signature()}
    digest = hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()[:16]
    if settings.chroma_url:
        return f"jixiao-{deployment_id(settings)}-{digest}"
    return f"jixiao-{digest}"


# ---------------------------------------------------------------------------------------------------------
# the index


_CHUNK_FIELDS = tuple(f.name for f in dataclasses.fields(Chunk))


def _column(chunks: Sequence[Chunk], name: str) -> list:
    return chunks.column(name) if isinstance(chunks, ChunkColumns) else [getattr(c, name) for c in chunks]


class ChunkColumns(Sequence):
    """The state's chunks as one list per field, each Chunk built when it is first asked for. Saved and loaded
    as columns: unpickling 311k Chunk dataclasses one by one was 3.1 s of every process's first search at
    10,000 documents; a search needs a few dozen of them (its hits) and the filters read the columns."""

    def __init__(self, columns: dict[str, list]):
        self.columns = columns
        self._n = len(columns["chunk_id"])
        self._built: dict[int, Chunk] = {}

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> ChunkColumns:
        return cls({f: [getattr(c, f) for c in chunks] for f in _CHUNK_FIELDS})

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        c = self._built.get(i)
        if c is None:
            cols = self.columns
            c = self._built[i] = Chunk(**{f: cols[f][i] for f in _CHUNK_FIELDS})
        return c

    def __iter__(self):
        return (self[i] for i in range(self._n))

    def column(self, name: str) -> list:
        return self.columns[name]

    def __getstate__(self):
        return self.columns

    def __setstate__(self, columns) -> None:
        self.__init__(columns)


class _Bm25State:
    """Everything a search needs: the chunks (as columns), their BM25 postings and their vectors, plus the
    token ids and the documents it was built from, so the next change to the corpus updates it (see
    HybridIndex._update_state) instead of rebuilding it from Chroma."""

    # the large arrays: saved as .npy files beside the pickle and read back memory-mapped (_save_snapshot)
    ARRAYS = ("vectors", "token_ids", "token_offsets", "post_indptr", "post_docs", "post_weights")

    def __init__(self, chunks, tokens: list[tuple[list[str], list[str]]], vectors: np.ndarray | None = None,
                 docs: dict[str, str | None] | None = None):
        # One BM25 over text and context together. Scoring the two as fields (context weighted 0.3–1.0, or a
        # text-only bonus) was measured and lost recall@5 on the dev questions; see the retrieval report.
        vocab: dict[str, int] = {}
        flat, offsets = lexical.encode((text + context for text, context in tokens), vocab)
        self._setup(chunks, flat, offsets, vocab, vectors, docs or {})

    @classmethod
    def of_ids(cls, chunks, flat: np.ndarray, offsets: np.ndarray, vocab: dict[str, int],
               vectors: np.ndarray | None, docs: dict[str, str | None]) -> _Bm25State:
        self = cls.__new__(cls)
        self._setup(chunks, flat, offsets, vocab, vectors, docs)
        return self

    def _setup(self, chunks, flat, offsets, vocab, vectors, docs) -> None:
        self.chunks = chunks if isinstance(chunks, ChunkColumns) else ChunkColumns.of(chunks)
        # Exact cosine over all chunks (vectors are L2-normalised): one matrix product, a few hundred
        # microseconds for thousands of chunks, and the same ranking in every process. Chroma's HNSW is
        # approximate and its graph depends on insertion threads, which moved a handful of benchmark
        # questions across rank 5 from one run to the next. None: fall back to Chroma's query.
        self.vectors = vectors
        self.docs = docs  # doc_id -> the content hash its chunks here were read at (None: read again next time)
        self.token_ids, self.token_offsets, self.vocab = flat, offsets, vocab
        post = lexical.build(flat, offsets, len(vocab), BM25_K1, BM25_B)
        self.post_indptr, self.post_docs, self.post_weights = post.indptr, post.docs, post.weights
        cols = self.chunks.columns
        self.labels = {label: label_grams(label) for label in set(cols["label"]) if label}
        self.prior = np.array([LABEL_ROW_PRIOR if r == "header" else 1.0 for r in cols["role"]])
        self.figure = np.array([has_figure(t) for t in cols["text"]], dtype=bool)
        self.issuers: dict[str, set[str]] = {}  # issuer alias -> the documents it issued
        for doc_id, issuer in set(zip(cols["doc_id"], cols["issuer"])):
            for name in (issuer or "").split("|"):
                for alias in issuer_aliases(name) if name else ():
                    self.issuers.setdefault(alias, set()).add(doc_id)
        self._derive()

    @property
    def by_id(self) -> dict[str, int]:
        """chunk_id -> row, made on first use: a search finds its hits by row and needs it only for chunks
        Chroma returned (0.11 s of a process's first search at 10,000 documents, for nothing)."""
        if self._by_id is None:
            self._by_id = {cid: i for i, cid in enumerate(self.chunks.columns["chunk_id"])}
        return self._by_id

    def _derive(self) -> None:
        cols = self.chunks.columns
        self._by_id = None
        self.doc_of = np.array(cols["doc_id"], dtype=object)
        self.label_of = np.array(cols["label"], dtype=object)

    def __getstate__(self) -> dict:
        d = dict(self.__dict__)
        for derived in ("_by_id", "doc_of", "label_of", *self.ARRAYS):
            d.pop(derived, None)
        return d

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)
        for name in self.ARRAYS:
            setattr(self, name, None)
        self._derive()

    @property
    def postings(self) -> lexical.Postings:
        return lexical.Postings(self.post_indptr, self.post_docs, self.post_weights, len(self.chunks))

    def nearest(self, qv: np.ndarray, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        """The n chunks most similar to the query vector (cosine), among those the mask accepts.

        einsum rather than `@`: a matrix-vector product through multi-threaded BLAS took 4 ms on a busy
        two-core machine, einsum 0.7 ms. Equal scores (the same boilerplate row in many projects) keep
        document order, so the ranking is the same in every run."""
        sims = np.einsum("ij,j->i", self.vectors, np.asarray(qv, dtype=np.float32)).astype(np.float64)
        key = np.round(sims, 6)
        if mask is not None:
            key = np.where(mask, key, -np.inf)
        alive = len(key) if mask is None else int(mask.sum())
        k = min(n, alive)
        if k <= 0:
            return []
        part = np.argpartition(-key, k - 1)[:k]
        cand = np.flatnonzero(key >= key[part].min())  # all ties at the boundary: the order decides
        top = cand[np.lexsort((cand, -key[cand]))][:k]
        return [(int(i), float(sims[i])) for i in top]

    def search(self, query_tokens: list[str], n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        if self.post_weights is None or not len(self.post_weights):
            return []
        qids = [self.vocab[t] for t in dict.fromkeys(query_tokens) if t in self.vocab]
        if not qids:
            return []
        scores = self.postings.scores(qids).astype(np.float64)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)  # 0 means no query term at all
        if not len(positive):
            return []
        top = positive[np.argsort(-scores[positive], kind="stable")[:n]]
        return [(int(i), float(scores[i])) for i in top]


class HybridIndex:
    """Chroma + BM25 over structure-aware chunks, fused by reciprocal rank. See the module docstring."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, *, client=None,
                 name: str | None = None):
        self.settings = settings
        self.embedder = embedder if embedder is not None else make_embedder(settings)
        self.name = name or collection_name(settings, self.embedder)
        self.data_dir = Path(settings.data_dir)
        self.root = self.data_dir / "chroma"
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.root / f"{self.name}.manifest.json"  # older versions' manifest, imported
        self.manifest_db_path = self.root / f"{self.name}.manifest.sqlite3"
        self._manifest_local = threading.local()
        self._manifest_conns: list = []
        self._manifest_guard = threading.Lock()
        self.lock_path = self.root / f"{self.name}.lock"
        # the Chroma client is opened on first use: importing chromadb and opening the collection is ~1 s,
        # and a structured `jixiao ask` never touches the vectors
        self._client = client
        self._collection = None
        self._open_guard = threading.RLock()
        self._bm25: _Bm25State | None = None
        self._bm25_key: tuple | None = None
        self._generation = self.generation()  # the index state this client has seen
        self._own_client = client is None
        self._tokenizer = None
        self._query_tokenizer = None
        self._tokens: dict[str, str] = {}  # chunk id -> packed BM25 tokens (ids are unique per content)

    # -- plumbing -------------------------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            with self._open_guard:  # warm() may be opening it on another thread
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def warm(self) -> threading.Thread:
        """Open the Chroma client and collection on a background thread (importing chromadb and opening
        the collection is ~2 s): a parallel ingest's writer would otherwise do it while its workers read."""
        t = threading.Thread(target=lambda: self.collection, name="jixiao-index-warm", daemon=True)
        t.start()
        return t

    @client.setter
    def client(self, value) -> None:
        self._client = value

    @property
    def collection(self):
        if self._collection is None:
            client = self.client
            with self._open_guard:
                if self._collection is None:
                    self._collection = client.get_or_create_collection(
                        self.name, embedding_function=None,
                        metadata={"hnsw:space": "cosine",
                                  "jixiao_signature": index_signature(self.settings, self.embedder)})
        return self._collection

    @collection.setter
    def collection(self, value) -> None:
        self._collection = value

    def _make_client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            return chromadb.HttpClient(host=url.hostname or "localhost", port=url.port or 8000,
                                       ssl=url.scheme == "https", settings=chroma_settings)
        return chromadb.PersistentClient(path=str(self.root), settings=chroma_settings)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = get_tokenizer(self.data_dir / "jieba")
        return self._tokenizer

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.tokenizer)

    @property
    def query_tokenizer(self):
        if self._query_tokenizer is None:
            # a process that already holds the whole dictionary (an ingest, a server that stored a document)
            # cuts questions with it; one that only asks looks words up in its SQLite copy
            self._query_tokenizer = self._tokenizer or get_query_tokenizer(self.data_dir / "jieba")
        return self._query_tokenizer

    def query_tokens(self, question: str) -> list[str]:
        return query_tokens(question, self.query_tokenizer)

    @contextlib.contextmanager
    def _locked(self):
        with open(self.lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                self.refresh_if_stale()
                yield
                self._generation = self.generation()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def refresh_if_stale(self, force: bool = False) -> bool:
        """Re-open the embedded Chroma client when another process wrote since this one last looked: its
        in-memory index would otherwise answer from, and write over, a stale state. True if re-opened.
        force: re-open even when the generation is unchanged (a read that did not line up)."""
        generation = self.generation()
        if (generation == self._generation and not force) or not self._own_client or self.settings.chroma_url:
            self._generation = generation
            return False
        if self._client is None:  # not opened yet: it will open on the newest state
            self._generation = generation
            return False
        from chromadb.api.shared_system_client import SharedSystemClient

        with contextlib.suppress(Exception):
            self.client._system.stop()
        SharedSystemClient.clear_system_cache()
        self.client = self._make_client()
        self.collection = self.client.get_collection(self.name, embedding_function=None)
        self._generation = generation
        return True

    # The manifest (what the index holds per document: content hash, chunk ids, file name, and a generation
    # every write bumps) lives in a small SQLite file beside the collection. It was one JSON file rewritten
    # and fsynced whole for every document: 9.7 MB per document at 1,000 documents (measured). Now a
    # document's write touches its own row and the generation, in one transaction.
    def _mdb(self):
        """This thread's connection to the manifest (the server uses one index from many threads; a SQLite
        connection must not carry two threads' transactions)."""
        import sqlite3

        local = self._manifest_local
        if getattr(local, "conn", None) is None:
            conn = sqlite3.connect(self.manifest_db_path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS docs (doc_id TEXT PRIMARY KEY, content_hash TEXT, "
                         "chunk_ids TEXT NOT NULL, filename TEXT)")
            local.conn = conn
            with self._manifest_guard:
                self._manifest_conns.append(conn)
                self._import_json_manifest(conn)
        return local.conn

    def _import_json_manifest(self, conn) -> None:
        """A data dir written by an earlier version keeps its manifest: imported once, then renamed."""
        if not self.manifest_path.exists():
            return
        try:
            data = json.loads(self.manifest_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("old index manifest %s unreadable (%s); reconcile will rebuild it", self.manifest_path, exc)
            data = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            for doc_id, e in (data.get("docs") or {}).items():
                conn.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?)",
                             (doc_id, e.get("content_hash"), json.dumps(e.get("chunk_ids", [])), e.get("filename")))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(int(data.get("generation", 0)) + 1),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        with contextlib.suppress(OSError):
            os.replace(self.manifest_path, self.manifest_path.with_suffix(".json.imported"))

    def close(self) -> None:
        with self._manifest_guard:
            conns, self._manifest_conns = self._manifest_conns, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._manifest_local = threading.local()

    def generation(self) -> int:
        row = self._mdb().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def _entry(self, doc_id: str) -> dict | None:
        row = self._mdb().execute("SELECT content_hash, chunk_ids, filename FROM docs WHERE doc_id = ?",
                                  (doc_id,)).fetchone()
        return None if row is None else {"content_hash": row[0], "chunk_ids": json.loads(row[1]), "filename": row[2]}

    def read_manifest(self) -> dict:
        conn = self._mdb()
        docs = {d: {"content_hash": h, "chunk_ids": json.loads(c), "filename": f}
                for d, h, c, f in conn.execute("SELECT doc_id, content_hash, chunk_ids, filename FROM docs")}
        return {"collection": self.name, "generation": self.generation(), "docs": docs}

    def _update_manifest(self, put: dict[str, dict], drop: Iterable[str] = ()) -> None:
        """Set and remove documents' entries and bump the generation, in one transaction."""
        conn = self._mdb()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for doc_id in drop:
                conn.execute("DELETE FROM docs WHERE doc_id = ?", (doc_id,))
            for doc_id, e in put.items():
                conn.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?)",
                             (doc_id, e.get("content_hash"), json.dumps(e.get("chunk_ids", [])), e.get("filename")))
            conn.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE SET "
                         "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _get_all(self, include: list[str], where: dict | None = None, page: int | None = None) -> dict:
        """collection.get, paginated: one unpaginated get of more than 32,766 chunks fails inside Chroma's
        SQLite ("too many SQL variables"), so every bulk read goes page by page and is joined here."""
        out: dict = {"ids": [], **{k: [] for k in include}}
        for got in self._pages(include, where, page):
            ids = got["ids"]
            out["ids"].extend(ids)
            for k in include:
                part = got.get(k)
                out[k].extend(list(part) if part is not None else [None] * len(ids))
        return out

    def _pages(self, include: list[str], where: dict | None = None, page: int | None = None):
        """The pages of a paginated collection.get, one at a time (a caller that keeps what it needs of each
        page never holds the whole collection's Python objects at once)."""
        page = page or GET_PAGE
        offset = 0
        while True:
            got = self.collection.get(include=include, where=where, limit=page, offset=offset)
            yield got
            if len(got["ids"]) < page:
                return
            offset += page

    def _chroma_ids_by_doc(self) -> dict[str, set[str]]:
        got = self._get_all(["metadatas"])
        out: dict[str, set[str]] = {}
        for cid, meta in zip(got["ids"], got["metadatas"] or []):
            out.setdefault((meta or {}).get("doc_id", ""), set()).add(cid)
        return out

    def _batch(self) -> int:
        try:
            return max(1, min(1000, int(self.client.get_max_batch_size())))
        except Exception:  # older servers do not report it
            return 500

    # -- writes ---------------------------------------------------------------------------------------
    def upsert_document(self, doc: LoadedDocument, units: Sequence[ReportUnit] | None = None, *,
                        force: bool = False) -> UpsertResult:
        """Index one document (idempotent: the same chunks again change nothing)."""
        if units is None:
            units = _segment(doc)
        chunks = chunk_document(doc, units, max_chars=self.settings.chunk_max_chars)
        digest = content_hash(chunks)
        entry = self._entry(doc.doc_id)
        if entry and entry.get("content_hash") == digest and not force:
            return UpsertResult(doc.doc_id, len(chunks), changed=False)
        vectors = self.embedder.embed_documents([c.embed_text for c in chunks]) if chunks else None
        # BM25 tokens are not computed here: the next search tokenizes whatever chunks it has not seen
        # (_state), so ingestion never pays for jieba's dictionary load or for tokenizing (~0.8 s a corpus)
        with self._locked():
            self._write_chunks(doc.doc_id, chunks, vectors)
            self._update_manifest({doc.doc_id: {
                "content_hash": digest, "chunk_ids": [c.chunk_id for c in chunks], "filename": doc.filename,
            }})
        return UpsertResult(doc.doc_id, len(chunks), changed=True)

    def upsert_documents(self, items: Sequence[tuple], *, force: bool = False) -> list[UpsertResult | Exception]:
        """Index several documents with one batched write: Chroma's upsert costs ~40 ms a call whatever its
        size up to a few hundred chunks, so one call per document made it most of an ingest's time (2.5 of
        3.9 s for 59 generated forms). One result (or the exception) per item, in order; if the batched write
        fails, each document is written on its own so one bad document fails only itself."""
        results: list[UpsertResult | Exception | None] = []
        plans: list[tuple[int, LoadedDocument, list[Chunk], str]] = []
        made: dict[int, Any] = {}  # plan index -> vectors made with the chunks (a worker's IndexInput)
        cut: dict[int, Any] = {}  # plan index -> their BM25 tokens, likewise
        mine = index_signature(self.settings, self.embedder)
        for item in items:
            doc, units = item[0], item[1]
            pre = item[2] if len(item) > 2 else None
            digest = None
            try:
                if pre is not None and pre.signature == mine:
                    chunks, digest = pre.chunks, pre.digest
                    if pre.vectors is not None:
                        made[len(results)] = pre.vectors
                    if pre.tokens is not None and len(pre.tokens) == len(chunks):
                        cut[len(results)] = pre.tokens
                else:
                    chunks = chunk_document(doc, units if units is not None else _segment(doc),
                                            max_chars=self.settings.chunk_max_chars)
                digest = digest or content_hash(chunks)
                entry = self._entry(doc.doc_id)
                if entry and entry.get("content_hash") == digest and not force:
                    results.append(UpsertResult(doc.doc_id, len(chunks), changed=False))
                    continue
                plans.append((len(results), doc, chunks, digest))
                results.append(None)
            except Exception as exc:  # reported for this document only
                results.append(exc)
        if plans:
            every = [c for _, _, chunks, _ in plans for c in chunks]
            try:
                parts = []
                for i, _, chunks, _ in plans:
                    if not chunks:
                        continue
                    v = made.get(i)
                    parts.append(v if v is not None else np.asarray(
                        self.embedder.embed_documents([c.embed_text for c in chunks]), dtype=np.float32))
                vectors = np.vstack(parts) if parts else None
                with self._locked():
                    self._write_chunks([doc.doc_id for _, doc, _, _ in plans], every, vectors)
                    self._update_manifest({doc.doc_id: {
                        "content_hash": digest, "chunk_ids": [c.chunk_id for c in chunks], "filename": doc.filename,
                    } for _, doc, chunks, digest in plans})
                for i, doc, chunks, _ in plans:
                    results[i] = UpsertResult(doc.doc_id, len(chunks), changed=True)
                    if i in cut:
                        self._keep_tokens(chunks, cut[i])
            except Exception:
                log.debug("batched index write failed; writing documents one by one", exc_info=True)
                for i, doc, _, _ in plans:
                    try:
                        results[i] = self.upsert_document(doc, items[i][1], force=force)
                    except Exception as exc:
                        results[i] = exc
        return results  # type: ignore[return-value]

    def _write_chunks(self, doc_ids: str | Sequence[str], chunks: list[Chunk], vectors) -> None:
        # new chunks first, then the stale ones: a crash in between leaves a superset that reconcile
        # (or the next upsert) trims, never a document with no chunks at all.
        doc_ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        new_ids = [c.chunk_id for c in chunks]
        step = self._batch()
        for s in range(0, len(chunks), step):
            part = chunks[s:s + step]
            self.collection.upsert(ids=new_ids[s:s + step], embeddings=vectors[s:s + step],
                                   documents=[c.text for c in part], metadatas=[c.metadata() for c in part])
        where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": doc_ids}}
        existing = self._get_all([], where=where)["ids"]
        stale = sorted(set(existing) - set(new_ids))
        for s in range(0, len(stale), step):
            self.collection.delete(ids=stale[s:s + step])

    def delete_document(self, doc_id: str) -> bool:
        """Remove a document's chunks from Chroma (and so from BM25). True if anything was there."""
        with self._locked():
            had = self._entry(doc_id) is not None
            existing = self._get_all([], where={"doc_id": doc_id})["ids"]
            if existing:
                self.collection.delete(ids=existing)
            if had or existing:
                self._update_manifest({}, [doc_id])
        return bool(had or existing)

    def reconcile(self, known_doc_ids: Iterable[str],
                  fetch: Callable[[str], tuple[LoadedDocument, Sequence[ReportUnit] | None]] | None = None
                  ) -> ReconcileReport:
        """Bring the index to the store's state: drop documents the store does not know, and re-index the
        known ones whose manifest entry is missing or disagrees with Chroma (a crash between the two
        writes). `fetch(doc_id)` returns the loaded document and its units; without it such documents
        are only reported as missing."""
        known = set(known_doc_ids)
        report = ReconcileReport()
        with self._locked():
            manifest = self.read_manifest()
            # the usual case, answered without reading every chunk's metadata back (20 s at 10,000
            # documents, on every `jixiao search`): the manifest lists exactly the store's documents and
            # Chroma holds exactly as many chunks as the manifest lists. Chroma is written before the
            # manifest, so an interrupted write leaves a document missing from it or a count that differs.
            listed = sum(len(e["chunk_ids"]) for e in manifest["docs"].values())
            if set(manifest["docs"]) == known and self.collection.count() == listed:
                report.ok = len(known)
                return report
            in_chroma = self._chroma_ids_by_doc()
            drop: list[str] = []
            for doc_id in sorted((set(manifest["docs"]) | set(in_chroma)) - known):
                ids = sorted(in_chroma.get(doc_id, ()))
                for s in range(0, len(ids), self._batch()):
                    self.collection.delete(ids=ids[s:s + self._batch()])
                drop.append(doc_id)
                report.removed.append(doc_id)
            todo = []
            for doc_id in sorted(known):
                entry = manifest["docs"].get(doc_id)
                have = in_chroma.get(doc_id, set())
                if entry is not None and set(entry.get("chunk_ids", ())) == have:
                    report.ok += 1
                else:
                    drop.append(doc_id)  # not trusted until re-indexed
                    todo.append(doc_id)
            if report.removed or todo:
                self._update_manifest({}, drop)
        for doc_id in todo:
            if fetch is None:
                report.missing.append(doc_id)
                continue
            # one document that cannot be indexed (a hostile file stored by an older version, a broken
            # stored record) is reported and left out; repair goes on with the rest
            try:
                doc, units = fetch(doc_id)
                self.upsert_document(doc, units, force=True)
            except Exception as exc:
                log.warning("index repair: %s left out (%s: %s)", doc_id, type(exc).__name__, exc)
                report.failed.append((doc_id, f"{type(exc).__name__}: {exc}"))
                continue
            report.readded.append(doc_id)
        return report

    # -- reads ----------------------------------------------------------------------------------------
    def documents(self) -> dict[str, dict]:
        """doc_id -> manifest entry (content_hash, chunk_ids, filename)."""
        return self.read_manifest()["docs"]

    def count(self) -> int:
        return self.collection.count()

    def _state(self) -> _Bm25State:
        key = self.generation()
        if self._bm25 is None or key != self._bm25_key:
            self.refresh_if_stale()
            snap = self._load_snapshot()
            if snap is not None:
                self._bm25, self._bm25_key = snap, key
                return snap
            # an earlier state (this process's, or the last snapshot on disk) is brought up to date with the
            # documents written since: at 10,000 documents a full rebuild read 311k chunks back from Chroma
            # and cut them all again (98 s, 3.8 GB)
            base = self._bm25 if self._bm25 is not None else self._load_snapshot(exact=False)
            built = None
            if base is not None:
                try:
                    built = self._update_state(base)
                except Exception:  # noqa: BLE001 - an update is an optimisation; the full build below is the truth
                    log.warning("search state update failed; rebuilding it", exc_info=True)
                    built = None
            del base
            # page by page: the chunks and one float32 block of vectors per page, never every page's metadata
            # dicts and per-row vectors at once (a state built for 311k chunks peaked at 6.1 GB that way)
            for attempt in range(4 if built is None else 0):
                try:
                    built = self._build_state()
                except Exception:  # noqa: BLE001 - a page read while another process writes the collection
                    if attempt == 3:
                        raise
                    built = None
                if built is not None and (built.vectors is not None or not built.chunks or attempt == 3):
                    break
                # pages read while another process wrote do not line up (vectors missing or miscounted): read
                # again on a fresh client, rather than fall back to Chroma's approximate search mid-write
                time.sleep(0.2 * 2 ** attempt)
                self.refresh_if_stale(force=True)
            self._bm25, self._bm25_key = built, key
            self._save_snapshot(self._bm25, key)
        return self._bm25

    def refresh_search_state(self) -> None:
        """Bring the search state and its snapshot up to date now (after an ingest), so that the first
        question does not pay for it."""
        self._state()

    def _manifest_hashes(self) -> dict[str, tuple[str | None, str]]:
        """doc_id -> (content hash, its chunk ids as the manifest's JSON text, parsed where needed)."""
        return {d: (h, c) for d, h, c in self._mdb().execute("SELECT doc_id, content_hash, chunk_ids FROM docs")}

    @staticmethod
    def _docs_read(manifest: dict[str, tuple[str | None, str]], chunk_ids: Sequence[str],
                   doc_ids: Sequence[str]) -> dict[str, str | None]:
        """Which documents a state holds exactly as the manifest lists them: their content hash; None for a
        document whose chunks were read while another process wrote it (an update reads it again)."""
        held: dict[str, set[str]] = {}
        for cid, d in zip(chunk_ids, doc_ids):
            held.setdefault(d, set()).add(cid)
        out: dict[str, str | None] = {}
        for d in held.keys() | manifest.keys():
            h, ids = manifest.get(d, (None, "[]"))
            out[d] = h if h is not None and held.get(d, set()) == set(json.loads(ids)) else None
        return out

    def _read_chunks(self, pages) -> tuple[list[Chunk], np.ndarray | None]:
        """Chunks and their vectors from pages of collection.get (None: some vectors missing)."""
        chunks: list[Chunk] = []
        blocks: list[np.ndarray] = []
        vectors_ok = True
        for got in pages:
            chunks += [Chunk.from_metadata(cid, text or "", meta or {})
                       for cid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])]
            emb = got.get("embeddings")
            if emb is not None and len(emb) == len(got["ids"]) and len(emb):
                block = np.asarray(emb, dtype=np.float32)
                vectors_ok = vectors_ok and block.ndim == 2
                blocks.append(block)
            elif len(got["ids"]):
                vectors_ok = False
            del got
        if not (vectors_ok and blocks and sum(len(b) for b in blocks) == len(chunks)):
            return chunks, None
        return chunks, (np.concatenate(blocks) if len(blocks) > 1 else blocks[0])

    def _chunk_tokens(self, chunks: Sequence[Chunk], order: Iterable[int] | None = None) -> Iterator[list[str]]:
        """Each chunk's BM25 tokens (text, then context), in `order`, one chunk at a time: those a worker made
        for this writer (upsert_documents kept them packed), the rest cut here (written by another process, or
        before this one started). One at a time because unpacked lists for every chunk of 10,000 documents
        took gigabytes (each token its own string)."""
        got = self._tokens
        todo = [c for c in chunks if c.chunk_id not in got]
        cut = dict(zip((c.chunk_id for c in todo), tokenize_chunks(todo, self.tokenizer))) if todo else {}
        for i in (order if order is not None else range(len(chunks))):
            cid = chunks[i].chunk_id
            text, context = cut[cid] if cid in cut else _unpack_tokens(got[cid])
            yield text + context

    def _keep_tokens(self, chunks: Sequence[Chunk], tokens) -> None:
        for c, t in zip(chunks, tokens):
            packed = _pack_tokens(t)
            if packed is not None:
                self._tokens[c.chunk_id] = packed

    def _build_state(self) -> _Bm25State:
        """The search state read from Chroma page by page (see _state)."""
        manifest = self._manifest_hashes()  # before the pages: a document written meanwhile reads as changed
        chunks, matrix = self._read_chunks(self._pages(["documents", "metadatas", "embeddings"]))
        order = sorted(range(len(chunks)), key=lambda i: (chunks[i].doc_id, chunks[i].ordinal))
        vocab: dict[str, int] = {}
        flat, offsets = lexical.encode(self._chunk_tokens(chunks, order), vocab)
        self._tokens = {}  # the state keeps them as ids from here on
        vectors = None
        if matrix is not None:
            vectors = matrix[order]
            del matrix
        chunks = [chunks[i] for i in order]
        docs = self._docs_read(manifest, [c.chunk_id for c in chunks], [c.doc_id for c in chunks])
        return _Bm25State.of_ids(chunks, flat, offsets, vocab, vectors, docs)

    # An update changes as many documents as an ingest wrote; past this share of the corpus a rebuild is as
    # cheap, and it also drops chunks the manifest does not know (reconcile's orphans).
    UPDATE_MAX_SHARE = 0.5

    def _update_state(self, old: _Bm25State) -> _Bm25State | None:
        """`old` with the documents written or removed since it was built: the manifest says which (content
        hash per document), only those documents' chunks are read from Chroma (by id, page by page) and cut,
        and the lexical postings are recomputed from the stored token ids of the rest. The result equals a
        full build's (tests/test_retrieval.py compares them). None when a rebuild is the better choice."""
        if old.token_ids is None or old.token_offsets is None or not isinstance(old.chunks, ChunkColumns):
            return None
        manifest = self._manifest_hashes()
        old_docs = old.docs or {}
        changed = sorted(d for d, (h, _) in manifest.items() if h is None or old_docs.get(d) != h)
        if len(changed) > max(20, self.UPDATE_MAX_SHARE * len(manifest)):
            return None
        unchanged = manifest.keys() - set(changed)
        cols = old.chunks.columns
        keep = [i for i, d in enumerate(cols["doc_id"]) if d in unchanged]
        if not changed and len(keep) == len(old.chunks):
            return old  # nothing to do (a generation bumped without a change, e.g. a re-ingest of the same file)
        ids = [cid for d in changed for cid in json.loads(manifest[d][1])]
        page = GET_PAGE
        pages = (self.collection.get(ids=ids[i:i + page], include=["documents", "metadatas", "embeddings"])
                 for i in range(0, len(ids), page))
        new, new_vectors = self._read_chunks(pages)
        if ids and new_vectors is None:
            return None  # vectors unreadable mid-write: the full build retries
        vocab = dict(old.vocab)
        new_ids = lexical.encode(self._chunk_tokens(new), vocab)
        self._tokens = {}  # the state keeps them as ids from here on
        # the merged rows in (doc_id, ordinal) order, as the full build sorts them
        doc_col = [cols["doc_id"][i] for i in keep] + [c.doc_id for c in new]
        ord_col = [cols["ordinal"][i] for i in keep] + [c.ordinal for c in new]
        order = sorted(range(len(doc_col)), key=lambda i: (doc_col[i], ord_col[i]))
        merged = {f: [cols[f][i] for i in keep] + [getattr(c, f) for c in new] for f in _CHUNK_FIELDS}
        merged = {f: [col[i] for i in order] for f, col in merged.items()}
        flat, offsets = lexical.concat(lexical.gather(old.token_ids, old.token_offsets, keep), new_ids)
        flat, offsets = lexical.gather(flat, offsets, order)
        flat, vocab = lexical.compact(flat, vocab)
        vectors = None
        if old.vectors is not None and (new_vectors is not None or not new):
            dim = old.vectors.shape[1]
            vectors = np.empty((len(order), dim), dtype=np.float32)
            where = np.empty(len(order), dtype=np.int64)
            where[np.asarray(order, dtype=np.int64)] = np.arange(len(order))  # merged row -> sorted position
            kept = np.asarray(keep, dtype=np.int64)
            for a in range(0, len(kept), 50_000):  # blocks: the old vectors are memory-mapped, never all copied
                z = min(a + 50_000, len(kept))
                vectors[where[a:z]] = old.vectors[kept[a:z]]
            if new:
                vectors[where[len(keep):]] = new_vectors
        docs = {d: old_docs.get(d) for d in unchanged}
        docs.update(self._docs_read({d: manifest[d] for d in changed}, [c.chunk_id for c in new],
                                    [c.doc_id for c in new]))
        return _Bm25State.of_ids(ChunkColumns(merged), flat, offsets, vocab, vectors, docs)

    # A snapshot of the search state, written by the first process that builds it for an index generation
    # and loaded by every later process of that generation: a CLI question no longer pulls every chunk and
    # vector out of Chroma and rebuilds BM25 (15 s at 34,542 chunks, measured). Keyed by the manifest's
    # generation, which every write bumps; a stale snapshot is the base of the next update (_update_state),
    # an unreadable one is ignored and rebuilt. Pickle is read only from this deployment's own data dir, which
    # it writes itself. The large arrays sit beside it as .npy files, read memory-mapped: the pages come from
    # the OS cache a process shares with the last one, not a copy unpickled into each process.
    @property
    def _snapshot_path(self) -> Path:
        return self.root / f"{self.name}.state.pkl"

    def _snapshot_stamp(self) -> tuple:
        import pickle

        try:
            with open(self._snapshot_path, "rb") as fh:
                return tuple(pickle.load(fh))
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            return ()

    def _load_snapshot(self, exact: bool = True) -> _Bm25State | None:
        """The saved state of this generation; exact=False: of whichever generation it was saved at."""
        import pickle

        generation = self.generation()
        try:
            with open(self._snapshot_path, "rb") as fh:
                stamp = pickle.load(fh)
                if stamp[:2] != (SNAPSHOT_VERSION, self.name) or (exact and stamp[2] != generation):
                    return None
                state = pickle.load(fh)
            if not isinstance(state, _Bm25State):
                return None
            folder = self.root / stamp[3]
            for name in _Bm25State.ARRAYS:
                path = folder / f"{name}.npy"
                if path.exists():
                    setattr(state, name, np.load(path, mmap_mode="r"))
            n = len(state.chunks)
            if state.token_offsets is None or len(state.token_offsets) != n + 1 or \
                    (state.vectors is not None and state.vectors.shape[0] != n):
                return None
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError, TypeError,
                IndexError, KeyError):
            return None
        return state

    def _save_snapshot(self, state: _Bm25State, generation: int) -> None:
        import pickle
        import shutil

        if not state.chunks or self._snapshot_stamp()[:3] == (SNAPSHOT_VERSION, self.name, generation):
            return  # empty, or another process saved this generation's
        folder = f"{self.name}.state.{generation}.{os.getpid()}"
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".state-", suffix=".tmp")
        try:
            (self.root / folder).mkdir(exist_ok=True)
            for name in _Bm25State.ARRAYS:
                value = getattr(state, name)
                if value is not None:
                    np.save(self.root / folder / f"{name}.npy", np.ascontiguousarray(value))
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((SNAPSHOT_VERSION, self.name, generation, folder), fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
            if self.generation() == generation:  # nobody wrote while we built it
                os.replace(tmp, self._snapshot_path)
                # earlier generations' arrays (a process still reading one keeps its mapped pages until it exits)
                for old in self.root.glob(f"{self.name}.state.*"):
                    if old.is_dir() and old.name != folder:
                        shutil.rmtree(old, ignore_errors=True)
                for old in self.root.glob(f"{self.name}.vectors.*.npy"):  # version 3's
                    with contextlib.suppress(OSError):
                        old.unlink()
                return
        except Exception:  # a cache: never fail a search for it
            log.debug("search state snapshot not written", exc_info=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        shutil.rmtree(self.root / folder, ignore_errors=True)

    def chunks(self, doc_id: str | None = None) -> list[Chunk]:
        state = self._state()
        if doc_id is None:
            return list(state.chunks)
        # chosen by the doc_id column: a loaded snapshot builds Chunk objects for this document's only
        return [state.chunks[i] for i, d in enumerate(_column(state.chunks, "doc_id")) if d == doc_id]

    def text_contains(self, needles: Sequence[str], key: Callable[[str], str]) -> list[bool]:
        """Whether key(all chunk texts joined) contains each needle. The keyed corpus is written once per index
        generation beside the snapshot and searched memory-mapped: joining and normalising 311k chunks for
        every question that names something unknown was 3-5 s of a CLI question at 10,000 documents."""
        import mmap

        generation = self.generation()
        tag = re.sub(r"\W", "", getattr(key, "__name__", "key"))
        path = self.root / f"{self.name}.text.{tag}.{generation}"
        if not path.exists():
            data = key("".join(self.texts())).encode("utf-8")
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".text-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
            for old in self.root.glob(f"{self.name}.text.{tag}.*"):
                if old != path:
                    with contextlib.suppress(OSError):
                        old.unlink()
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return [not n for n in needles]
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return [mm.find(n.encode("utf-8")) >= 0 if n else True for n in needles]

    def texts(self) -> list[str]:
        """Every chunk's text, from the text column (no Chunk objects built)."""
        return _column(self._state().chunks, "text")

    def _where(self, f: SearchFilters, state: _Bm25State, labels: Sequence[str] = ()) -> dict | None:
        """Chroma `where` for the filters; substring filters become `$in` over the values that match."""
        clauses: list[dict] = []
        if f.doc_ids:
            clauses.append({"doc_id": {"$in": list(f.doc_ids)}})
        if f.year is not None:
            clauses.append({"year": int(f.year)})
        if f.unit_kind:
            clauses.append({"unit_kind": f.unit_kind})
        if f.project:
            values = sorted({p for p in set(_column(state.chunks, "project")) if p and f.project in p})
            clauses.append({"project": {"$in": values or ["\x00none"]}})
        if f.section:
            values = sorted({x for x in set(_column(state.chunks, "section")) if f.section in x})
            clauses.append({"section": {"$in": values or ["\x00none"]}})
        if labels:
            clauses.append({"label": {"$in": list(labels)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def search(self, query: str, k: int = 10, filters: SearchFilters | dict | None = None, *,
               mode: str = "hybrid", pool: int | None = None) -> list[SearchHit]:
        """Ranked chunks for a question. `mode` is hybrid (RRF of both), vector or bm25."""
        query = (query or "").strip()
        if not query or k <= 0:
            return []
        f = SearchFilters.of(filters)
        state = self._state()
        if not state.chunks:
            return []
        pool = pool or max(4 * k, 50)
        expanded = expand_query(query)
        mask = None
        if not f.empty():
            mask = f.mask_of(state.chunks)
        qv = self.embedder.embed_query(expanded) if mode in ("hybrid", "vector") else None
        qtokens = self.query_tokens(expanded) if mode in ("hybrid", "bm25") else []

        rows: dict[str, int] = {}  # chunk_id -> row, of every chunk the lists below return

        def row_id(i: int) -> str:
            cid = state.chunks.columns["chunk_id"][i]
            rows[cid] = i
            return cid

        def row_of(cid: str) -> int | None:
            i = rows.get(cid)
            return i if i is not None else state.by_id.get(cid)  # a chunk Chroma's own query returned

        def vector(labels: Sequence[str] = (), qv=qv) -> list[tuple[str, float]]:
            if qv is None or not np.any(qv):
                return []
            m = mask
            if labels:
                scoped = np.isin(state.label_of, list(labels))
                m = scoped if m is None else (m & scoped)
            if state.vectors is not None:
                return [(row_id(i), sim) for i, sim in state.nearest(qv, pool, m)]
            # fallback (vectors not loadable): Chroma's approximate search, then the same mask
            try:
                res = self.collection.query(query_embeddings=[qv], n_results=min(pool, len(state.chunks)),
                                            where=self._where(f, state, labels), include=["distances"])
            except Exception:  # noqa: BLE001 - Chroma's HNSW read while another process writes it ("Error
                # finding id"): the lexical side still answers; a search does not fail for the fallback
                log.warning("approximate vector search failed; lexical results only", exc_info=True)
                return []
            hits = [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])
                    if m is None or (cid in state.by_id and m[state.by_id[cid]])]
            # equal texts (the same boilerplate row in many projects) tie; order them the same way every
            # time, or the fused ranking changes from run to run
            return sorted(hits, key=lambda h: (-round(h[1], 6), h[0]))

        def bm25(labels: Sequence[str] = (), qtokens=qtokens) -> list[tuple[str, float]]:
            if not qtokens:
                return []
            m = mask
            if labels:
                scoped = np.isin(state.label_of, list(labels))
                m = scoped if m is None else (m & scoped)
            return [(row_id(i), s) for i, s in state.search(qtokens, pool, m)]

        # Issuer prior: a question that names the department (中原区医疗保障局 …) names a document, not a
        # passage. Its name is taken out of what is searched (else every title page, `项目单位:` line and
        # table caption of that document outranks the answer) and, optionally, the search stays inside
        # the documents that department issued.
        issuers, unnamed = named_issuers(query, state.issuers) if mode == "hybrid" else ([], query)
        if issuers and unnamed:
            if ISSUER_SCOPE:
                docs = set().union(*(state.issuers[a] for a in issuers))
                scoped_docs = np.isin(state.doc_of, list(docs))
                mask = scoped_docs if mask is None else (mask & scoped_docs)
            if ISSUER_STRIP[0]:
                qv = self.embedder.embed_query(expand_query(unnamed))
            if ISSUER_STRIP[1]:
                qtokens = self.query_tokens(expand_query(unnamed))
            query = unnamed
        labels = named_labels(query, state.labels) if mode == "hybrid" else []
        rest = expand_query(strip_labels(query, labels)) if labels else ""
        strip = labels and rest
        lists = [("vector", vector((), self.embedder.embed_query(rest)) if strip and GLOBAL_STRIPPED[0] else vector(qv=qv)),
                 ("bm25", bm25((), self.query_tokens(rest)) if strip and GLOBAL_STRIPPED[1] else bm25(qtokens=qtokens))]
        # Label prior: when the question names a unit (a project), search again inside that unit with
        # what is asked about it (the question minus the name), fused like any other list. A chunk of
        # the named project that answers the question gets up to twice the votes; one that does not
        # stays out. Without this, the chunks that merely repeat the name (title lines, 项目名称 rows)
        # win every question that names a project.
        trust = 1.0
        if labels:
            if rest:
                scoped_bm25 = bm25(labels, self.query_tokens(rest))
                lists += [("vector_scoped", vector(labels, self.embedder.embed_query(rest))),
                          ("bm25_scoped", scoped_bm25)]
                # How well what is asked about the unit matches inside it, against anywhere: a question
                # whose words match far better elsewhere named the unit in passing (城乡医疗救助 the
                # project, asked about 城乡医疗救助(项) in the accounts) or by a loose partial match.
                everywhere = bm25((), self.query_tokens(rest))
                if LABEL_TRUST and everywhere and everywhere[0][1] > 0:
                    trust = min(1.0, (scoped_bm25[0][1] if scoped_bm25 else 0.0) / everywhere[0][1])
        # Definition prior: a question about how a term is computed is answered by the formula that
        # defines it (`预算执行率=(实际支出资金/实际到位资金)×100%`), which the vectors rank below every
        # table row that merely reports the term.
        defined = [t for t in qtokens if t.startswith("=") and len(t) > 1] if mode == "hybrid" else []
        if defined:
            lists.append(("defined", bm25((), defined)))
        fused: dict[str, dict] = {}
        for name, hits in lists:
            weight = LIST_WEIGHTS[name] * (trust if name.endswith("_scoped") else 1.0)
            for rank, (cid, score) in enumerate(hits, start=1):
                slot = fused.setdefault(cid, {"score": 0.0})
                slot["score"] += weight / (RRF_K + rank)
                if name in ("vector", "bm25"):
                    slot[f"{name}_rank"] = rank
                    slot[f"{name}_score"] = score
        # Chunk priors (hybrid only; `vector` and `bm25` stay the two halves alone, for ablations): rows that
        # only label columns, and, for a question asking for a quantity, chunks without a figure.
        if mode == "hybrid":
            figure_wanted = NO_FIGURE_PRIOR != 1.0 and wants_figure(query)
            for cid, slot in fused.items():
                i = row_of(cid)
                if i is not None:
                    slot["score"] *= state.prior[i] * (NO_FIGURE_PRIOR if figure_wanted and not state.figure[i] else 1.0)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1]["score"], kv[0]))[:k]
        missing = [cid for cid, _ in ranked if row_of(cid) is None]
        extra: dict[str, Chunk] = {}
        if missing:  # written by another process after our BM25 snapshot
            got = self.collection.get(ids=missing, include=["documents", "metadatas"])
            extra = {cid: Chunk.from_metadata(cid, t or "", m or {})
                     for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])}
        out = []
        for cid, slot in ranked:
            i = row_of(cid)
            chunk = state.chunks[i] if i is not None else extra.get(cid)
            if chunk is None:
                continue
            out.append(SearchHit(rank=len(out) + 1, score=slot["score"], chunk=chunk,
                                 vector_rank=slot.get("vector_rank"), bm25_rank=slot.get("bm25_rank"),
                                 vector_score=slot.get("vector_score"), bm25_score=slot.get("bm25_score")))
        return out


def _segment(doc: LoadedDocument) -> list[ReportUnit]:
    """Units from retrieval.segment; until it exists, the chunker's private heading-based fallback."""
    try:
        from retrieval.segment import segment
    except ImportError:
        from retrieval.chunking import _fallback_units

        return _fallback_units(doc)
    return segment(doc)
