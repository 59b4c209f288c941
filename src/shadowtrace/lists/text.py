"""Open list files as text with a clear error for the wrong encoding."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shadowtrace.errors import InputError


@contextmanager
def open_text(path: Path, encoding: str | None = None) -> Iterator[Iterator[str]]:
    """Yield the file's lines; a decoding failure names the line and suggests ``--encoding``."""
    name = encoding or "utf-8-sig"
    try:
        codecs.lookup(name)
    except LookupError as exc:
        raise InputError(f"unknown encoding {name!r}", where=str(path)) from exc
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", where=str(path)) from exc
    with handle:
        yield _decoded(handle, path, name)


def _decoded(handle: Iterator[bytes], path: Path, encoding: str) -> Iterator[str]:
    """Decode line by line, so an error names the exact line."""
    for number, raw in enumerate(handle, start=1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not {'UTF-8' if encoding == 'utf-8-sig' else encoding} text ({exc.reason} at byte {exc.start + 1} of the line)",
                where=f"{path}:{number}",
                hint="pass --encoding with the file's encoding (OFAC files are latin-1)",
            ) from exc
        if number == 1 and encoding == "utf-8-sig":
            text = text.removeprefix("\ufeff")
        yield text


def head(path: Path, encoding: str | None = None, lines: int = 5) -> list[str]:
    """The first lines of a file, for format sniffing."""
    out: list[str] = []
    with open_text(path, encoding) as text:
        for line in text:
            out.append(line)
            if len(out) >= lines:
                break
    return out
