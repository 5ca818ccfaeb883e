"""The `kyb` command line. Stage names and help text come from the topology; each module holds
the commands of one concern and registers them on the shared app, in the order `kyb --help`
lists them."""

from __future__ import annotations

import sys
from importlib import import_module

from pipeline.app.cli.common import app

for _module in ("running", "reviewing", "accounts", "operations"):
    import_module(f"{__name__}.{_module}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
