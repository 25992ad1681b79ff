"""The index edge: chunks → Chroma (explicit offline vectors) + BM25 over jieba tokens → reciprocal-rank fusion.

Consistency. The store (service/store) is the source of truth for which documents exist. The index keeps a
small manifest, `doc_id -> {content_hash, chunk_ids, filename}`, written atomically (temp file + fsync +
os.replace) *after* the Chroma write. Whatever a crash interrupts, `reconcile(known_doc_ids, fetch)`
compares the manifest and the Chroma contents with the store's list, removes orphans and re-adds whatever
is missing or half-written, so the index ends in the store's state. Writers in several processes (API and
CLI) serialise on a lock file next to the manifest.

BM25 is not persisted as such: each chunk's jieba tokens are stored in its Chroma metadata, and a process
rebuilds its in-memory bm25s model from the collection when the manifest changes (detected by a stat of the
manifest file, so searches stay cheap). A chunk is thus in BM25 exactly when it is in Chroma.

No network: vectors are always computed here and passed as `embeddings=` / `query_embeddings=`; the
collection is created with `embedding_function=None`, so Chroma never loads its default ONNX model, and
telemetry is off.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from retrieval.chunking import Chunk, chunk_document, chunking_signature, content_hash
from retrieval.embedding import Embedder, make_embedder
from retrieval.types import LoadedDocument

if TYPE_CHECKING:  # pragma: no cover
    from service.models import ReportUnit
    from service.settings import Settings

log = logging.getLogger(__name__)

DOMAIN_DICT = Path(__file__).with_name("data") / "domain_dict.txt"
RRF_K = 60  # the constant from Cormack et al. (2009); flat enough that neither list dominates
# Fusion weights and BM25 parameters, measured on eval/retrieval.py (107 questions; the sweep is in the
# retrieval report). BM25 carries more weight than the hashed vectors, which are the weaker signal here
# (recall@5 0.73 vs 0.54 alone); the searches scoped to a named project carry the most.
LIST_WEIGHTS = {"vector": 0.5, "bm25": 1.0, "vector_scoped": 1.0, "bm25_scoped": 2.0}
# Low b: chunks run from a 10-character row to 400 characters of prose, and full length normalisation
# (b=0.75) let short boilerplate rows (`(2020年度)`, `⇥其他⇥⇥其他`) beat the passage that answers.
BM25_K1, BM25_B = 1.2, 0.3
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
            tok.load_userdict(str(DOMAIN_DICT))
            _TOKENIZERS[key] = tok
    return tok


BIGRAMS = True
# Function characters: a bigram across one (是多, 的预, 算和) is noise, not a phrase.
_FUNCTION_CHARS = frozenset("的是和与及了吗呢么哪啥怎何几或")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def tokenize(text: str, tokenizer) -> list[str]:
    """Search-mode jieba tokens (words and their sub-words: 预算执行率 → 预算, 执行, 执行率, 预算执行率),
    lower-cased, without punctuation, whitespace and stopwords; plus the character bigrams of Chinese
    runs, marked `~`, which match phrases jieba cuts differently (实际支付: 际支) and words missing from
    its dictionary."""
    out = []
    text = text.replace("\t", " ")
    for tok in tokenizer.cut_for_search(text, HMM=True):
        tok = tok.strip().lower()
        if tok and _KEEP_TOKEN.search(tok) and tok not in STOPWORDS and " " not in tok:
            out.append(tok)
    if BIGRAMS:
        for run in _HAN_RUN.findall(text):
            out.extend("~" + run[i:i + 2] for i in range(len(run) - 1)
                       if run[i] not in _FUNCTION_CHARS and run[i + 1] not in _FUNCTION_CHARS)
    return out


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
}
_EN_KEYS = sorted(EN_ZH, key=len, reverse=True)
_LATIN = re.compile(r"[A-Za-z]{3,}")


# The reports define their indicators by formula (预算执行率=(实际支出资金/实际到位资金)×100%): a question
# about how something is computed is a question for the `=`.
_HOW_COMPUTED = re.compile(r"怎么计算|如何计算|怎样计算|怎么算|计算公式|计算方法|公式|定义|how is .* (?:computed|calculated|defined)|formula|definition",
                           re.I)


def expand_query(query: str) -> str:
    """Append the Chinese terms of English words in the query, and `=` to questions about formulas."""
    if _HOW_COMPUTED.search(query):
        query = f"{query} ="
    if not _LATIN.search(query):
        return query
    low = query.lower()
    extra = []
    for key in _EN_KEYS:
        if re.search(rf"\b{re.escape(key)}\b", low):
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
    return [lb for sc, _, lb in sorted(scored, reverse=True) if sc >= best - 0.05]


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

    def accepts(self, c: Chunk) -> bool:
        return ((not self.doc_ids or c.doc_id in self.doc_ids)
                and (not self.project or (c.project is not None and self.project in c.project))
                and (self.year is None or c.year == self.year)
                and (not self.section or self.section in c.section)
                and (not self.unit_kind or c.unit_kind == self.unit_kind))


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
    ok: int = 0

    @property
    def clean(self) -> bool:
        return not (self.removed or self.readded or self.missing)


def collection_name(settings: Settings, embedder: Embedder) -> str:
    """`jixiao-<hash>` of the chunking and embedding settings: a change never mixes vectors (STYLE.md #6)."""
    sig = {"chunking": chunking_signature(settings), "embedding": embedder.signature()}
    digest = hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()[:16]
    return f"jixiao-{digest}"


# ---------------------------------------------------------------------------------------------------------
# the index


class _Bm25State:
    def __init__(self, chunks: list[Chunk], tokens: list[list[str]]):
        import bm25s

        self.chunks = chunks
        self.by_id = {c.chunk_id: i for i, c in enumerate(chunks)}
        self.labels = {c.label: label_grams(c.label) for c in chunks if c.label}
        self.label_of = np.array([c.label for c in chunks], dtype=object)
        self.vocab: dict[str, int] = {}
        ids = [[self.vocab.setdefault(t, len(self.vocab)) for t in toks] for toks in tokens]
        self.model = None
        if chunks and self.vocab:
            self.model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            self.model.index((ids, dict(self.vocab)), show_progress=False)

    def search(self, query_tokens: list[str], n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        if self.model is None:
            return []
        qids = [self.vocab[t] for t in dict.fromkeys(query_tokens) if t in self.vocab]
        if not qids:
            return []
        scores = np.asarray(self.model.get_scores([int(q) for q in qids]), dtype=np.float64)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)  # bm25s scores every chunk; 0 means no query term at all
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
        self.manifest_path = self.root / f"{self.name}.manifest.json"
        self.lock_path = self.root / f"{self.name}.lock"
        self.client = client if client is not None else self._make_client()
        self.collection = self.client.get_or_create_collection(
            self.name, embedding_function=None,
            metadata={"hnsw:space": "cosine", "jixiao_signature": json.dumps(
                {"chunking": chunking_signature(settings), "embedding": self.embedder.signature()},
                sort_keys=True)},
        )
        self._bm25: _Bm25State | None = None
        self._bm25_key: tuple | None = None
        self._tokenizer = None

    # -- plumbing -------------------------------------------------------------------------------------
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

    @contextlib.contextmanager
    def _locked(self):
        with open(self.lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def read_manifest(self) -> dict:
        try:
            data = json.loads(self.manifest_path.read_text("utf-8"))
        except FileNotFoundError:
            return {"collection": self.name, "generation": 0, "docs": {}}
        except (OSError, ValueError) as exc:  # a torn file cannot happen with os.replace; say so if it does
            log.warning("index manifest %s unreadable (%s); treating as empty", self.manifest_path, exc)
            return {"collection": self.name, "generation": 0, "docs": {}}
        data.setdefault("docs", {})
        data.setdefault("generation", 0)
        return data

    def _write_manifest(self, manifest: dict) -> None:
        manifest["generation"] = int(manifest.get("generation", 0)) + 1
        manifest["collection"] = self.name
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".manifest-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, ensure_ascii=False, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.manifest_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _chroma_ids_by_doc(self) -> dict[str, set[str]]:
        got = self.collection.get(include=["metadatas"])
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
        entry = self.read_manifest()["docs"].get(doc.doc_id)
        if entry and entry.get("content_hash") == digest and not force:
            return UpsertResult(doc.doc_id, len(chunks), changed=False)
        vectors = self.embedder.embed_documents([c.embed_text for c in chunks]) if chunks else None
        tokens = [" ".join(self.tokenize(c.embed_text)) for c in chunks]
        with self._locked():
            self._write_chunks(doc.doc_id, chunks, vectors, tokens)
            manifest = self.read_manifest()
            manifest["docs"][doc.doc_id] = {
                "content_hash": digest, "chunk_ids": [c.chunk_id for c in chunks], "filename": doc.filename,
            }
            self._write_manifest(manifest)
        return UpsertResult(doc.doc_id, len(chunks), changed=True)

    def _write_chunks(self, doc_id: str, chunks: list[Chunk], vectors, tokens: list[str]) -> None:
        # new chunks first, then the stale ones: a crash in between leaves a superset that reconcile
        # (or the next upsert) trims, never a document with no chunks at all.
        new_ids = [c.chunk_id for c in chunks]
        step = self._batch()
        for s in range(0, len(chunks), step):
            part = chunks[s:s + step]
            metas = []
            for c, toks in zip(part, tokens[s:s + step]):
                meta = c.metadata()
                meta["bm25"] = toks
                metas.append(meta)
            self.collection.upsert(ids=new_ids[s:s + step], embeddings=vectors[s:s + step],
                                   documents=[c.text for c in part], metadatas=metas)
        existing = self.collection.get(where={"doc_id": doc_id}, include=[])["ids"]
        stale = sorted(set(existing) - set(new_ids))
        for s in range(0, len(stale), step):
            self.collection.delete(ids=stale[s:s + step])

    def delete_document(self, doc_id: str) -> bool:
        """Remove a document's chunks from Chroma (and so from BM25). True if anything was there."""
        with self._locked():
            manifest = self.read_manifest()
            had = manifest["docs"].pop(doc_id, None) is not None
            existing = self.collection.get(where={"doc_id": doc_id}, include=[])["ids"]
            if existing:
                self.collection.delete(ids=existing)
            if had or existing:
                self._write_manifest(manifest)
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
            in_chroma = self._chroma_ids_by_doc()
            for doc_id in sorted((set(manifest["docs"]) | set(in_chroma)) - known):
                ids = sorted(in_chroma.get(doc_id, ()))
                for s in range(0, len(ids), self._batch()):
                    self.collection.delete(ids=ids[s:s + self._batch()])
                manifest["docs"].pop(doc_id, None)
                report.removed.append(doc_id)
            todo = []
            for doc_id in sorted(known):
                entry = manifest["docs"].get(doc_id)
                have = in_chroma.get(doc_id, set())
                if entry is not None and set(entry.get("chunk_ids", ())) == have:
                    report.ok += 1
                else:
                    manifest["docs"].pop(doc_id, None)  # not trusted until re-indexed
                    todo.append(doc_id)
            if report.removed or todo:
                self._write_manifest(manifest)
        for doc_id in todo:
            if fetch is None:
                report.missing.append(doc_id)
                continue
            doc, units = fetch(doc_id)
            self.upsert_document(doc, units, force=True)
            report.readded.append(doc_id)
        return report

    # -- reads ----------------------------------------------------------------------------------------
    def documents(self) -> dict[str, dict]:
        """doc_id -> manifest entry (content_hash, chunk_ids, filename)."""
        return self.read_manifest()["docs"]

    def count(self) -> int:
        return self.collection.count()

    def _state(self) -> _Bm25State:
        try:
            st = self.manifest_path.stat()
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        if self._bm25 is None or key != self._bm25_key:
            got = self.collection.get(include=["documents", "metadatas"])
            chunks, tokens = [], []
            for cid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or []):
                chunks.append(Chunk.from_metadata(cid, text or "", meta or {}))
                tokens.append(((meta or {}).get("bm25") or "").split())
            order = sorted(range(len(chunks)), key=lambda i: (chunks[i].doc_id, chunks[i].ordinal))
            self._bm25 = _Bm25State([chunks[i] for i in order], [tokens[i] for i in order])
            self._bm25_key = key
        return self._bm25

    def chunks(self, doc_id: str | None = None) -> list[Chunk]:
        state = self._state()
        return [c for c in state.chunks if doc_id is None or c.doc_id == doc_id]

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
            values = sorted({c.project for c in state.chunks if c.project and f.project in c.project})
            clauses.append({"project": {"$in": values or ["\x00none"]}})
        if f.section:
            values = sorted({c.section for c in state.chunks if f.section in c.section})
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
            mask = np.fromiter((f.accepts(c) for c in state.chunks), dtype=bool, count=len(state.chunks))
        qv = self.embedder.embed_query(expanded) if mode in ("hybrid", "vector") else None
        qtokens = self.tokenize(expanded) if mode in ("hybrid", "bm25") else []

        def vector(labels: Sequence[str] = (), qv=qv) -> list[tuple[str, float]]:
            if qv is None:
                return []
            res = self.collection.query(query_embeddings=[qv], n_results=min(pool, len(state.chunks)),
                                        where=self._where(f, state, labels), include=["distances"])
            hits = [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]
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
            return [(state.chunks[i].chunk_id, s) for i, s in state.search(qtokens, pool, m)]

        labels = named_labels(query, state.labels) if mode == "hybrid" else []
        rest = expand_query(strip_labels(query, labels)) if labels else ""
        strip = labels and rest
        lists = [("vector", vector((), self.embedder.embed_query(rest)) if strip and GLOBAL_STRIPPED[0] else vector()),
                 ("bm25", bm25((), self.tokenize(rest)) if strip and GLOBAL_STRIPPED[1] else bm25())]
        # Label prior: when the question names a unit (a project), search again inside that unit with
        # what is asked about it (the question minus the name), fused like any other list. A chunk of
        # the named project that answers the question gets up to twice the votes; one that does not
        # stays out. Without this, the chunks that merely repeat the name (title lines, 项目名称 rows)
        # win every question that names a project.
        if labels:
            if rest:
                lists += [("vector_scoped", vector(labels, self.embedder.embed_query(rest))),
                          ("bm25_scoped", bm25(labels, self.tokenize(rest)))]
        fused: dict[str, dict] = {}
        for name, hits in lists:
            for rank, (cid, score) in enumerate(hits, start=1):
                slot = fused.setdefault(cid, {"score": 0.0})
                slot["score"] += LIST_WEIGHTS[name] / (RRF_K + rank)
                if name in ("vector", "bm25"):
                    slot[f"{name}_rank"] = rank
                    slot[f"{name}_score"] = score
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1]["score"], kv[0]))[:k]
        missing = [cid for cid, _ in ranked if cid not in state.by_id]
        extra: dict[str, Chunk] = {}
        if missing:  # written by another process after our BM25 snapshot
            got = self.collection.get(ids=missing, include=["documents", "metadatas"])
            extra = {cid: Chunk.from_metadata(cid, t or "", m or {})
                     for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])}
        out = []
        for cid, slot in ranked:
            chunk = state.chunks[state.by_id[cid]] if cid in state.by_id else extra.get(cid)
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
