"""Prompts as versioned, validated data files (prompts/*.toml).

A prompt file holds an id, a version, a system text, a user template with named placeholders, format
instructions per structured-output method, and few-shot examples taken from the bundled seed reports.
Everything is checked when the file is loaded, so a typo in a placeholder fails at start-up, not as a
KeyError in the middle of a batch:

* every template is a `str.format` template whose fields are plain names (no `{0}`, `{a.b}`, `{x!r}`);
* the system text has no placeholders (document text never goes into the system message);
* the user template uses exactly the declared `variables`: unknown and unused placeholders are rejected;
* `format_instructions.json_mode` must carry `{schema}` (JSON mode sends no schema to the server);
* example outputs are JSON objects, validated against the output model when one is given.

How a document is shown to a model also lives here (`render_lines`), because examples are stored in that
form and `check_examples_against_sources` re-renders the seeds to prove every example line is real text
found at that page and line.
"""
from __future__ import annotations

import hashlib
import json
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retrieval.types import Line, LoadedDocument
from service.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"

CELL_DISPLAY_SEP = " | "
_MARKER = re.compile(r"^\[(\d+):(\d+)\] ?(.*)$")
_VERSION = re.compile(r"^\d+\.\d+(?:\.\d+)?$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REQUIRED_FORMATS = ("json_mode", "default")


class PromptError(ConfigError):
    code = "prompt_invalid"


# ---------------------------------------------------------------------------------------------------
# How document lines are shown to a model


def display_text(line: Line) -> str:
    """One line as the model sees it. Table cells are separated by ' | ' (a TAB inside a JSON string is
    error-prone for models); angle brackets become their full-width forms so document text can never
    close the <document> delimiter. Both are undone when a quote is verified: `normalize_text` maps
    full-width forms back, and ' | ' is mapped back to TAB."""
    if line.kind == "row" and line.cells is not None:
        text = CELL_DISPLAY_SEP.join(line.cells)
    else:
        text = line.text
    return text.replace("<", "\uff1c").replace(">", "\uff1e")


def render_lines(lines: Iterable[Line]) -> str:
    """Lines with their `[page:line]` markers, one per line, in document order."""
    return "\n".join(f"[{ln.page}:{ln.line_no}] {display_text(ln)}" for ln in lines)


def parse_rendered(text: str) -> list[tuple[int, int, str]]:
    """Inverse of `render_lines`: (page, line_no, displayed text) per non-empty line.
    Raises PromptError on a line without a marker."""
    out: list[tuple[int, int, str]] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        m = _MARKER.match(raw.strip())
        if not m:
            raise PromptError(f"line without a [page:line] marker: {raw[:60]!r}")
        out.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return out


# ---------------------------------------------------------------------------------------------------
# The prompt file


def template_fields(template: str) -> set[str]:
    """Named fields of a str.format template; raises PromptError for anything but plain names."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # unbalanced braces
        raise PromptError(f"bad template: {exc}") from exc
    fields: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _IDENT.match(name):
            raise PromptError(f"placeholder {{{name}}} is not a plain name")
        if spec or conversion:
            raise PromptError(f"placeholder {{{name}}} must not carry a format spec or conversion")
        fields.add(name)
    return fields


class FewShotExample(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    source: str = Field(description="Corpus stem of the seed the input lines come from.")
    variables: dict[str, str] = Field(default_factory=dict, description="User-template values besides {document}.")
    input: str = Field(description="Rendered lines, `[page:line] text`, exactly as render_lines shows them.")
    output: dict[str, Any]

    @field_validator("output", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"example output is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ValueError("example output must be a JSON object")
        return value

    @field_validator("input")
    @classmethod
    def _markers(cls, value: str) -> str:
        if not parse_rendered(value):
            raise ValueError("example input has no lines")
        return value

    def lines(self) -> list[tuple[int, int, str]]:
        return parse_rendered(self.input)


class PromptTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    version: str
    description: str
    variables: tuple[str, ...]
    system: str
    user: str
    format_instructions: dict[str, str]
    examples: tuple[FewShotExample, ...] = ()
    sha256: str = ""  # of the file bytes; set by the loader

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"version must look like 1.2 or 1.2.3, got {value!r}")
        return value

    def check_templates(self) -> None:
        """Placeholder rules (see module docstring). Raises PromptError."""
        if len(set(self.variables)) != len(self.variables):
            raise PromptError("duplicate names in variables", subject=self.id)
        if "document" not in self.variables:
            raise PromptError("the user template must take {document}", subject=self.id)
        if template_fields(self.system):
            raise PromptError("the system text must not have placeholders", subject=self.id)
        used = template_fields(self.user)
        unknown = sorted(used - set(self.variables))
        missing = sorted(set(self.variables) - used)
        if unknown:
            raise PromptError(f"unknown placeholders in user template: {unknown}", subject=self.id)
        if missing:
            raise PromptError(f"declared variables not used in user template: {missing}", subject=self.id)
        wanted = set(self.variables) - {"document"}
        for ex in self.examples:
            if set(ex.variables) != wanted:
                raise PromptError(f"example {ex.name!r} must give exactly {sorted(wanted)}, gives "
                                  f"{sorted(ex.variables)}", subject=self.id)
        for key in REQUIRED_FORMATS:
            if key not in self.format_instructions:
                raise PromptError(f"format_instructions.{key} is missing", subject=self.id)
        for key, text in self.format_instructions.items():
            fields = template_fields(text)
            if fields - {"schema"}:
                raise PromptError(f"unknown placeholders in format_instructions.{key}: {sorted(fields - {'schema'})}",
                                  subject=self.id)
            if key == "json_mode" and "schema" not in fields:
                raise PromptError("format_instructions.json_mode must include {schema}", subject=self.id)

    def render_system(self) -> str:
        return self.system.format()

    def render_user(self, **values: str) -> str:
        """Fill the user template. Values are inserted as data: str.format does not re-read them."""
        given, declared = set(values), set(self.variables)
        if given != declared:
            raise PromptError(
                f"render_user needs exactly {sorted(declared)}; missing {sorted(declared - given)}, "
                f"unknown {sorted(given - declared)}", subject=self.id,
            )
        return self.user.format(**values)

    def render_format_instructions(self, method: str, schema: str) -> str:
        template = self.format_instructions.get(method, self.format_instructions["default"])
        return template.format(schema=schema) if "schema" in template_fields(template) else template.format()

    def validate_examples(self, output_model: type[BaseModel]) -> None:
        for ex in self.examples:
            try:
                output_model.model_validate(ex.output)
            except ValidationError as exc:
                raise PromptError(f"example {ex.name!r} does not fit {output_model.__name__}: {exc}",
                                  subject=self.id) from exc


def load_prompt_file(path: Path, *, output_model: type[BaseModel] | None = None) -> PromptTemplate:
    """Load and validate one prompt file. Raises PromptError naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PromptError(f"cannot read prompt file: {exc}", subject=str(path)) from exc
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PromptError(f"not valid TOML: {exc}", subject=str(path)) from exc
    try:
        prompt = PromptTemplate.model_validate({**raw, "sha256": hashlib.sha256(data).hexdigest()})
    except ValidationError as exc:
        raise PromptError(f"invalid prompt file: {exc}", subject=str(path)) from exc
    if prompt.id != path.stem:
        raise PromptError(f"id {prompt.id!r} must equal the file name {path.stem!r}", subject=str(path))
    try:
        prompt.check_templates()
        if output_model is not None:
            prompt.validate_examples(output_model)
    except PromptError as exc:
        raise PromptError(exc.message, subject=str(path)) from exc
    return prompt


@lru_cache(maxsize=32)
def load_prompt(prompt_id: str, directory: Path | None = None,
                output_model: type[BaseModel] | None = None) -> PromptTemplate:
    """Load prompts/<prompt_id>.toml (cached: prompt files are part of the release, not live config)."""
    return load_prompt_file((directory or PROMPTS_DIR) / f"{prompt_id}.toml", output_model=output_model)


def check_examples_against_sources(prompt: PromptTemplate, sources: Mapping[str, LoadedDocument]) -> list[str]:
    """Every example line must be the text found at that page and line of its source report, rendered as
    the model would see it. Returns the problems (empty when all examples are real report text)."""
    problems: list[str] = []
    for ex in prompt.examples:
        doc = sources.get(ex.source)
        if doc is None:
            problems.append(f"{ex.name}: source {ex.source!r} not available")
            continue
        for page, line_no, text in ex.lines():
            if not (1 <= page <= len(doc.pages) and 1 <= line_no <= len(doc.pages[page - 1].lines)):
                problems.append(f"{ex.name}: {ex.source} has no line {page}:{line_no}")
                continue
            line = doc.line(page, line_no)
            if display_text(line) != text:
                problems.append(f"{ex.name}: {page}:{line_no} is {display_text(line)!r}, example has {text!r}")
    return problems
