"""One exception root for everything a user can see.

Messages say what was wrong, where (file, line) and what to do about it.
"""

from __future__ import annotations


class ShadowtraceError(Exception):
    """Root of every error shadowtrace raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.user_message())

    def user_message(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class InputError(ShadowtraceError):
    """An input file cannot be read as any supported format."""


class StoreError(ShadowtraceError):
    """The DuckDB store is missing, newer than this version, or inconsistent."""


class ConfigError(ShadowtraceError):
    """A command-line option or configuration value is invalid."""
