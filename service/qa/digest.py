"""The stored projects as Q&A reads them, kept on disk between processes.

A question reads every stored project's names, year, totals, grade and funds (to link the names it uses
and to filter, count and rank), but the indicators, goals and stated problems of only the few it answers.
Validating every full record from the store was 5 s of a `jixiao ask` at 10,000 documents. So each
project is kept here as its head (the fields every question reads) and findings; the rest of its record is
read from the store on first use (`LazyEvaluation`). The names (and findings, and the documents' profiles)
are saved in one file under the data dir, the rest of the heads in another that only a question reading
figures loads; both per document, keyed by what the store says of it (ingested_at, project and finding
counts, newest finding id), so a changed, added or deleted document is re-read and the rest is reused. The
files are a cache: a missing, stale or unreadable one is rebuilt from the store, never trusted over it.
"""
from __future__ import annotations

import gc
import os
import pickle
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from service.qa.structured import ProjectRecord

# the fields of a ProjectEvaluation every question may read for every project; all else is loaded lazily.
# funds are kept without their per-source rows (本年财政拨款, 其他资金 …): no answer over many projects reads
# them, and they were half of the objects to unpickle. Three are derived from the indicators, which only
# they need for every project: n_indicators (dedupe's key), missed_indicators (未完成指标 lists) and
# allowed_total (the reviewed score, from the findings).
HEAD_FIELDS = ("project", "aliases", "department", "implementer", "year", "reported_total", "reported_grade",
               "funds", "n_indicators", "missed_indicators", "allowed_total")
# what linking and scoping read of every project (names, department, year): kept apart from the rest of the
# head, which is only unpickled when a question reads figures (an open question never does: 0.5 s saved)
NAME_FIELDS = ("project", "aliases", "department", "implementer", "year")
REST_FIELDS = tuple(f for f in HEAD_FIELDS if f not in NAME_FIELDS)
_DERIVED = ("n_indicators", "missed_indicators", "allowed_total")
_VERSION = 8  # bump when profiles are read differently, or when HEAD_FIELDS or the models they hold change shape
_FILE = "qa_digest.pickle"
_HEADS_FILE = "qa_digest_heads.pickle"
_BULK = 64  # more documents than this to (re)read: one query for all projects instead of one per document


class LazyEvaluation:
    """A stored project's evaluation: its names at hand, the rest of its head (figures) from the digest's
    second file on first use, any other attribute (indicators, goals, stated problems, model_dump …) from the
    full record, read from the store the first time one is asked."""

    __slots__ = (*HEAD_FIELDS, "_doc_id", "_project_id", "_load", "_full", "_heads", "_findings")

    def __init__(self, names: tuple, doc_id: str, project_id: int, load: Callable[[int], Any],
                 heads: Callable[[str, int], dict | None], findings: list):
        for k, v in zip(NAME_FIELDS, names):
            setattr(self, k, v)
        self._doc_id = doc_id
        self._project_id = project_id
        self._load = load
        self._full = None
        self._heads = heads  # REST_FIELDS stay unset until one is read (then __getattr__ fills them all)
        self._findings = findings

    def full(self):
        if self._full is None:
            self._full = self._load(self._project_id)
        return self._full

    def __getattr__(self, name: str):  # only for names not set: the rest of the head, or the full record's
        if name.startswith("__"):
            raise AttributeError(name)
        if name in REST_FIELDS:
            head = self._heads(self._doc_id, self._project_id)
            if head is None:  # the heads file disagrees with the names: the record itself decides
                head = head_of(self.full(), self._findings)
            for k in REST_FIELDS:
                setattr(self, k, head[k])
            return head[name]
        return getattr(self.full(), name)

    def __repr__(self) -> str:
        return f"LazyEvaluation({self.project!r}, id={self._project_id})"


def head_of(e, findings) -> dict[str, Any]:
    from service.checks.score import allowed_total
    from service.qa.structured import missed_indicators

    head = {k: getattr(e, k) for k in HEAD_FIELDS if k not in _DERIVED}
    if e.funds.sources:
        head["funds"] = e.funds.model_copy(update={"sources": []})
    head["n_indicators"] = len(e.indicators)
    head["missed_indicators"] = missed_indicators(e)
    head["allowed_total"] = allowed_total(e, findings)
    return head


def doc_key(d) -> tuple:
    """What the store says of a document that changes whenever its projects or findings do."""
    return (d.doc_id, str(d.ingested_at), d.projects, tuple(sorted(d.findings.items())),
            getattr(d, "findings_version", 0))


def _heads_from_store(store, doc_ids: list[str] | None) -> dict[str, list[tuple]]:
    """doc_id → [(project_id, head, findings)] for these documents (None: all), in document order."""
    if doc_ids is None or len(doc_ids) > _BULK:
        rows = store.list_projects()
        findings = store.list_findings()
    else:
        rows = [r for d in doc_ids for r in store.list_projects(doc_id=d)]
        findings = [f for d in doc_ids for f in store.list_findings(doc_id=d)]
    wanted = None if doc_ids is None else set(doc_ids)
    by_unit: dict[str, list] = defaultdict(list)
    for f in findings:
        by_unit[f.unit_id].append(f.finding)
    out: dict[str, list[tuple]] = defaultdict(list)
    for r in rows:
        if wanted is None or r.doc_id in wanted:
            fs = by_unit.get(r.unit_id, [])
            out[r.doc_id].append((r.id, head_of(r.evaluation, fs), fs))
    return out


def _read(path: Path, empty: dict) -> dict:
    try:
        with path.open("rb") as fh:
            gc.disable()  # unpickling many small objects: the collector would run ~100 times for nothing
            try:
                data = pickle.load(fh)
            finally:
                gc.enable()
            # the heads live as long as the process: out of the collector's sight, so the objects made next
            # do not trigger full collections over them (0.4 s at 10,000 documents)
            gc.freeze()
        if isinstance(data, dict) and data.get("version") == _VERSION:
            return data
    except FileNotFoundError:
        pass
    except Exception:  # a torn or foreign file is only a cache miss
        pass
    return empty


def _write(path: Path, data: dict) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".qa_digest.", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except OSError:  # a read-only data dir: answers still work, the next process rebuilds
        if tmp:
            try:
                os.unlink(tmp)
            except Exception:
                pass


class Digest:
    """Every stored project's names and findings (one file) and the rest of its head (another, read only
    when a question reads figures), per document, in memory and on disk (written by flush())."""

    def __init__(self, data_dir: Path | None):
        self.path = Path(data_dir) / _FILE if data_dir is not None else None
        self.heads_path = Path(data_dir) / _HEADS_FILE if data_dir is not None else None
        self._data: dict | None = None
        self._heads: dict | None = None
        self._dirty = False

    def _loaded(self) -> dict:
        if self._data is None:
            empty = {"version": _VERSION, "docs": {}, "profiles": {}}
            self._data = _read(self.path, empty) if self.path is not None else empty
        return self._data

    def _heads_loaded(self) -> dict:
        if self._heads is None:
            empty = {"version": _VERSION, "docs": {}}
            self._heads = _read(self.heads_path, empty) if self.heads_path is not None else empty
        return self._heads

    def head(self, doc_id: str, project_id: int) -> dict | None:
        """The rest of a project's head, if the heads file holds it for the same version of its document."""
        entry = self._heads_loaded()["docs"].get(doc_id)
        names = self._loaded()["docs"].get(doc_id)
        if entry is None or names is None or entry[0] != names[0]:
            return None
        return entry[1].get(project_id)

    def records(self, store, doc_rows, docs: dict[str, str | None], doc_keys=None) -> list[ProjectRecord]:
        """Every stored project as a ProjectRecord with a LazyEvaluation, in the store's order (by id).
        doc_keys: doc_key() of each of doc_rows, in order, when the caller has them."""
        data = self._loaded()
        keys = dict(zip((d.doc_id for d in doc_rows), doc_keys or [doc_key(d) for d in doc_rows]))
        have = data["docs"]
        stale = [i for i, k in keys.items() if have.get(i, (None,))[0] != k]
        gone = [i for i in have if i not in keys]
        if stale or gone:
            heads = self._heads_loaded()["docs"]
            if stale:
                fresh = _heads_from_store(store, None if len(stale) > _BULK else stale)
                for i in stale:
                    got = fresh.get(i, [])
                    have[i] = (keys[i], [(pid, tuple(h[k] for k in NAME_FIELDS), fs) for pid, h, fs in got])
                    heads[i] = (keys[i], {pid: {k: h[k] for k in REST_FIELDS} for pid, h, _ in got})
            for i in gone:
                del have[i]
                heads.pop(i, None)
            data["profiles"] = {k: v for k, v in data["profiles"].items() if keys.get(k[0]) == k}
            self._dirty = True
        load = _Loader(store)
        out = [ProjectRecord(pid, d.doc_id, docs.get(d.doc_id),
                             LazyEvaluation(names, d.doc_id, pid, load, self.head, findings), list(findings))
               for d in doc_rows for pid, names, findings in have[d.doc_id][1]]
        out.sort(key=lambda r: r.project_id)
        return out

    def profiles(self) -> dict:
        """Saved document profiles, keyed as service.qa.service._profiles keys them; add to it, then
        mark_changed() so flush() saves it."""
        return self._loaded()["profiles"]

    def mark_changed(self) -> None:
        self._dirty = True

    def flush(self) -> None:
        if self._dirty and self.path is not None:
            if self._heads is not None:  # changed with the names: written first, so names never run ahead
                _write(self.heads_path, self._heads)
            _write(self.path, self._loaded())
        self._dirty = False


class _Loader:
    """Reads full records for LazyEvaluations: one by one for the few a question answers, then all at once
    (one query) once a question turns out to need many of them (未完成指标 over every project)."""

    _ONE_BY_ONE = 32

    def __init__(self, store):
        self.store = store
        self.asked = 0
        self.all: dict[int, Any] | None = None

    def __call__(self, project_id: int):
        if self.all is None:
            self.asked += 1
            if self.asked <= self._ONE_BY_ONE:
                return self.store.get_project(project_id).evaluation
            self.all = {r.id: r.evaluation for r in self.store.list_projects()}
        ev = self.all.get(project_id)
        return ev if ev is not None else self.store.get_project(project_id).evaluation


_DIGESTS: dict[str, Digest] = {}


def digest_for(data_dir: Path | None) -> Digest:
    """One Digest per data dir and process: the server keeps the heads of unchanged documents in memory."""
    key = str(Path(data_dir).resolve()) if data_dir is not None else ""
    if key not in _DIGESTS:
        _DIGESTS[key] = Digest(data_dir)
    return _DIGESTS[key]
