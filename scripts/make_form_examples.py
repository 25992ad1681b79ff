"""Write the few-shot examples of prompts/extract_form.toml from the form generator.

    .venv/bin/python scripts/make_form_examples.py            # rewrite the examples in place
    .venv/bin/python scripts/make_form_examples.py --check    # exit 1 if the file differs from what it would write

Each example is one generated form (family, seed, index: deterministic), flattened to text as the generator
flattens it, loaded by the text loader and rendered exactly as a model sees a unit; its output is the
scripted oracle's answer from the form's gold (eval/llm_oracle.py), so every cited value is real form text.
The examples come from tuning families only: the held-out families stay unseen by the prompt too.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.forms import make_form  # noqa: E402
from eval.forms.render import render  # noqa: E402
from eval.llm_oracle import oracle_answer  # noqa: E402
from retrieval.loaders.text import load_text  # noqa: E402
from retrieval.types import LoadedDocument  # noqa: E402
from service.prompts import render_lines  # noqa: E402

PROMPT = ROOT / "prompts" / "extract_form.toml"
MARKER = "# --- examples (written by scripts/make_form_examples.py; do not edit by hand) ---"
# (family, seed, index): a national form flattened with TABs, and a split-target form copied one cell per
# line (operator and unit in
# their own columns) — the two ways a target is printed, and the two shapes a table takes in text
EXAMPLES = (("national", 7, 11), ("split_target", 7, 0))


def source_name(family: str, seed: int, index: int) -> str:
    return f"eval.forms:{family}:{seed}:{index}"


def example_document(family: str, seed: int, index: int) -> tuple[LoadedDocument, dict]:
    """The generated form as the text loader reads it, and its gold."""
    _, _, made, flatten = make_form(index, seed, family, tables=False)  # a form alone, as the examples were made
    data = render(made["sheets"], "txt", flatten)
    doc = LoadedDocument(filename=f"{family}-{seed}-{index}.txt", kind="txt", sha256=hashlib.sha256(data).hexdigest(),
                         size_bytes=len(data), pages=load_text(data))
    return doc, made["gold"]


def _toml_str(text: str) -> str:
    assert "'''" not in text
    return "'''\n" + text + "\n'''"


def examples_toml() -> str:
    out = [MARKER]
    for family, seed, index in EXAMPLES:
        doc, gold = example_document(family, seed, index)
        rendered = render_lines(doc.iter_lines())
        answer = oracle_answer([gold], rendered)
        out += ["", "[[examples]]", f'name = "generated-{family}-{seed}-{index}"',
                f'source = "{source_name(family, seed, index)}"', 'variables = { part = "1/1" }',
                f"input = {_toml_str(rendered)}", f"output = {_toml_str(json.dumps(answer, ensure_ascii=False))}"]
    return "\n".join(out) + "\n"


def main() -> int:
    text = PROMPT.read_text(encoding="utf-8")
    head = text.split(MARKER)[0].rstrip("\n") + "\n\n"
    new = head + examples_toml()
    if "--check" in sys.argv:
        return 0 if new == text else 1
    PROMPT.write_text(new, encoding="utf-8")
    print(f"wrote {len(EXAMPLES)} examples to {PROMPT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
