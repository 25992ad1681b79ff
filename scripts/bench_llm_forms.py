"""Characters sent per form through the LLM backends, measured on a generated benchmark through the local
OpenAI-compatible test server (tests/llm_server.py) answering as the scripted oracle (eval/llm_oracle.py).

    .venv/bin/python scripts/bench_llm_forms.py [--count 50] [--seed 2026] [--formats txt] [--backend llm]
                                                [--method json_schema] [--chunk-chars 12000] [--disguise]
                                                [--json]

Prints `jixiao eval forms`' figures for the rules and the model backend side by side, and what the calls
cost. The server counts prompt tokens as characters (it has no tokenizer), so "prompt tokens reported" equals
the characters of message content sent; a real endpoint reports its own tokenizer's count (for Chinese text
typically fewer tokens than characters). The oracle cites the gold values it can find in each request's lines,
so the model backend's scores here are an upper bound that measures the chain (chunking, verification,
merging), not a model's reading.

--disguise rewrites every text form with header words and labels no rule knows (eval/llm_oracle.py), keeping
its figures and names: the forms no rule anticipated, where `auto` has to send what the rules could not read.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from eval.forms import generate  # noqa: E402
from eval.llm_oracle import disguise, document_of, oracle_answer  # noqa: E402
from llm_server import LLMReplayServer, respond  # noqa: E402
from service.commands.eval_forms import evaluate, format_side_by_side  # noqa: E402
from service.settings import Settings  # noqa: E402


def oracle_server(golds: list[dict]) -> LLMReplayServer:
    def answer(body: dict) -> dict:
        user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        if user.startswith("第"):  # the form prompt's user template
            return oracle_answer(golds, document_of(user))
        return {}  # the narrative prompt (auto backend): nothing read

    srv = LLMReplayServer(fixtures_dir=None)
    srv.script("<document>", respond(answer))
    return srv


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--formats", default="txt")
    ap.add_argument("--backend", default="llm", choices=["llm", "auto"])
    ap.add_argument("--method", default="json_schema", choices=["json_schema", "function_calling", "json_mode"])
    ap.add_argument("--chunk-chars", type=int, default=12_000)
    ap.add_argument("--disguise", action="store_true", help="header words no rule knows (text formats only)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, count=args.count, seed=args.seed, formats=args.formats.split(","))
        if args.disguise:
            for path in folder.rglob("*.txt"):
                path.write_text(disguise(path.read_text(encoding="utf-8")), encoding="utf-8")
        golds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "gold").glob("*.json"))]
        with oracle_server(golds) as srv:
            settings = Settings(llm_base_url=srv.base_url, llm_model="oracle", llm_structured_method=args.method,
                                llm_max_chunk_chars=args.chunk_chars, _env_file=None)
            rules, _ = evaluate(folder, "rules")
            other, _ = evaluate(folder, args.backend, settings=settings)
    if args.json:
        print(json.dumps({"rules": rules, args.backend: other}, ensure_ascii=False, indent=1))
    else:
        print(f"{args.count} forms ({args.formats}{', disguised' if args.disguise else ''}), seed {args.seed}, "
              f"method {args.method}, "
              f"chunk {args.chunk_chars} chars; seconds rules {rules['seconds']} / {args.backend} {other['seconds']}")
        print(format_side_by_side(rules, other))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
