"""`jixiao projects`: extracted project evaluations with their key figures."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

import typer

from service.commands._common import cli_settings, one_line_errors, short_id
from service.store import Store


def _num(value: Decimal | None, places: int | None = None) -> str:
    if value is None:
        return "-"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    return f"{value:f}"


def projects(
    doc: Annotated[str | None, typer.Option("--doc", "-d", help="Only this document (id, prefix, file name).")] = None,
    year: Annotated[int | None, typer.Option(help="Only this year.")] = None,
    grade: Annotated[str | None, typer.Option(help="Only this reported grade (优, 良, 中, 差).")] = None,
    below: Annotated[float | None, typer.Option(help="Only execution rate below this percentage.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON array on stdout (full evaluations).")] = False,
) -> None:
    """List projects: budget and executed (in the report's unit), execution rate %, total, grade, findings."""
    with one_line_errors(), Store(cli_settings()) as store:
        doc_id = store.get_document(doc).doc_id if doc else None
        rows = store.list_projects(doc_id=doc_id, year=year, grade=grade, execution_below=below)
        if json_out:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=1))
            return
        if not rows:
            typer.echo("no projects match", err=True)
            return
        typer.echo(f"{'id':>4}  {'doc':<12}  {'year':<4}  {'budget':>12}  {'executed':>12}  {'rate%':>7}  "
                   f"{'total':>6}  {'grade':<5}  {'find':>4}  project")
        for r in rows:
            budget = f"{_num(r.adjusted_budget)}{r.amount_unit or ''}" if r.adjusted_budget is not None else "-"
            executed = f"{_num(r.executed)}{r.amount_unit or ''}" if r.executed is not None else "-"
            typer.echo(f"{r.id:>4}  {short_id(r.doc_id):<12}  {r.year or '-':<4}  {budget:>12}  {executed:>12}  "
                       f"{_num(r.execution_rate, 2):>7}  {_num(r.reported_total):>6}  {r.reported_grade or '-':<5}  "
                       f"{r.findings:>4}  {r.name}")


def register(app: typer.Typer) -> None:
    app.command("projects")(projects)
