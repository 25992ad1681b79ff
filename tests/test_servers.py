"""The same code path on servers: the store in PostgreSQL (JIXIAO_DATABASE_URL) and the vectors in a Chroma
server (JIXIAO_CHROMA_URL), both started here by the test. Ingest, search and ask run as the CLI runs them
(separate processes), so nothing is shared with the test process but the servers.

PostgreSQL is Debian's package (scripts/system_packages.sh installs it); a throwaway cluster is made with its
initdb in a temporary directory, listening on a free port on 127.0.0.1 only. initdb refuses to run as root:
as root, the cluster is made and run by the `postgres` system user the package creates.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TXT = ROOT / "corpus" / "rendered" / "txt"
PG_BIN = Path("/usr/lib/postgresql")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen | None, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline and (proc is None or proc.poll() is None), f"{what} did not start"
            time.sleep(0.3)


def _pg_bin() -> Path:
    versions = sorted((p for p in PG_BIN.glob("*/bin") if (p / "initdb").exists()), key=lambda p: p.parent.name)
    assert versions, "Debian's postgresql package is missing (scripts/system_packages.sh installs it)"
    return versions[-1]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    import tempfile

    bindir = _pg_bin()
    # not under pytest's per-user temporary root (mode 700): the postgres user must reach its own directory
    base = Path(tempfile.mkdtemp(prefix="jixiao-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8",
                    "--no-sync"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = _free_port()
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                    f"-k {sock} -p {port} -h 127.0.0.1 -c fsync=off", "start"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, None, "postgres")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chromadb package ships the `chroma` server command"
    port = _free_port()
    server = subprocess.Popen([chroma, "run", "--path", str(tmp_path_factory.mktemp("chroma")), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, server, "chroma server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def _cli(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    jixiao = Path(sys.executable).parent / "jixiao"
    return subprocess.run([str(jixiao), *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_ingest_search_and_ask_on_postgres_and_a_chroma_server(tmp_path, postgres, chroma_server):
    env = {**os.environ, "JIXIAO_DATA_DIR": str(tmp_path / "data"), "JIXIAO_DATABASE_URL": postgres,
           "JIXIAO_CHROMA_URL": chroma_server}
    folder = tmp_path / "in"
    folder.mkdir()
    for stem in ("001_shangjie_pension_subsidy", "003_gaoxin_hrss_selfeval"):
        shutil.copy(TXT / f"{stem}.txt", folder)
    r = _cli(env, "ingest", "--workers", "2", str(folder))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ingested") == 2 and "22 projects" in r.stdout
    # nothing of the store went to SQLite in the data dir: it is in PostgreSQL
    assert not list((tmp_path / "data").glob("*.sqlite3"))

    r = _cli(env, "search", "劳动监察专项资金 执行数")
    assert r.returncode == 0, r.stderr
    assert "003_gaoxin_hrss_selfeval" in r.stdout and "4.9745" in r.stdout

    r = _cli(env, "ask", "高新区人社局执行率低于60%的项目有哪些？")
    assert r.returncode == 0, r.stderr
    assert "创业扶持资金" in r.stdout and "52.73%" in r.stdout and "route: structured" in r.stderr
    # over the whole store: a ranking and a comparison of two columns, as SQL on PostgreSQL (service.qa.pushdown)
    r = _cli(env, "ask", "预算执行率最低的3个项目")
    assert r.returncode == 0 and "route: structured:rank" in r.stderr, r.stderr
    assert "就业专项资金（13.38%" in r.stdout and "17.14%" in r.stdout, r.stdout
    r = _cli(env, "ask", "哪些项目自评得分高于复核得分？")
    assert r.returncode == 0 and "共11个" in r.stdout and "就业专项资金（自评100分，复核91.34分）" in r.stdout, r.stdout
    r = _cli(env, "ask", "城乡居民基本养老保险费财政补助资金存在什么问题？")
    assert r.returncode == 0, r.stderr
    assert "001_shangjie_pension_subsidy" in r.stdout  # cited from the stored lines

    # a second ingest of the same files changes nothing, and a re-ask sees the same store
    r = _cli(env, "ingest", str(folder))
    assert r.returncode == 0 and "unchanged" in r.stdout, (r.stdout, r.stderr)
    r = _cli(env, "ask", "高新区人社局有几个项目？")
    assert r.returncode == 0 and "22" in r.stdout, r.stdout


def test_the_api_with_two_worker_processes_on_the_same_servers(tmp_path, postgres, chroma_server):
    """`jixiao serve --workers 2`: two processes answer from one PostgreSQL store and one Chroma server, and a
    document one of them stored is answered by both."""
    import httpx

    env = {**os.environ, "JIXIAO_DATA_DIR": str(tmp_path / "data"), "JIXIAO_DATABASE_URL": postgres,
           "JIXIAO_CHROMA_URL": chroma_server}
    r = _cli(env, "ingest", str(TXT / "001_shangjie_pension_subsidy.txt"))
    assert r.returncode == 0, r.stderr
    port = _free_port()
    jixiao = Path(sys.executable).parent / "jixiao"
    server = subprocess.Popen([str(jixiao), "serve", "--workers", "2", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, server, "jixiao serve")
        base = f"http://127.0.0.1:{port}"
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2, "uvicorn did not start two worker processes"
        answers = []
        with httpx.Client(timeout=120) as client:
            health = client.get(f"{base}/health")
            assert health.status_code == 200 and health.json()["database"] == "postgresql", health.text
            for _ in range(12):  # new connections each: the kernel spreads them over both processes
                resp = httpx.post(f"{base}/ask", json={"question": "城乡居民基本养老保险费财政补助资金执行率是多少？"},
                                  headers={"Cache-Control": "no-cache"}, timeout=120)
                assert resp.status_code == 200, resp.text
                answers.append(resp.json()["answer"])
        assert all("93.76%" in a for a in answers), answers[:2]
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
