"""`jixiao eval qa [--rendering pdf|txt|docx] [--format table|json] [--bench]`: the Q&A benchmark (eval/qa.py).

One rendering of the bundled corpus is ingested into a scratch data dir through the pipeline and every
question of eval/gold/qa.json is asked through service.qa.service.ask. Offline by default; --llm uses the
configured model for open questions, as `jixiao ask` does. With --docs DIR --gold FILE_OR_DIR: your own
documents and everyday-format questions (eval/README.md), ask vs the retrieval-only baseline, per split."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.commands import eval_app
from service.commands._common import cli_settings, one_line_errors


def _bench_questions(bench_mod, bench_file: list[Path] | None) -> list[dict]:
    """The --bench / --variants questions, checked before anything is ingested (a bad file is a usage error)."""
    try:
        return bench_mod.load_everyday(*(bench_file or [bench_mod.BENCH_PATH]))
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(f"--bench-file: {exc}") from exc


def eval_qa(
    rendering: Annotated[str, typer.Option("--rendering", help="Which rendering to ingest: pdf, txt or docx.")] = "pdf",
    fmt: Annotated[str, typer.Option("--format", help="table or json (json: metrics and per-question results).")] = "table",
    use_llm: Annotated[bool, typer.Option("--llm/--no-llm", help="Answer open questions with the configured model.")] = False,
    docs: Annotated[Path | None, typer.Option("--docs", help="Your own folder of documents (with --gold).")] = None,
    gold: Annotated[Path | None, typer.Option("--gold", help="With --docs: a Q&A gold file or folder (eval/README.md).")] = None,
    bench: Annotated[bool, typer.Option("--bench", help="The paraphrase benchmark (eval/gold/qa_bench.json) only: "
                                                         "correct per split and operation, citation support, refusal "
                                                         "P/R, paraphrase consistency, latency, retrieval-only baseline.")] = False,
    bench_file: Annotated[list[Path] | None, typer.Option(
        "--bench-file", help="With --bench: these benchmark files instead of eval/gold/qa_bench.json "
                             "(e.g. eval/gold/qa_bench_b.json, set B); repeat for several.")] = None,
    forms: Annotated[bool, typer.Option("--forms", help="Q&A on generated forms the Q&A never saw (eval/qa_forms.py): "
                                                         "templated questions in three wordings, gold from the generator.")] = False,
    variants: Annotated[bool, typer.Option("--variants", help="Surface-variant consistency (eval/qa_variants.py): every "
                                                             "--bench question bare and wrapped (请问…, …谢谢, Could you "
                                                             "tell me:), the same figures expected; no gold needed.")] = False,
    count: Annotated[int, typer.Option("--count", min=5, help="With --forms: how many forms.")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="With --forms: the generator's seed.")] = 7,
) -> None:
    """Structured accuracy, open-question passage recall, citation validity and unanswerable handling."""
    with one_line_errors():
        if fmt not in ("table", "json"):
            raise typer.BadParameter("--format must be table or json")
        if rendering not in ("pdf", "txt", "docx"):
            raise typer.BadParameter("--rendering must be pdf, txt or docx")
        from eval import qa as bench_mod

        settings = cli_settings()
        llm = None
        if use_llm:
            if not settings.llm_configured:
                raise typer.BadParameter("--llm needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL")
            from service.llm import build_chat_model

            llm = build_chat_model(settings)
        if (docs is None) != (gold is None):
            raise typer.BadParameter("--docs and --gold go together")
        if docs is not None:
            from eval.gold_format import GoldError

            try:
                report = bench_mod.run_docs(settings, docs=docs, gold=gold, llm=llm)
            except (GoldError, FileNotFoundError) as exc:
                raise typer.BadParameter(str(exc)) from exc
            table = bench_mod.format_docs_table
        elif forms:
            from eval import qa_forms

            report = qa_forms.run(settings, count=count, seed=seed, llm=llm)
            table = bench_mod.format_bench
        elif variants:
            from eval import qa_variants

            report = qa_variants.run(settings, _bench_questions(bench_mod, bench_file), rendering=rendering)
            table = qa_variants.format_table
        elif bench:
            report = bench_mod.run(settings, rendering=rendering, llm=llm, items=[],
                                   everyday=_bench_questions(bench_mod, bench_file))
            table = bench_mod.format_bench
        else:
            report = bench_mod.run(settings, rendering=rendering, llm=llm)
            table = bench_mod.format_table
        if fmt == "json":
            typer.echo(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        else:
            typer.echo(table(report))


def register(app: typer.Typer) -> None:  # noqa: ARG001 - `jixiao eval …` commands hang off eval_app
    eval_app.command("qa")(eval_qa)
