"""A local OpenAI-compatible server for tests: FastAPI + uvicorn in a background thread on 127.0.0.1.

It implements POST /v1/chat/completions and POST /v1/embeddings (and GET /v1/models), so the real
client stack — langchain-openai → openai → HTTP — is exercised without a model or the internet.

Chat answers are replayed, chosen by a *selector*: a substring of the request's own turn — the user
messages after the last assistant message, i.e. the unit's message plus any corrective message of a
retry (the project name line, or a marker the test put in the text; the longest matching selector
wins) — else the sha256 of that text (`by_hash`). Recorded answers for the seed units live in
tests/fixtures/llm/*.json; a test can also script a sequence of steps per selector, consumed one per
request (the last one repeats):

    answer(payload)          the payload as the model's answer, in the shape the request asked for:
                             response_format json_schema / json_object -> message.content;
                             tools + tool_choice -> a tool call whose arguments are the JSON
    invalid_json()           a truncated JSON text (what a model cut off by max_tokens returns)
    wrong_schema(payload)    well-formed JSON of the wrong shape (strings where objects/numbers belong)
    delay(seconds, payload)  answer after `seconds` (longer than the client timeout -> client times out)
    http_error(500)          an HTTP error with an OpenAI-style error body
    respond(fn)              fn(request body) -> payload, answered like answer(payload): for answers that
                             depend on the request (e.g. citing a source by the number the request gave it)
    tool_calls((name, args)…) an assistant turn calling tools (args a dict, or a raw string as sent)
    reply(text)              a plain assistant message (the final answer of a tool-calling conversation)
    turn(fn)                 fn(request body) -> the Step to play (e.g. a final answer built from tool results)

In a tool-calling conversation the turn after a tool call holds no user message; the selector is then
matched against the last user message (the question).

Every request is recorded (path, JSON body, headers, selector, shape) so tests can assert on what the
client sent. Embeddings are deterministic unit vectors derived from sha256 of each input, in float or
base64 encoding as asked (the openai client asks for base64 by default).

Run it by hand:  .venv/bin/python tests/llm_server.py  (prints the base URL; Ctrl-C to stop).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

FIXTURES_DIR = Path(__file__).parent / "fixtures" / "llm"


# ---------------------------------------------------------------------------------------------------
# Scripted steps


@dataclass(frozen=True)
class Step:
    kind: str  # answer | invalid_json | wrong_schema | delay | http_error | respond
    payload: Any = None
    seconds: float = 0.0
    status: int = 200


def answer(payload: dict) -> Step:
    return Step("answer", payload)


def invalid_json(text: str = '{"goals": {"text": "按时对此笔资金进行支付,确保了我区集体破产企业退') -> Step:
    return Step("invalid_json", text)


WRONG_SCHEMA_PAYLOAD = {
    "goals": "按时对此笔资金进行支付",  # a string where an object belongs
    "narrative_claims": "实际支付973万元",  # a string where a list belongs
    "reported_total": "九十九分",  # not a number
}


def wrong_schema(payload: dict | None = None) -> Step:
    return Step("wrong_schema", payload if payload is not None else WRONG_SCHEMA_PAYLOAD)


def delay(seconds: float, payload: dict | None = None) -> Step:
    return Step("delay", payload, seconds=seconds)


def http_error(status: int = 500) -> Step:
    return Step("http_error", status=status)


def respond(fn: Callable[[dict], dict]) -> Step:
    return Step("respond", fn)


def tool_calls(*calls: tuple[str, Any]) -> Step:
    """An assistant turn calling tools: each call is (name, arguments) — a dict, or a raw string sent as is
    (to script malformed arguments)."""
    return Step("tool_calls", [(name, args if isinstance(args, str) else json.dumps(args, ensure_ascii=False))
                               for name, args in calls])


def reply(text: str) -> Step:
    """A plain assistant message (a final answer in a tool-calling conversation)."""
    return Step("reply", text)


def turn(fn: Callable[[dict], Step]) -> Step:
    """fn(request body) -> the Step to play: for turns that depend on what the client sent (tool results)."""
    return Step("turn", fn)


@dataclass
class RecordedRequest:
    path: str
    body: dict
    headers: dict[str, str]
    selector: str | None = None
    shape: str | None = None

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    def message_text(self, role: str) -> list[str]:
        return [_content_text(m.get("content")) for m in self.messages if m.get("role") == role]


@dataclass
class _Script:
    steps: list[Step]
    calls: int = 0

    def next(self) -> Step:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        return step


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def request_shape(body: dict) -> str:
    """Which structured-output method the request used."""
    if body.get("tools"):
        return "function_calling"
    fmt = (body.get("response_format") or {}).get("type")
    return {"json_schema": "json_schema", "json_object": "json_mode"}.get(fmt, "text")


def deterministic_embedding(text: str, dim: int) -> list[float]:
    """A unit vector from sha256(text): same text, same vector, across runs and machines."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


# ---------------------------------------------------------------------------------------------------
# The server


class LLMReplayServer:
    def __init__(self, fixtures_dir: Path | None = FIXTURES_DIR, *, model: str = "replay-model",
                 embedding_dim: int = 64):
        self.model = model
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self.fixtures: dict[str, dict] = {}
        self.by_hash: dict[str, dict] = {}
        self._scripts: dict[str, _Script] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        if fixtures_dir is not None:
            self.load_fixtures(fixtures_dir)
        self.app = self._build_app()

    # -- configuration (called from the test thread) ------------------------------------------------

    def load_fixtures(self, directory: Path) -> None:
        for path in sorted(directory.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            self.fixtures[data["selector"]] = data["response"]

    def script(self, selector: str, *steps: Step | dict) -> None:
        """Replace what requests matching `selector` get; dict steps are answers."""
        if not steps:
            raise ValueError("script needs at least one step")
        with self._lock:
            self._scripts[selector] = _Script([s if isinstance(s, Step) else answer(s) for s in steps])

    def reset(self) -> None:
        """Forget recorded requests and scripts (fixtures stay)."""
        with self._lock:
            self.requests.clear()
            self._scripts.clear()

    def requests_for(self, selector: str, path: str = "/v1/chat/completions") -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.selector == selector and r.path == path]

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> LLMReplayServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # a free port chosen by the OS
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="llm-replay-server", daemon=True)
        self._stopping.clear()
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("LLM replay server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends scripted delays now instead of after uvicorn's graceful-shutdown timeout
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> LLMReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (event-loop thread) -------------------------------------------------------

    def _select(self, body: dict) -> tuple[str | None, Step | None]:
        # The request's own turn: the user messages after the last assistant message (few-shot pairs
        # come before it; a corrective message on a retry comes after the unit's message).
        messages = body.get("messages", [])
        start = max((i + 1 for i, m in enumerate(messages) if m.get("role") == "assistant"), default=0)
        last = "\n".join(_content_text(m.get("content")) for m in messages[start:] if m.get("role") == "user")
        if not last:  # a tool-calling turn: tool results follow the assistant; the user's question selects
            users = [m for m in messages if m.get("role") == "user"]
            last = _content_text(users[-1].get("content")) if users else ""
        with self._lock:
            for selector in sorted(self._scripts, key=len, reverse=True):
                if selector in last:
                    return selector, self._scripts[selector].next()
            for selector in sorted(self.fixtures, key=len, reverse=True):
                if selector in last:
                    return selector, answer(self.fixtures[selector])
            key = hashlib.sha256(last.encode()).hexdigest()
            if key in self.by_hash:
                return key, answer(self.by_hash[key])
        return None, None

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="jixiao LLM replay server")

        @app.get("/v1/models")
        async def models() -> dict:
            return {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "replay"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            body = await request.json()
            shape = request_shape(body)
            selector, step = self._select(body)
            with self._lock:
                self.requests.append(RecordedRequest("/v1/chat/completions", body, dict(request.headers),
                                                     selector, shape))
            if step is not None and step.kind == "turn":
                try:
                    step = step.payload(body)
                except Exception as exc:
                    return _error(400, f"replay: turn() raised {type(exc).__name__}: {exc}")
            if step is None:
                return _error(404, "replay: no recorded response matches this request")
            if step.kind in ("tool_calls", "reply"):
                return JSONResponse(self._chat_turn(body, step))
            if step.kind == "http_error":
                return _error(step.status, "replay: scripted server error")
            if step.kind == "delay":
                deadline = time.monotonic() + step.seconds
                while time.monotonic() < deadline and not self._stopping.is_set():
                    await asyncio.sleep(0.02)
            if step.kind == "invalid_json":
                text = step.payload
            elif step.kind == "respond":
                try:
                    text = json.dumps(step.payload(body), ensure_ascii=False)
                except Exception as exc:  # a broken test function should say so, not hang the client in retries
                    return _error(400, f"replay: respond() raised {type(exc).__name__}: {exc}")
            else:
                text = json.dumps(step.payload, ensure_ascii=False)
            return JSONResponse(self._completion(body, shape, text))

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                self.requests.append(RecordedRequest("/v1/embeddings", body, dict(request.headers)))
            inputs = body.get("input", [])
            if isinstance(inputs, str):
                inputs = [inputs]
            if not all(isinstance(t, str) for t in inputs):
                return _error(400, "replay: only text inputs are supported")
            dim = int(body.get("dimensions") or self.embedding_dim)
            data = []
            for i, text in enumerate(inputs):
                vec = deterministic_embedding(text, dim)
                if body.get("encoding_format") == "base64":
                    emb: Any = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
                else:
                    emb = vec
                data.append({"object": "embedding", "index": i, "embedding": emb})
            tokens = sum(len(t) for t in inputs)
            return JSONResponse({"object": "list", "data": data, "model": body.get("model", self.model),
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

        return app

    def _chat_turn(self, body: dict, step: Step) -> dict:
        n = len(self.requests)
        if step.kind == "tool_calls":
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_replay_{n}_{i}", "type": "function", "function": {"name": name, "arguments": args}}
                for i, (name, args) in enumerate(step.payload)]}
            finish, text = "tool_calls", json.dumps(step.payload)
        else:
            message, finish, text = {"role": "assistant", "content": step.payload}, "stop", step.payload
        return {"id": f"chatcmpl-replay-{n}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", self.model),
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": 1, "completion_tokens": len(text), "total_tokens": 1 + len(text)}}

    def _completion(self, body: dict, shape: str, text: str) -> dict:
        n = len(self.requests)
        if shape == "function_calling":
            choice = body.get("tool_choice")
            if isinstance(choice, dict):
                name = choice.get("function", {}).get("name")
            else:
                name = body["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": f"call_replay_{n}", "type": "function", "function": {"name": name, "arguments": text}}]}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": text}
            finish = "stop"
        prompt_chars = sum(len(_content_text(m.get("content"))) for m in body.get("messages", []))
        return {
            "id": f"chatcmpl-replay-{n}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt_chars, "completion_tokens": len(text),
                      "total_tokens": prompt_chars + len(text)},
        }


def _error(status: int, message: str) -> JSONResponse:
    # retry-after-ms keeps the openai client's backoff between retries short (it honours the header),
    # so tests that exercise transport retries stay fast.
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": None, "param": None}},
                        status_code=status, headers={"retry-after-ms": "10"})


if __name__ == "__main__":  # pragma: no cover - manual use
    with LLMReplayServer() as srv:
        print(f"replaying {len(srv.fixtures)} recorded answers at {srv.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
