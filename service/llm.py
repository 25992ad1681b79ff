"""The LLM edge: one factory that builds a LangChain chat model from Settings, and the small interface the
rest of the code depends on so a caller (or a test) can pass its own model in.

Nothing here runs at import time: `langchain_openai` (about a second to import) is imported inside
`build_chat_model`, so the offline deterministic path never pays for it.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from service.errors import ConfigError
from service.settings import Settings

if TYPE_CHECKING:  # pragma: no cover - typing only
    from langchain_core.runnables import Runnable
    from langchain_openai import ChatOpenAI

# Sent when no key is configured. Local OpenAI-compatible servers ignore the key, but an empty key makes
# langchain-openai fall back to the OPENAI_API_KEY environment variable, which would send a key meant for
# one endpoint to another. A fixed placeholder keeps the request explicit.
NO_KEY_PLACEHOLDER = "sk-no-key-required"


@runtime_checkable
class StructuredChatModel(Protocol):
    """What the extraction chain needs from a chat model: LangChain's structured-output wrapper.

    `langchain_core` chat models (ChatOpenAI and friends) satisfy it; tests pass one built against the
    local replay server. `model_name`, when present, is stamped on records.
    """

    def with_structured_output(
        self, schema: Any, *, method: str = ..., include_raw: bool = ..., **kwargs: Any
    ) -> Runnable: ...


def validate_base_url(url: str | None) -> str:
    """Return the base URL without a trailing slash, or raise ConfigError saying what is wrong.

    The openai client appends `/chat/completions` to the base URL, so a URL without the `/v1` prefix
    reaches the wrong route and fails with a confusing 404 at the first call instead of at start-up.
    """
    if not url or not url.strip():
        raise ConfigError("no LLM base URL configured (set JIXIAO_LLM_BASE_URL)", subject="llm_base_url")
    cleaned = url.strip().rstrip("/")
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"LLM base URL must be an http(s) URL, got {url!r}", subject="llm_base_url")
    if not parts.path.endswith("/v1"):
        raise ConfigError(
            f"LLM base URL must end in /v1 (e.g. http://127.0.0.1:8080/v1), got {url!r}",
            subject="llm_base_url",
        )
    return cleaned


def few_shot_messages(prompt, *, schema_json: str, method: str, example_document=None, **values: str) -> list:
    """The message list every chain sends: the system message (static text and the format instructions for
    `method`), the prompt's few-shot pairs (each example's user turn with its document, then its output),
    then this call's user turn from `values`. `example_document(ex)` renders an example's document when it
    is not the example's input text as is."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    system = prompt.render_system() + "\n\n" + prompt.render_format_instructions(method, schema_json)
    messages: list = [SystemMessage(content=system)]
    for ex in prompt.examples:
        shown = example_document(ex) if example_document is not None else ex.input
        messages.append(HumanMessage(content=prompt.render_user(**ex.variables, document=shown)))
        messages.append(AIMessage(content=json.dumps(ex.output, ensure_ascii=False)))
    messages.append(HumanMessage(content=prompt.render_user(**values)))
    return messages


def build_chat_model(settings: Settings) -> ChatOpenAI:
    """Build a ChatOpenAI for any OpenAI-compatible endpoint from settings. Raises ConfigError."""
    if not settings.llm_model:
        raise ConfigError("no LLM model configured (set JIXIAO_LLM_MODEL)", subject="llm_model")
    base_url = validate_base_url(settings.llm_base_url)
    if settings.llm_timeout_s <= 0:
        raise ConfigError(f"llm_timeout_s must be positive, got {settings.llm_timeout_s}", subject="llm_timeout_s")
    if settings.llm_max_retries < 0:
        raise ConfigError(f"llm_max_retries must be >= 0, got {settings.llm_max_retries}", subject="llm_max_retries")

    from langchain_openai import ChatOpenAI  # deferred: heavy import, only needed when an LLM is used

    api_key = settings.llm_api_key.get_secret_value() or NO_KEY_PLACEHOLDER
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=base_url,
        api_key=api_key,
        timeout=settings.llm_timeout_s,
        # Transport retries (timeouts, 429, 5xx) are done by the openai client with its own backoff;
        # retries on invalid *output* are done by the extraction chain.
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
        # OpenAI-compatible servers implement /v1/chat/completions; the Responses API is OpenAI's own, and
        # langchain-openai switches to it automatically for some model names.
        use_responses_api=False,
    )


def model_name_of(llm: Any, settings: Settings | None = None) -> str | None:
    """The model name to stamp on records: the model's own, else the configured one."""
    for attr in ("model_name", "model"):
        value = getattr(llm, attr, None)
        if isinstance(value, str) and value:
            return value
    return settings.llm_model if settings else None


# ---------------------------------------------------------------------------------------------------
# Structured output with the one retry policy both chains follow (extraction and answers)


def describe_output_error(exc: BaseException) -> str:
    """The field-level messages of an invalid answer: what the model (and the stamp) need to hear."""
    from pydantic import ValidationError

    # langchain wraps the pydantic error (and the model's whole answer) in OutputParserException
    if not isinstance(exc, ValidationError) and isinstance(exc.__cause__, ValidationError):
        exc = exc.__cause__
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:6]]
        return f"ValidationError: {'; '.join(parts)}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def is_output_error(exc: BaseException) -> bool:
    # pydantic ValidationError, langchain OutputParserException and json.JSONDecodeError are all
    # ValueErrors. With method="json_schema" the openai client validates inside the HTTP call, so a
    # wrong-typed answer raises ValidationError from invoke() even with include_raw=True.
    return isinstance(exc, ValueError)


def _attempt_record(messages: list, out: Any) -> dict:
    """What one request cost: characters of message content sent and received, and the token counts the
    endpoint reported (None when the answer never reached us, e.g. a timeout)."""
    sent = sum(len(m.content) if isinstance(m.content, str) else len(str(m.content)) for m in messages)
    raw = out.get("raw") if isinstance(out, dict) else None
    received, usage = 0, getattr(raw, "usage_metadata", None) or {}
    if raw is not None:
        content = raw.content if isinstance(raw.content, str) else ""
        # a function call's arguments arrive parsed (tool_calls) rather than as content
        calls = getattr(raw, "tool_calls", None) or []
        received = len(content) + sum(len(json.dumps(c.get("args") or {}, ensure_ascii=False)) for c in calls)
    return {"chars_sent": sent, "chars_received": received, "prompt_tokens": usage.get("input_tokens"),
            "completion_tokens": usage.get("output_tokens")}


def invoke_structured(llm: StructuredChatModel, messages: list, schema: type, *, method: str, max_retries: int,
                      what: str = "output", record: list[dict] | None = None) -> tuple[Any | None, str | None, int]:
    """Ask for `schema`; returns (parsed, failure reason, attempts made). Transport errors (timeouts, 5xx)
    end at once — the openai client has already retried them; invalid output is retried up to
    `max_retries` times with a message saying what was wrong, the original messages unchanged.
    `record`, when given, gets one entry per request sent (characters and reported tokens)."""
    import logging

    from langchain_core.messages import HumanMessage
    from pydantic import ValidationError

    log = logging.getLogger("jixiao.llm")
    structured = llm.with_structured_output(schema, method=method, include_raw=True)
    attempts = 1 + max(0, max_retries)
    current = messages
    last_error = "no attempt made"
    for attempt in range(1, attempts + 1):
        try:
            out = structured.invoke(current)
        except Exception as exc:  # the LLM edge: anything the client raises becomes a fallback reason
            if record is not None:
                record.append(_attempt_record(current, None))
            if not is_output_error(exc):
                return None, f"llm call failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}", attempt
            last_error = describe_output_error(exc)
        else:
            if record is not None:
                record.append(_attempt_record(current, out))
            parsed = out.get("parsed") if isinstance(out, dict) else out
            error = out.get("parsing_error") if isinstance(out, dict) else None
            if error is not None:
                last_error = describe_output_error(error)
            elif parsed is None:
                invalid = getattr(out.get("raw") if isinstance(out, dict) else None, "invalid_tool_calls", None)
                if invalid:
                    detail = " ".join(str(invalid[0].get("error")).split())[:200]
                    last_error = f"tool call arguments are not valid JSON: {detail}"
                else:
                    last_error = "no structured output in the answer"
            else:
                try:
                    return (parsed if isinstance(parsed, schema) else schema.model_validate(parsed)), None, attempt
                except ValidationError as exc:
                    last_error = describe_output_error(exc)
        log.info("invalid LLM %s (attempt %d/%d): %s", what, attempt, attempts, last_error)
        current = [*messages, HumanMessage(
            content=f"上一次输出不符合规定结构（{last_error}）。请只按规定结构重新输出。"
                    f" The previous answer was invalid ({last_error}); answer again in the required structure only."
        )]
    return None, f"invalid output after {attempts} attempts: {last_error}", attempts
