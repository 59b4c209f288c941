"""`python -m shadowtrace`: the same as the `shadowtrace` command."""

from shadowtrace.cli import main

main()
