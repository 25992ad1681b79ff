"""Real concurrent writers on one data directory: three `jixiao ingest` processes, a `jixiao serve` process
taking uploads from several clients, and repairs (`jixiao search` reconciles the index) all at once. After
each run the store and the index must agree exactly and search must work in a fresh process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from eval.forms import generate

ROOT = Path(__file__).resolve().parent.parent
# two runs keep the suite's time down; JIXIAO_TEST_CONCURRENCY_RUNS=5 for the five
RUNS = int(os.environ.get("JIXIAO_TEST_CONCURRENCY_RUNS", "2"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args, env, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict[str, list[Path]]:
    out = tmp_path_factory.mktemp("forms")
    generate(out, count=16, seed=31, formats=["txt", "docx", "xlsx"])
    files = sorted(p for p in out.rglob("*") if p.suffix in (".txt", ".docx", ".xlsx") and "gold" not in p.parts)
    groups: dict[str, list[Path]] = {"a": [], "b": [], "c": [], "upload": []}
    for k, f in enumerate(files):
        groups["abcu"[k % 4] if "abcu"[k % 4] != "u" else "upload"].append(f)
    return groups


@pytest.mark.slow
@pytest.mark.parametrize("run", range(RUNS))
def test_three_ingests_uploads_and_repairs_at_once_leave_store_and_index_consistent(tmp_path, forms, run):
    from retrieval.index import HybridIndex
    from service.settings import Settings
    from service.store import open_store

    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(JIXIAO_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    folders = {}
    for name in "abc":
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for f in forms[name]:
            (folders[name] / f.name).write_bytes(f.read_bytes())
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, server.stderr.read() if server.poll() else ""
            time.sleep(0.3)
        statuses: list[int] = []

        def upload(f: Path) -> None:
            r = httpx.post(f"{base}/documents", files={"file": (f.name, f.read_bytes())}, timeout=600)
            statuses.append(r.status_code)

        procs = [subprocess.Popen([sys.executable, "-m", "service.cli", "ingest", str(folders[n])], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in "abc"]
        threads = [threading.Thread(target=upload, args=(f,)) for f in forms["upload"]]
        for t in threads:
            t.start()
        repairs = [_cli("search", "产出指标", env=env) for _ in range(2)]  # reconcile while others write
        for t in threads:
            t.join()
        outs = [p.communicate(timeout=600) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
        assert all(s in (200, 201) for s in statuses), statuses
        assert all(r.returncode == 0 for r in repairs), [r.stderr[-300:] for r in repairs]
        assert not any("not indexed" in o[1] for o in outs)
    finally:
        server.terminate()
        server.wait(30)

    settings = Settings(_env_file=None, data_dir=data)
    store = open_store(settings)
    try:
        known = {d.doc_id for d in store.list_documents()}
    finally:
        store.close()
    expected = sum(len(forms[n]) for n in ("a", "b", "c", "upload"))
    assert len(known) == expected
    index = HybridIndex(settings)
    report = index.reconcile(known)  # no fetch: reports, repairs nothing
    assert report.clean, report
    manifest_ids = {cid for e in index.documents().values() for cid in e["chunk_ids"]}
    assert index.count() == len(manifest_ids)
    for q in ("产出指标", "预算执行率", "满意度"):
        r = _cli("search", q, env=env)
        assert r.returncode == 0 and r.stdout.strip(), r.stderr[-300:]
    again = _cli("ingest", *(folders[n] for n in "abc"), env=env)
    assert again.returncode == 0 and set(ln.split()[0] for ln in again.stdout.splitlines()) == {"unchanged"}


@pytest.mark.slow
def test_parallel_workers_store_exactly_what_one_process_stores(tmp_path, forms):
    """`ingest --workers 2` (analysis in worker processes, one writer) gives the same results, in the same
    order, as one process, whether its workers fork from the writer or spawn: failures included, and files
    already stored are not sent to a worker."""
    folder = tmp_path / "in"
    folder.mkdir()
    for f in forms["a"] + forms["b"]:
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "renamed.txt").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    outputs = {}
    # workers forked from the writer (the default while it runs no other thread) and spawned ones
    runs = {1: "", 2: "", "2-spawn": "spawn"}
    for workers, start in runs.items():
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env.update(JIXIAO_DATA_DIR=str(tmp_path / f"data{workers}"), PYTHONPATH=str(ROOT))
        if start:
            env["JIXIAO_WORKER_START"] = start
        first = _cli("ingest", "--workers", "1", forms["a"][0], env=env)  # already stored before the run
        assert first.returncode == 0
        r = _cli("ingest", "--workers", str(workers)[0], folder, "--json", env=env)
        assert r.returncode == 1  # the two bad files
        rows = [__import__("json").loads(line) for line in r.stdout.splitlines()]
        outputs[workers] = [(x["filename"], x["status"], x.get("error_code"), x["doc_id"], x["projects"],
                             x["findings"], x["by_severity"], x.get("coverage_status")) for x in rows]
        search = _cli("search", "产出指标", env=env)
        assert search.returncode == 0 and search.stdout.strip()
    assert outputs[1] == outputs[2] == outputs["2-spawn"]
    # the index too: the workers chunk and embed what they read (the writer only writes), and the chunks,
    # their texts and their vectors are exactly what one process makes
    import numpy as np

    from retrieval.index import HybridIndex
    from service.settings import Settings

    indexed = {}
    for workers in runs:
        got = HybridIndex(Settings(_env_file=None, data_dir=tmp_path / f"data{workers}"))._get_all(
            ["documents", "embeddings"])
        indexed[workers] = {cid: (text, np.asarray(vec, dtype=np.float32))
                            for cid, text, vec in zip(got["ids"], got["documents"], got["embeddings"])}
    assert indexed[1].keys() == indexed[2].keys() == indexed["2-spawn"].keys() and len(indexed[1]) > 100
    for cid, (text, vec) in indexed[1].items():
        for other in (2, "2-spawn"):
            assert indexed[other][cid][0] == text and np.array_equal(indexed[other][cid][1], vec), (other, cid)
    statuses = {name: status for name, status, *_ in outputs[2]}
    assert statuses[forms["a"][0].name] == "unchanged"
    assert statuses["broken.docx"] == "error" and statuses["renamed.txt"] == "error"
    assert sum(1 for s in statuses.values() if s == "ingested") == len(forms["a"]) + len(forms["b"]) - 1


def test_the_first_pool_forks_only_while_the_writer_runs_no_other_thread(tmp_path, monkeypatch):
    """A lock another thread holds at fork time stays held in the child, so the workers fork only from a
    writer running one thread, and never when JIXIAO_WORKER_START=spawn; a forked worker's memory cap is
    counted on top of the heap it inherits."""
    from service.pipeline import _data_segment_mb, _WorkerPool
    from service.settings import Settings

    pool = _WorkerPool(2, Settings(_env_file=None, data_dir=tmp_path / "data"), read=_echo)
    if threading.active_count() == 1:
        assert pool._first_context().get_start_method() == "fork"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert pool._first_context() is None
    finally:
        stop.set()
        other.join()
    monkeypatch.setenv("JIXIAO_WORKER_START", "spawn")
    assert pool._first_context() is None
    assert _data_segment_mb() > 0


def test_a_parallel_ingest_opens_the_index_before_the_first_result_comes(tmp_path, forms, monkeypatch):
    """The writer starts Chroma (its import and the collection, ~0.7 s of CPU) on a thread while the workers
    read, not in the first batch's write; the index it opened is the one the ingest writes to."""
    from retrieval.index import HybridIndex
    from service.pipeline import Pipeline, _WorkerPool
    from service.settings import Settings

    events: list[str] = []
    warm, outcome = HybridIndex.warm, _WorkerPool.outcome
    monkeypatch.setattr(HybridIndex, "warm", lambda self: (events.append(f"warm {id(self)}"), warm(self))[1])
    monkeypatch.setattr(_WorkerPool, "outcome", lambda self, k, f: (events.append("result"), outcome(self, k, f))[1])
    with Pipeline(Settings(_env_file=None, data_dir=tmp_path / "data")) as pipe:
        results = list(pipe.iter_ingest(forms["a"][:3], workers=2))
        assert events[0] == f"warm {id(pipe._index)}" and events.count("result") == 3
    assert all(r.ok and not r.warnings for r in results), results


def test_the_writer_preloads_only_the_readers_of_the_files_it_was_given(tmp_path):
    """The preload runs before any worker starts: a library no file of the batch needs is not loaded."""
    code = ("import sys; from service.pipeline import _preload_reader; from service.settings import Settings; "
            "_preload_reader(Settings(_env_file=None, embedding_backend='hashed', data_dir=sys.argv[1]), "
            "{'.pdf', '.txt'}); print(*(m in sys.modules for m in ('pdfplumber', 'docx', 'openpyxl')))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.split() == ["True", "False", "False"]


def test_workers_go_on_reading_while_the_writer_holds_the_gil(tmp_path):
    """Chroma's upsert holds the GIL for its whole call (~0.4 s a batch), and then none of the writer's
    threads runs, the pool's own included. The workers must not need them meanwhile: files are queued ahead
    (READ_AHEAD), so the workers keep finishing files while the writer is stuck in one C call."""
    from service.pipeline import _WorkerPool
    from service.settings import Settings

    log, n = tmp_path / "done.log", 18
    pool = _WorkerPool(2, Settings(_env_file=None, data_dir=tmp_path / "data"), read=_note_done)
    try:
        for k in range(n):
            pool.add(k, log)
        first = pool.outcome(0, log)  # the workers are up and reading
        assert first[0] == "done"
        time.sleep(0.05)  # the pool's threads hand the queued files to the workers' pipe
        held_from = time.time()
        sum(range(120_000_000))  # one C call: the GIL is not released until it returns (~1.5 s)
        held_to = time.time()
        finished = [float(line) for line in log.read_text().split()]
        during = [t for t in finished if held_from < t < held_to]
        # without the read-ahead a worker had one more file queued at most: 3 files in all
        assert len(during) >= 8, (len(during), held_to - held_from)
        assert all(pool.outcome(k, log)[0] == "done" for k in range(1, n))
    finally:
        pool.close()


def test_a_run_stopped_early_stops_its_workers_instead_of_reading_what_was_queued(tmp_path, forms):
    """The workers have READ_AHEAD files queued: a run that stops (an interrupt, a consumer that went away)
    terminates them rather than waiting for files nobody will take; what was committed stays."""
    from service.pipeline import Pipeline, _WorkerPool
    from service.settings import Settings

    log, n = tmp_path / "done.log", 18
    pool = _WorkerPool(2, Settings(_env_file=None, data_dir=tmp_path / "data"), read=_note_done)
    for k in range(n):
        pool.add(k, log)
    assert pool.outcome(0, log)[0] == "done"
    processes = list(pool.pool._processes.values())
    pool.close(abandon=True)
    assert all(not p.is_alive() for p in processes)
    time.sleep(0.3)
    assert len(log.read_text().split()) < n - 4  # most queued files were never read

    # a consumer that stops after the first result: the pool is abandoned, the store keeps that document
    with Pipeline(Settings(_env_file=None, data_dir=tmp_path / "data2")) as pipe:
        run = pipe.iter_ingest(forms["a"], workers=2)
        first = next(run)
        run.close()
        assert first.ok and pipe.store.has_document(first.doc_id)


def test_a_workers_result_comes_through_a_spool_file_that_is_removed(tmp_path, forms):
    """A worker leaves its result (~100-300 KB, vectors mostly) in a file of the pool's spool directory and
    sends its name, so it never waits for the writer to empty the result pipe; the writer reads it back,
    removes the file, and the directory goes when the pool closes. A result that cannot be written goes
    through the pipe; one that cannot be read back fails that file only."""
    import service.pipeline as pl
    from service.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    pool = pl._WorkerPool(2, settings)
    try:
        pool.add(0, forms["a"][0])
        pool.add(1, forms["a"][1])
        spool = Path(pool.spool)
        assert spool.is_dir()
        got = pool.outcome(0, forms["a"][0])
        assert isinstance(got, pl.Prepared) and got.doc.filename == forms["a"][0].name
        assert got.extraction is not None and got.extraction.projects
        assert isinstance(pool.outcome(1, forms["a"][1]), pl.Prepared)
        assert list(spool.iterdir()) == []  # read back and removed
    finally:
        pool.close()
    assert not spool.exists()

    # in a worker's stead: the result written, read back equal, its file gone
    prepared = pl.Prepared(*got[:4])
    saved = pl._WORKER_SPOOL
    try:
        pl._WORKER_SPOOL = str(tmp_path)
        spooled = pl._spool_result(prepared)
        assert isinstance(spooled, pl._Spooled) and Path(spooled.path).parent == tmp_path
        back = pl._unspool(spooled)
        assert isinstance(back, pl.Prepared) and back is not prepared
        assert (back.doc, back.extraction, back.findings) == (prepared.doc, prepared.extraction, prepared.findings)
        assert not Path(spooled.path).exists()
        assert pl._spool_result(("bad_file", "msg")) == ("bad_file", "msg")  # failures go as they are
        pl._WORKER_SPOOL = str(tmp_path / "missing")  # cannot be written: through the pipe
        assert pl._spool_result(prepared) is prepared
    finally:
        pl._WORKER_SPOOL = saved
    code, message = pl._unspool(pl._Spooled(str(tmp_path / "gone.pickle")))
    assert code == "internal_error" and "read back" in message


def _note_done(path: str, settings) -> tuple[str, str]:
    time.sleep(0.15)
    with open(path, "a") as fh:
        fh.write(f"{time.time()}\n")
    return ("done", path)


def _echo(path: str, settings) -> tuple[str, str]:
    return ("read", path)
