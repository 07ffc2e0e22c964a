"""Start-up work for a command that is about to train: done on a thread while the main thread reads the table.

``python -m core train`` spends seconds importing torch, torch's compiler stack (built with the first optimiser),
scikit-learn and scipy, and (on a GPU) creating the CUDA context. Imports run Python code and hold the GIL, but the
main thread meanwhile reads, hashes and stores the table in Arrow and numpy code that releases it, so the two
overlap on a machine with two or more cores. This module imports nothing heavy itself: the thread does.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)


def warm_up_in_background(*modules: str) -> threading.Thread:
    """Import ``modules`` and then warm torch on the run's device (:func:`core.device.warm_up_torch`) on a daemon
    thread; join it before the process exits. A failure there is not the run's: the run meets (and reports) the
    same import or device problem itself, so it is only logged at debug level."""

    def quietly() -> None:
        try:
            for name in modules:
                importlib.import_module(name)
            from core.device import warm_up_torch

            warm_up_torch()
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.debug("warm-up skipped: %s", type(exc).__name__)

    thread = threading.Thread(target=quietly, name="warm-up", daemon=True)
    thread.start()
    return thread
