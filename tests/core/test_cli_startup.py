"""The command line starts fast: ``--help`` and ``runs`` import only what they need (speed itself lives in bench/).

Each check runs the command in a fresh interpreter and reports which heavy libraries ended up in ``sys.modules``;
a command module that imports torch, scikit-learn, shap or pandas at registration time fails it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.cli import build_parser
from tests.conftest import ROOT

HEAVY = ("torch", "sklearn", "shap", "pandas", "scipy", "plotly", "pyarrow")

_PROBE = """
import contextlib, io, json, sys
from core.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "heavy": sorted(m for m in HEAVY if m in sys.modules)}))
""".replace("HEAVY", repr(HEAVY))


def _imported_by(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [("--help",), ("runs",), ("runs", "--json")])
def test_light_commands_import_no_heavy_library(args):
    result = _imported_by(*args)
    assert result == {"code": 0, "heavy": []}


def test_probe_sees_a_heavy_import():
    """The probe itself can fail: a help page that needs its command's module shows the import."""
    result = _imported_by("explain", "--help")  # resolving the --method choices imports core.explain (torch)
    assert "torch" in result["heavy"] and result["code"] == 0


def test_lazy_choices_check_and_list_values(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["check", "r1", "--disparity-metric", "nope"])
    assert exc.value.code == 2
    assert "equalized_odds_difference" in capsys.readouterr().err
    args = parser.parse_args(["explain", "r1", "--method", "linear-exact"])
    assert args.method == "linear-exact"
    from core.explain import METHODS
    from core.report import DISPARITY_METRICS

    check = next(a for a in parser._subparsers._group_actions[0].choices["check"]._actions
                 if a.dest == "disparity_metric")
    assert list(check.choices) == list(DISPARITY_METRICS)
    explain = next(a for a in parser._subparsers._group_actions[0].choices["explain"]._actions
                   if a.dest == "method")
    assert tuple(explain.choices) == METHODS
