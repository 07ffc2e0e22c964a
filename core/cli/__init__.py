"""Command line: ``python -m core SUBCOMMAND``. Every page action has a twin here that runs the same ``core`` code.

Contract: bad input exits with code 2 and one line starting ``error:`` on stderr, never a traceback; ``--json``
prints exactly one JSON object on stdout. Unexpected failures exit 1 with one ``error: internal error`` line
(set ``RISKBOARD_DEBUG=1`` to see the traceback).

Each command group is a module of this package with a ``register(subparsers)`` function; :data:`COMMAND_MODULES`
lists them in the order ``--help`` shows. A new command is a new module and one entry here; no command module
imports this package's root (shared helpers live in :mod:`core.cli._common`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from core.cli._common import Parser
from core.errors import RiskboardError

#: Command modules, each with ``register(subparsers)``; the order is the order of ``python -m core --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "core.cli.inspect",
    "core.cli.datasets",
    "core.cli.train",
    "core.cli.runs",
    "core.cli.explain",
    "core.cli.fairness",
    "core.cli.import_scores",
    "core.cli.import_model",
    "core.cli.mitigate",
    "core.cli.budget",
    "core.cli.audit",
    "core.cli.report",
    "core.cli.check",
    "core.cli.compare",
    "core.cli.users",
    "core.cli.log",
    "core.cli.keys",
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m core", description="Riskboard engine: inspect data, train and audit models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _warn_plaintext(args: argparse.Namespace) -> None:
    """With a key set, one ``warning:`` line on stderr while row-level files are still plaintext on disk."""
    keyed = os.environ.get("RISKBOARD_DATA_KEY") or os.environ.get("RISKBOARD_DATA_KEY_FILE")
    if args.command == "keys" or not keyed:
        return
    from core.cli._common import settings_home
    from core.data.encrypt_existing import plaintext_warning

    warning = plaintext_warning(settings_home())
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _warn_plaintext(args)
        return int(args.func(args) or 0)
    except RiskboardError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m core runs | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug, not a user error: one line unless debugging
        if os.environ.get("RISKBOARD_DEBUG"):
            traceback.print_exc()
        print(f"error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}); rerun with "
              "RISKBOARD_DEBUG=1 for details", file=sys.stderr)
        return 1


__all__ = ["COMMAND_MODULES", "build_parser", "main"]
