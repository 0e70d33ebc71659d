"""The `ascolto` command line: `main.py` holds the root app, one module per command group.

`ascolto.cli:main` is the console script; `ascolto.cli:app` the Typer app.
"""

from ascolto.cli.main import app, main

__all__ = ["app", "main"]
