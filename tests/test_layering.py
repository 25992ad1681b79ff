"""Layering, enforced: the pure parts never import the edges (web framework, LLM clients, the store).
A static read of the imports, so it fails the moment someone adds one, whether or not the line runs."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EDGES = ("fastapi", "starlette", "uvicorn", "openai", "langchain", "langchain_core", "langchain_openai",
         "sqlalchemy", "service.store", "service.api", "service.pipeline", "service.llm")
PURE = {
    "retrieval (except the index edge)": [p for p in (ROOT / "retrieval").rglob("*.py") if p.name != "index.py"],
    "service.checks": list((ROOT / "service" / "checks").rglob("*.py")),
    "service.accounts": list((ROOT / "service" / "accounts").rglob("*.py")),
    # llm_chain and llm_backend are the model edge; llm_form (what is sent, verification, merging) stays pure
    "service.extraction (rules)": [p for p in (ROOT / "service" / "extraction").rglob("*.py")
                                   if p.name not in ("llm_chain.py", "llm_backend.py")],
    "service.qa (structured, names, intents, extractive, citations)": [
        ROOT / "service" / "qa" / n for n in ("structured.py", "names.py", "intents.py", "extractive.py", "citations.py")],
}


def imported_modules(path: Path) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
    return mods


@pytest.mark.parametrize("layer", sorted(PURE))
def test_pure_layers_do_not_import_edges(layer):
    files = PURE[layer]
    assert files, layer
    offenders = [f"{p.relative_to(ROOT)} imports {m}" for p in files for m in sorted(imported_modules(p))
                 if any(m == e or m.startswith(e + ".") for e in EDGES)]
    assert not offenders, offenders


def test_retrieval_index_stays_off_llm_clients():
    mods = imported_modules(ROOT / "retrieval" / "index.py")
    assert not [m for m in mods if m.split(".")[0] in ("openai", "langchain", "langchain_openai", "fastapi")]
