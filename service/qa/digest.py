"""The stored projects as Q&A reads them, kept on disk between processes.

A question reads every stored project's names, department and year (to link the names it uses and to scope),
but the figures of only the projects its SQL selects (service.qa.pushdown over project_facts) and the
indicators, goals and stated problems of only the few it answers. Validating every full record from the
store was 5 s of a `jixiao ask` at 10,000 documents. So each project's names and findings are kept here,
in one file under the data dir, per document, keyed by what the store says of it (ingested_at, project and
finding counts, newest finding id), so a changed, added or deleted document is re-read and the rest is
reused; its figures come from project_facts on first use (HeadReader), the rest of its record from the
store (`LazyEvaluation`). The file is a cache: a missing, stale or unreadable one is rebuilt from the
store, never trusted over it.
"""
from __future__ import annotations

import functools
import gc
import os
import pickle
import tempfile
import weakref
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from service.qa.facts import HEAD_KEYS, head_from_json, head_of, light_head
from service.qa.structured import ProjectRecord

# what linking and scoping read of every project (names, department, year) and the key dedupe reads (two
# records of one project: service.qa.structured.dedupe): kept in the digest. The rest of a project's head
# (its figures as printed, with where: HEAD_KEYS) is read from the store's project_facts when first asked,
# for the few projects a question's SQL selects (service.qa.pushdown), all at once when it reads many.
NAME_FIELDS = ("project", "aliases", "department", "implementer", "year", "dedupe_key")
REST_FIELDS = HEAD_KEYS
HEAD_FIELDS = (*NAME_FIELDS, *REST_FIELDS)
_VERSION = 9  # bump when profiles are read differently, or when NAME_FIELDS or the models they hold change shape
_FILE = "qa_digest.pickle"
_BULK = 64  # more documents than this to (re)read: one query for all projects instead of one per document


class LazyEvaluation:
    """A stored project's evaluation: its names at hand, the rest of its head (figures) from the store's
    project_facts on first use, any other attribute (indicators, goals, stated problems, model_dump …) from
    the full record, read from the store the first time one is asked."""

    __slots__ = (*HEAD_FIELDS, "_doc_id", "_project_id", "_load", "_full", "_heads", "_findings")

    def __init__(self, names: tuple, doc_id: str, project_id: int, load: Callable[[int], Any],
                 heads: Callable[[int], dict | None], findings: list):
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
            head = self._heads(self._project_id)
            if head is None:  # no facts row (a store being written meanwhile): the record itself decides
                head = head_of(self.full(), self._findings)
            elif name == "missed_indicators":
                # the printed head counts them; the indicators themselves are in the full head, read if any
                missed = self._heads.full(self._project_id)["missed_indicators"] if head["missed_names"] else []
                head = {**head, "missed_indicators": missed}
            for k in REST_FIELDS:
                if k in head:
                    setattr(self, k, head[k])
            return head[name]
        return getattr(self.full(), name)

    def __repr__(self) -> str:
        return f"LazyEvaluation({self.project!r}, id={self._project_id})"


def doc_key(d) -> tuple:
    """What the store says of a document that changes whenever its projects or findings do."""
    return (d.doc_id, str(d.ingested_at), d.projects, tuple(sorted(d.findings.items())),
            getattr(d, "findings_version", 0))


def _names_from_store(store, doc_ids: list[str] | None) -> dict[str, list[tuple]]:
    """doc_id → [(project_id, names, findings)] for these documents (None: all), in document order."""
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
            e, fs = r.evaluation, by_unit.get(r.unit_id, [])
            key = ProjectRecord(r.id, r.doc_id, None, e).dedupe_key
            names = (e.project, e.aliases, e.department, e.implementer, e.year, key)
            out[r.doc_id].append((r.id, names, fs))
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
    """Every stored project's names and findings, and the documents' profiles, per document, in memory and
    on disk (written by flush())."""

    def __init__(self, data_dir: Path | None):
        self.path = Path(data_dir) / _FILE if data_dir is not None else None
        self._data: dict | None = None
        self._dirty = False

    def _loaded(self) -> dict:
        if self._data is None:
            empty = {"version": _VERSION, "docs": {}, "profiles": {}}
            self._data = _read(self.path, empty) if self.path is not None else empty
        return self._data

    def records(self, store, doc_rows, docs: dict[str, str | None], doc_keys=None) -> list[ProjectRecord]:
        """Every stored project as a ProjectRecord with a LazyEvaluation, in the store's order (by id).
        doc_keys: doc_key() of each of doc_rows, in order, when the caller has them."""
        data = self._loaded()
        keys = dict(zip((d.doc_id for d in doc_rows), doc_keys or [doc_key(d) for d in doc_rows]))
        have = data["docs"]
        stale = [i for i, k in keys.items() if have.get(i, (None,))[0] != k]
        gone = [i for i in have if i not in keys]
        if stale or gone:
            if stale:
                fresh = _names_from_store(store, None if len(stale) > _BULK else stale)
                for i in stale:
                    have[i] = (keys[i], fresh.get(i, []))
            for i in gone:
                del have[i]
            data["profiles"] = {k: v for k, v in data["profiles"].items() if keys.get(k[0]) == k}
            self._dirty = True
        load = _Loader(store)
        heads = HeadReader(store)
        out = [ProjectRecord(pid, d.doc_id, docs.get(d.doc_id),
                             LazyEvaluation(names, d.doc_id, pid, load, heads, findings), list(findings))
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
            _write(self.path, self._loaded())
            try:  # the heads an older version pickled here: project_facts holds them now
                (self.path.parent / "qa_digest_heads.pickle").unlink(missing_ok=True)
            except OSError:
                pass
        self._dirty = False


def _full_head(reader: weakref.ref, pid: int) -> dict:
    r = reader()
    if r is None:
        raise KeyError(pid)
    return r.full(pid)


class HeadReader:
    """The heads of stored projects from project_facts: the printed part (service.qa.facts.printed_of) of
    those a question's SQL selected in one query (prefetch), others one by one, all at once once a question
    turns out to read many (the average rate of every project); the full head (refs, missed indicators) of a
    project when an answer cites it."""

    _ONE_BY_ONE = 64

    def __init__(self, store):
        self.store = store
        self.got: dict[int, dict] = {}
        self._full: dict[int, dict] = {}
        self.asked = 0
        self.full_asked = 0
        self.everything = False

    def prefetch(self, project_ids) -> None:
        want = [i for i in project_ids if i not in self.got]
        if want and not self.everything:
            self._read(want)

    def _light(self, pid: int, printed: dict) -> dict:
        # through a weak reference: the heads are frozen out of the collector's sight (_keep), and a cycle
        # back to this reader would keep an old store state's heads alive for good
        return light_head(printed, functools.partial(_full_head, weakref.ref(self), pid))

    def _read(self, ids) -> None:
        rows = self.store.select_facts(columns=("project_id", "printed"), project_ids=list(ids))
        self._keep((pid, self._light(pid, p)) for pid, p in rows)

    def _keep(self, heads) -> None:
        """Add heads to `got`. Thousands of them live as long as their records: made with the collector off
        and then frozen out of its sight (as _read does for the digest), else each later question's full
        collections walk them all (a list of 9,402 projects spent 0.26 s there)."""
        gc.disable()
        try:
            self.got.update(heads)
        finally:
            gc.enable()
        gc.freeze()

    def full(self, project_id: int) -> dict:
        if project_id not in self._full:
            self.full_asked += 1
            # one by one for the page an answer cites; past that (a count citing a thousand projects) the
            # full heads of every project read so far, in one query per 500
            ids = [project_id] if self.full_asked <= self._ONE_BY_ONE else \
                [project_id, *(i for i in self.got if i not in self._full)]
            for pid, h in self.store.project_heads(ids).items():
                self._full[pid] = head_from_json(h)
            if project_id not in self._full:
                raise KeyError(project_id)
        return self._full[project_id]

    def __call__(self, project_id: int) -> dict | None:
        if project_id not in self.got and not self.everything:
            self.asked += 1
            if self.asked <= self._ONE_BY_ONE:
                self._read([project_id])
            else:
                self.everything = True
                rows = self.store.select_facts(columns=("project_id", "printed"))
                self._keep((pid, self._light(pid, p)) for pid, p in rows if pid not in self.got)
        return self.got.get(project_id)


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
