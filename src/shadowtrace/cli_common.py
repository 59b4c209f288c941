"""What every command module shares: consoles, the error exit, common options."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from shadowtrace.errors import ShadowtraceError

# Piped output (make, CI logs) is not a terminal; give tables room instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 130)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 130)

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB store file (created if missing).")]


def fail(exc: ShadowtraceError) -> NoReturn:
    err_console.print(f"[red]error:[/red] {exc.user_message()}", highlight=False)
    raise typer.Exit(2)
