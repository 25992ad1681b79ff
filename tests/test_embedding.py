"""The offline hashed n-gram embedding, and the OpenAI-compatible backend over real HTTP (local server)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding import HashedNgramEmbedder, make_embedder
from service.errors import ConfigError
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def settings(tmp_path: Path, **kw) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, llm_api_key="", **kw)


def test_vectors_are_unit_length_and_sized():
    emb = HashedNgramEmbedder(dim=256)
    m = emb.embed_documents(["预算执行率93.76%", "满意度指标", "x"])
    assert m.shape == (3, 256) and m.dtype == np.float32
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    assert emb.embed_documents([]).shape == (0, 256)
    assert not emb.embed_query("").any()  # nothing to hash: the zero vector, never NaN


def test_related_text_is_closer():
    emb = HashedNgramEmbedder(dim=512)
    q = emb.embed_query("城乡医疗救助的预算执行率")
    near = emb.embed_query("城乡医疗救助项目预算执行率较低")
    far = emb.embed_query("住房公积金支出决算为54.94万元")
    assert q @ near > q @ far + 0.2


def test_full_width_and_spacing_do_not_matter():
    emb = HashedNgramEmbedder(dim=512)
    a = emb.embed_query("执行率 93.76%（调整后）")
    b = emb.embed_query("执行率93.76%(调整后)")
    assert float(a @ b) > 0.999


def test_numbers_stay_whole():
    emb = HashedNgramEmbedder(dim=1024)
    a, b, c = (emb.embed_query(t) for t in ("执行率93.76%", "执行率93.67%", "执行率93.76%"))
    assert float(a @ c) > 0.999 and float(a @ b) < 0.97


def test_stable_across_processes():
    """Persisted vectors must not depend on PYTHONHASHSEED (Python's hash() is salted per process)."""
    code = ("import sys; sys.path.insert(0, %r); from retrieval.embedding import HashedNgramEmbedder; "
            "v = HashedNgramEmbedder(128).embed_query('绩效自评 score 2020'); print(','.join('%%.6f' %% x for x in v))"
            % str(ROOT))
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1
    here = HashedNgramEmbedder(128).embed_query("绩效自评 score 2020")
    assert np.allclose(np.array([float(x) for x in outs.pop().split(",")]), here, atol=1e-6)


def test_signature_names_what_changes_vectors():
    a, b = HashedNgramEmbedder(256).signature(), HashedNgramEmbedder(512).signature()
    assert a != b and a["backend"] == "hashed" and b["dim"] == 512
    assert HashedNgramEmbedder(512, ngram_range=(1, 2)).signature() != b


def test_retrieval_refuses_to_build_network_backends(tmp_path):
    with pytest.raises(ConfigError):
        make_embedder(settings(tmp_path, embedding_backend="openai"))


# ---------------------------------------------------------------------------------------------------------
# OpenAI-compatible backend


@pytest.fixture(scope="module")
def server():
    import llm_server
    with llm_server.LLMReplayServer() as srv:
        yield srv


def openai_settings(tmp_path, server) -> Settings:
    return settings(tmp_path, embedding_backend="openai", embedding_base_url=server.base_url,
                    embedding_model="replay-embed", llm_timeout_s=5.0, llm_max_retries=0)


def test_openai_backend_over_http(tmp_path, server):
    from service.embeddings import OpenAIEmbedder, make_embedder as service_embedder

    emb = service_embedder(openai_settings(tmp_path, server))
    assert isinstance(emb, OpenAIEmbedder)
    texts = [f"第{i}段 预算执行率" for i in range(70)]  # more than one batch
    m = emb.embed_documents(texts)
    assert m.shape == (70, server.embedding_dim)
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    assert np.allclose(emb.embed_query(texts[3]), m[3], atol=1e-5)  # same text, same vector, batch order kept
    calls = [r for r in server.requests if r.path == "/v1/embeddings"]
    assert calls and all(r.body["model"] == "replay-embed" for r in calls)
    assert emb.signature() == {"backend": "openai", "model": "replay-embed"}


def test_openai_backend_indexes_and_searches(tmp_path, server):
    from retrieval.index import HybridIndex, collection_name
    from retrieval.loaders import load_path
    from service.embeddings import open_index

    s = openai_settings(tmp_path, server)
    index = open_index(s)
    assert index.name != collection_name(settings(tmp_path), HashedNgramEmbedder(512))
    doc = load_path(ROOT / "corpus" / "rendered" / "txt" / "001_shangjie_pension_subsidy.txt", max_bytes=10**7)
    assert index.upsert_document(doc).changed
    hits = index.search("城乡居民基本养老保险费财政补助资金自评总得分", k=5)
    assert hits and all(h.chunk.doc_id == doc.doc_id for h in hits)
    assert isinstance(index, HybridIndex)


def test_openai_backend_errors_name_the_endpoint(tmp_path):
    from service.embeddings import OpenAIEmbedder
    from service.errors import LLMError

    s = settings(tmp_path, embedding_backend="openai", embedding_base_url="http://127.0.0.1:9/v1",
                 embedding_model="m", llm_timeout_s=1.0, llm_max_retries=0)
    with pytest.raises(LLMError) as err:
        OpenAIEmbedder(s).embed_query("x")
    assert "127.0.0.1:9" in str(err.value)
    with pytest.raises(ConfigError):
        OpenAIEmbedder(settings(tmp_path, embedding_backend="openai"))


def test_batched_embedding_equals_one_by_one_on_real_chunks():
    """Each row of a batch (one vectorised pass over NUL-separated texts) must equal the text embedded on
    its own, as a query is: an n-gram or a count leaking across texts would put documents and queries in
    different spaces."""
    from pathlib import Path

    import numpy as np

    from retrieval.embedding import HashedNgramEmbedder

    root = Path(__file__).resolve().parent.parent
    lines = (root / "corpus" / "rendered" / "txt" / "004_zhongyuan_medsec_accounts.txt").read_text(encoding="utf-8").splitlines()
    texts = [ln for ln in lines if ln.strip()][:400] + ["", "  ", "a", "93.76% 资金执行 1 0 2 .84"]
    emb = HashedNgramEmbedder(dim=512)
    batch = emb.embed_documents(texts)
    single = np.vstack([emb.embed_query(t) for t in texts])
    assert batch.shape == single.shape
    assert np.allclose(batch, single, atol=1e-6)
