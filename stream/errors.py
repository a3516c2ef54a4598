"""Typed errors: one base class, one child per failure family (design principle 8)."""

from __future__ import annotations


class WatchError(Exception):
    """Base of every error the monitor raises on purpose."""


class ConfigError(WatchError):
    """A settings or policy file is invalid. The message names the file and the field."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        super().__init__(f"{source}: {field}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # picklable (an evaluation worker's bad policy reaches the parent as this error, not as a
        # broken process pool)
        return type(self), (self.source, self.field, self.message)


class DecodeError(WatchError):
    """An input message does not satisfy the input contract. `reason` is a short, bounded label."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.reason, self.detail)


class SinkUnavailable(WatchError):
    """A sink (Redis, a notifier) cannot take writes right now; the caller pauses and retries."""
