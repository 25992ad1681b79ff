"""Retrieval benchmark: the hybrid index against a naive baseline, on gold questions over the bundled corpus.

Gold (eval/gold/retrieval.json): each question names its passages as (stem, quote), the quote an exact
substring of the normalized text. At eval time a quote is resolved against the rendered txt of its report
(corpus/rendered/txt/<stem>.txt) to a (page, line) span: inside one table row (its TAB-joined text), or
inside a run of prose lines joined as `join_broken` joins them. A retrieved chunk *hits* a gold passage
when it comes from the same report and its line span overlaps the passage's span.

Metrics, over all questions and per split:
  recall@k  share of questions with a gold passage hit by the top k chunks (a question's gold passages are
            alternatives, each of which answers it)
  mrr       1 / rank of the first chunk that hits any gold passage (0 if none in the top 10)

Splits. Every question carries `split`: "dev" (the questions the retrieval settings were tuned on) or
"test" (held out: written from the documents before tuning, scored after it, never used to pick a
setting). Tune with `--split dev`; the headline figures are per split and overall.

Systems, built in the same run from the same documents with the same embedding:
  hybrid    structure-aware chunks (retrieval.chunking) in Chroma + BM25 over jieba tokens, fused by RRF
  baseline  the text cut every 500 characters, vector search only
(`vector` and `bm25`, the two halves of hybrid alone, are available for ablations.)

    python -m eval.retrieval [--format table|json] [--systems hybrid,baseline] [--split dev|test|all]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.chunking import Chunk, join_with_offsets
from retrieval.embedding import Embedder
from retrieval.types import LoadedDocument

ROOT = Path(__file__).resolve().parent.parent
GOLD_PATH = Path(__file__).resolve().parent / "gold" / "retrieval.json"
CORPUS_DIR = ROOT / "corpus" / "rendered" / "txt"
BASELINE_CHARS = 500
SYSTEMS = ("hybrid", "baseline")
SPLITS = ("dev", "test")


# ---------------------------------------------------------------------------------------------------------
# gold


@dataclass(frozen=True)
class Span:
    page: int
    line_start: int
    page_end: int
    line_end: int

    def overlaps(self, page: int, line_start: int, page_end: int, line_end: int) -> bool:
        return (self.page, self.line_start) <= (page_end, line_end) and (page, line_start) <= (self.page_end, self.line_end)


@dataclass
class GoldPassage:
    stem: str
    quote: str
    span: Span | None = None


@dataclass
class Question:
    qid: str
    question: str
    lang: str
    gold: list[GoldPassage]
    tags: list[str] = field(default_factory=list)
    split: str = "dev"


def load_gold(path: Path = GOLD_PATH, splits: Sequence[str] | None = None) -> list[Question]:
    """The gold questions, optionally only those of the given splits ("dev", "test")."""
    data = json.loads(Path(path).read_text("utf-8"))
    out = []
    for q in data["questions"]:
        split = q.get("split", "dev")
        if split not in SPLITS:
            raise ValueError(f"{q['id']}: unknown split {split!r} (expected one of {', '.join(SPLITS)})")
        if splits is not None and split not in splits:
            continue
        out.append(Question(q["id"], q["question"], q.get("lang", "zh"),
                            [GoldPassage(g["stem"], g["quote"]) for g in q["gold"]], q.get("tags") or [], split))
    return out


def _segments(doc: LoadedDocument):
    """(text, lines, spans) per row, and per maximal run of consecutive prose lines."""
    run: list = []
    for line in doc.iter_lines():
        if line.kind == "row":
            if run:
                yield run
                run = []
            yield [line]
        else:
            run.append(line)
    if run:
        yield run


def resolve_quote(doc: LoadedDocument, quote: str) -> list[Span]:
    """Every place the quote occurs, as the smallest line span that contains it."""
    found = []
    for lines in _segments(doc):
        if lines[0].kind == "row":
            text, spans = lines[0].text, [(0, len(lines[0].text))]
        else:
            text, spans = join_with_offsets(lines)
        start = text.find(quote)
        while start >= 0:
            end = start + len(quote)
            covered = [ln for ln, (a, b) in zip(lines, spans) if a < end and b > start]
            if covered:
                found.append(Span(covered[0].page, covered[0].line_no, covered[-1].page, covered[-1].line_no))
            start = text.find(quote, start + 1)
    return found


# ---------------------------------------------------------------------------------------------------------
# corpus


def load_document(path: Path) -> LoadedDocument:
    from retrieval.loaders import load_path

    return load_path(path, max_bytes=200 * 1024 * 1024)


def units_for(doc: LoadedDocument):
    """Report units from retrieval.segment, or the chunker's private fallback while it is missing."""
    from retrieval.index import _segment

    return _segment(doc)


def load_corpus(corpus_dir: Path = CORPUS_DIR) -> dict[str, LoadedDocument]:
    paths = sorted(Path(corpus_dir).glob("*.txt"))
    if not paths:
        raise FileNotFoundError(f"no rendered txt in {corpus_dir}: run scripts/make_corpus.py")
    return {p.stem: load_document(p) for p in paths}


def resolve_gold(questions: Sequence[Question], docs: dict[str, LoadedDocument]) -> list[str]:
    """Fill each passage's span; returns one problem per quote that is missing or ambiguous."""
    problems = []
    for q in questions:
        for g in q.gold:
            doc = docs.get(g.stem)
            spans = resolve_quote(doc, g.quote) if doc is not None else []
            if len(spans) == 1:
                g.span = spans[0]
            elif not spans:
                problems.append(f"{q.qid}: quote not found in {g.stem}: {g.quote!r}")
            else:
                g.span = spans[0]
                problems.append(f"{q.qid}: quote occurs {len(spans)} times in {g.stem}: {g.quote!r}")
    return problems


# ---------------------------------------------------------------------------------------------------------
# the baseline: fixed-size character windows, vector search only


def fixed_chunks(doc: LoadedDocument, size: int = BASELINE_CHARS) -> list[Chunk]:
    """The document's text (lines joined by newlines, as a plain text extractor gives it) cut every
    `size` characters, each piece mapped back to the lines it covers."""
    text, owners = "", []
    for line in doc.iter_lines():
        if text:
            text += "\n"
            owners.append(None)
        text += line.text
        owners.extend([line] * len(line.text))
    out = []
    for n, s in enumerate(range(0, len(text), size)):
        covered = [o for o in owners[s:s + size] if o is not None]
        if not covered:
            continue
        out.append(Chunk(chunk_id=f"{doc.doc_id[:16]}-b{n:05d}", doc_id=doc.doc_id, ordinal=n, kind="prose",
                         text=text[s:s + size], context="", page=covered[0].page, line_start=covered[0].line_no,
                         page_end=covered[-1].page, line_end=covered[-1].line_no, filename=doc.filename))
    return out


class BaselineIndex:
    def __init__(self, data_dir: Path, embedder: Embedder):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.embedder = embedder
        self.client = chromadb.PersistentClient(path=str(data_dir / "baseline"),
                                                settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = self.client.get_or_create_collection("baseline", embedding_function=None,
                                                               metadata={"hnsw:space": "cosine"})
        self.chunks: dict[str, Chunk] = {}

    def add(self, doc: LoadedDocument) -> int:
        chunks = fixed_chunks(doc)
        if chunks:
            self.collection.upsert(ids=[c.chunk_id for c in chunks],
                                   embeddings=self.embedder.embed_documents([c.text for c in chunks]),
                                   documents=[c.text for c in chunks])
            self.chunks.update({c.chunk_id: c for c in chunks})
        return len(chunks)

    def search(self, query: str, k: int = 10) -> list[Chunk]:
        res = self.collection.query(query_embeddings=[self.embedder.embed_query(query)],
                                    n_results=min(k, len(self.chunks)), include=["distances"])
        return [self.chunks[cid] for cid in res["ids"][0]]


# ---------------------------------------------------------------------------------------------------------
# running


@dataclass
class SystemResult:
    system: str
    recall_at_5: float
    recall_at_10: float
    mrr: float
    questions: int
    chunks: int
    index_seconds: float
    per_question: list[dict] = field(default_factory=list)

    @property
    def splits(self) -> dict[str, dict]:
        """recall@5, recall@10, mrr and the question count per split, from the per-question rows."""
        out = {}
        for split in SPLITS:
            rows = [r for r in self.per_question if r.get("split") == split]
            if rows:
                out[split] = summarize(rows)
        return out

    def to_dict(self, *, detail: bool = False) -> dict:
        d = {"system": self.system, "recall@5": round(self.recall_at_5, 4), "recall@10": round(self.recall_at_10, 4),
             "mrr": round(self.mrr, 4), "questions": self.questions, "chunks": self.chunks,
             "index_seconds": round(self.index_seconds, 3), "splits": self.splits}
        if detail:
            d["per_question"] = self.per_question
        return d


def summarize(rows: Sequence[dict]) -> dict:
    n = max(1, len(rows))
    return {"recall@5": round(sum(r["recall@5"] for r in rows) / n, 4),
            "recall@10": round(sum(r["recall@10"] for r in rows) / n, 4),
            "mrr": round(sum(1.0 / r["first_hit"] if r["first_hit"] else 0.0 for r in rows) / n, 4),
            "questions": len(rows)}


def score(questions: Sequence[Question], ranked: dict[str, list[Chunk]], stems: dict[str, str]) -> tuple[float, float, float, list[dict]]:
    r5 = r10 = rr = 0.0
    rows = []
    for q in questions:
        chunks = ranked[q.qid][:10]
        hit_rank: dict[int, int] = {}
        first = None
        for rank, c in enumerate(chunks, start=1):
            for gi, g in enumerate(q.gold):
                if g.span and stems.get(c.doc_id) == g.stem and g.span.overlaps(c.page, c.line_start, c.page_end, c.line_end):
                    hit_rank.setdefault(gi, rank)
                    first = first or rank
        # gold passages are alternatives: any one of them answers the question
        q5 = 1.0 if first is not None and first <= 5 else 0.0
        q10 = 1.0 if first is not None else 0.0
        r5, r10, rr = r5 + q5, r10 + q10, rr + (1.0 / first if first else 0.0)
        rows.append({"id": q.qid, "split": q.split, "recall@5": q5, "recall@10": q10, "first_hit": first})
    n = max(1, len(questions))
    return r5 / n, r10 / n, rr / n, rows


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run(settings=None, *, systems: Sequence[str] = SYSTEMS, gold_path: Path = GOLD_PATH,
        corpus_dir: Path = CORPUS_DIR, embedder: Embedder | None = None, data_dir: Path | None = None,
        questions: Sequence[Question] | None = None, docs: dict[str, LoadedDocument] | None = None,
        splits: Sequence[str] | None = None) -> list[SystemResult]:
    """Index the corpus in a scratch data dir and score every system on the gold questions (of `splits`
    only, when given: tune with ("dev",) and leave the test split alone)."""
    from retrieval.embedding import make_embedder
    from retrieval.index import HybridIndex
    from service.settings import Settings

    base = settings or Settings()
    questions = list(questions) if questions is not None else load_gold(gold_path)
    if splits is not None:
        questions = [q for q in questions if q.split in splits]
    if not questions:
        raise ValueError(f"no gold questions in split(s) {', '.join(splits or ())}")
    docs = docs if docs is not None else load_corpus(corpus_dir)
    problems = resolve_gold(questions, docs)
    if problems:
        raise ValueError("gold does not resolve:\n" + "\n".join(problems))
    stems = {d.doc_id: stem for stem, d in docs.items()}
    scratch = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="jixiao-eval-"))
    results = []
    try:
        cfg = base.model_copy(update={"data_dir": scratch, "chroma_url": None})
        emb = embedder or make_embedder(cfg)
        hybrid_modes = [s for s in systems if s in ("hybrid", "vector", "bm25")]
        if hybrid_modes:
            t0 = time.perf_counter()
            index = HybridIndex(cfg, embedder=emb)
            for doc in docs.values():
                index.upsert_document(doc, units_for(doc))
            index.search("预算")  # builds BM25: part of getting ready to answer
            secs = time.perf_counter() - t0
            for mode in hybrid_modes:
                ranked = {q.qid: [h.chunk for h in index.search(q.question, k=10, mode=mode)] for q in questions}
                r5, r10, mrr, rows = score(questions, ranked, stems)
                results.append(SystemResult(mode, r5, r10, mrr, len(questions), index.count(), secs, rows))
        if "baseline" in systems:
            t0 = time.perf_counter()
            bl = BaselineIndex(scratch, emb)
            n = sum(bl.add(doc) for doc in docs.values())
            secs = time.perf_counter() - t0
            ranked = {q.qid: bl.search(q.question, k=10) for q in questions}
            r5, r10, mrr, rows = score(questions, ranked, stems)
            results.append(SystemResult("baseline", r5, r10, mrr, len(questions), n, secs, rows))
    finally:
        if not data_dir:
            shutil.rmtree(scratch, ignore_errors=True)
    order = {s: i for i, s in enumerate(systems)}
    return sorted(results, key=lambda r: order.get(r.system, 99))


def load_docs_gold(gold: Path, docs: Path) -> tuple[list[Question], dict[str, LoadedDocument]]:
    """An evaluator's own folder: the questions of `gold` (a file or a folder of *.json, validated: GoldError names
    file and field) and every document under `docs`, keyed by file stem (the gold's `document` is a file name or
    a stem). Each quote must occur exactly once in its document; otherwise GoldError names the question."""
    from eval.gold_format import GoldError, document_in, validate_retrieval_gold
    from eval.qa import document_files, gold_paths

    loaded = {p.stem: load_document(p) for p in document_files(Path(docs))}
    questions: list[Question] = []
    for path in gold_paths(Path(gold)):
        try:
            data = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise GoldError(str(path), [f"not JSON: {exc}"]) from exc
        validate_retrieval_gold(data, str(path))
        problems, mine = [], []
        for i, q in enumerate(data["questions"]):
            passages = []
            for j, g in enumerate(q["gold"]):
                try:
                    passages.append(GoldPassage(document_in(g["document"], Path(docs)).stem, g["quote"]))
                except FileNotFoundError as exc:
                    problems.append(f"questions[{i}].gold[{j}].document: {exc}")
            mine.append(Question(q["id"], q["question"], q.get("lang", "zh"), passages, q.get("tags") or [],
                                 q.get("split", "dev")))
        problems += [f"questions: {p}" for p in resolve_gold(mine, loaded)] if not problems else []
        if problems:
            raise GoldError(str(path), problems)
        questions += mine
    return questions, loaded


def run_docs(settings=None, *, docs: Path, gold: Path, systems: Sequence[str] = SYSTEMS,
             embedder: Embedder | None = None, splits: Sequence[str] | None = None) -> list[SystemResult]:
    """`run` on an evaluator's own documents and gold (hybrid and the baseline in the same run, per split)."""
    questions, loaded = load_docs_gold(Path(gold), Path(docs))
    return run(settings, systems=systems, embedder=embedder, questions=questions, docs=loaded, splits=splits)


def stamp(settings=None) -> dict:
    from retrieval.chunking import chunking_signature
    from retrieval.embedding import make_embedder
    from service.settings import Settings

    s = settings or Settings()
    emb = make_embedder(s) if s.embedding_backend == "hashed" else None
    sig = {"chunking": chunking_signature(s), "embedding": emb.signature() if emb else {"backend": s.embedding_backend,
                                                                                        "model": s.embedding_model}}
    return {"settings_hash": s.settings_hash(), "git_commit": git_commit(),
            "retrieval_signature": hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()[:12]}


def format_table(results: Sequence[SystemResult]) -> str:
    """One line per system and split (then `all`), and hybrid's recall@5 lead over the baseline."""
    head = f"{'system':<10} {'split':<6} {'recall@5':>9} {'recall@10':>10} {'mrr':>7} {'questions':>10} {'chunks':>7} {'index s':>8}"
    lines = [head]
    for r in results:
        splits = r.splits
        for name, m in splits.items():
            if len(splits) > 1:
                lines.append(f"{r.system:<10} {name:<6} {m['recall@5']:>9.3f} {m['recall@10']:>10.3f} {m['mrr']:>7.3f} "
                             f"{m['questions']:>10d}")
        name = "all" if len(splits) > 1 else next(iter(splits), "all")
        lines.append(f"{r.system:<10} {name:<6} {r.recall_at_5:>9.3f} {r.recall_at_10:>10.3f} {r.mrr:>7.3f} "
                     f"{r.questions:>10d} {r.chunks:>7d} {r.index_seconds:>8.2f}")
    by = {r.system: r for r in results}
    if "hybrid" in by and "baseline" in by:
        h, b = by["hybrid"], by["baseline"]
        parts = [f"{name} {100 * (h.splits[name]['recall@5'] - b.splits[name]['recall@5']):+.1f}"
                 for name in h.splits if name in b.splits]
        if len(parts) != 1:
            parts.append(f"all {100 * (h.recall_at_5 - b.recall_at_5):+.1f}")
        lines.append("hybrid recall@5 lead over baseline, points: " + ", ".join(parts))
    return "\n".join(lines)


def parse_splits(value: str | None) -> tuple[str, ...] | None:
    """`dev`, `test`, `dev,test` or `all` (None: every split)."""
    if not value or value.strip() == "all":
        return None
    out = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in out if s not in SPLITS]
    if unknown:
        raise ValueError(f"unknown split(s) {', '.join(unknown)}: use {', '.join(SPLITS)} or all")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--format", choices=("table", "json"), default="table")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma list of hybrid, baseline, vector, bm25")
    ap.add_argument("--detail", action="store_true", help="per-question ranks (json)")
    ap.add_argument("--split", default="all", help="dev, test or all (tune on dev; score test once, at the end)")
    args = ap.parse_args(argv)
    results = run(systems=[s.strip() for s in args.systems.split(",") if s.strip()], splits=parse_splits(args.split))
    if args.format == "json":
        st = stamp()
        print(json.dumps([{**r.to_dict(detail=args.detail), **st} for r in results], ensure_ascii=False, indent=2))
    else:
        print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
