"""core must stay importable and usable without streamlit: pages depend on core, never the reverse."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_importing_every_core_module_does_not_import_streamlit():
    code = (
        "import importlib, pkgutil, sys, core\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'core.') if not m.name.endswith('__main__')]\n"
        "assert len(names) > 10, names\n"
        "for name in names: importlib.import_module(name)\n"
        "assert 'streamlit' not in sys.modules, [m for m in sys.modules if m.startswith('streamlit')]\n"
        "print(len(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 10
