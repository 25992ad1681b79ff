"""One exception tree for the product.

Every error carries a stable machine code (used by the CLI exit path and the HTTP error body) and the
input that failed, so a message can always say *what* was wrong with *which* file or question.
"""
from __future__ import annotations


class JixiaoError(Exception):
    """Base of every error jixiao raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, subject: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.subject = subject
        if code:
            self.code = code

    def __str__(self) -> str:  # one line, always names the subject when there is one
        return f"{self.subject}: {self.message}" if self.subject else self.message


class ConfigError(JixiaoError):
    code = "config_error"


class InputError(JixiaoError):
    """Bad user input: a file we cannot ingest, a malformed question, an unknown id."""

    code = "invalid_input"


class NotFoundError(InputError):
    code = "not_found"


class ExtractionError(JixiaoError):
    code = "extraction_error"


class LLMError(JixiaoError):
    code = "llm_error"
