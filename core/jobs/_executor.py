"""Where a job's heavy work runs: here (the default) or on a Ray cluster, and where a run actually ran.

The embedded default never imports Ray. A job always starts the same way (:func:`core.jobs.submit` starts a local
worker process, or the CLI runs it in-process); the *executor* decides where that worker sends its heavy steps:

* ``local``: the worker trains in its own process, as it always has;
* ``ray``: the worker becomes a Ray driver and ships the heavy step (training one model, each reference model of an
  audit, data-parallel training) to the cluster, streaming per-epoch metrics back into the same run store.

Ray is chosen when ``RISKBOARD_EXECUTOR=ray`` or, with ``RISKBOARD_EXECUTOR`` unset, when ``RAY_ADDRESS`` is set
(Ray's own variable for "use this cluster"). ``RISKBOARD_EXECUTOR=local`` keeps work here even with ``RAY_ADDRESS``
set. The choice is read when a job runs (cheap; nothing imported), so tests and the CLI can change it freely.

Each step's outcome is funnelled through :func:`run_step` and :func:`map_steps`: the same function, the same
arguments, the same results on either executor, so a job's numbers do not depend on where it ran.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import ConfigError

EXECUTOR_ENV = "RISKBOARD_EXECUTOR"
RAY_ADDRESS_ENV = "RAY_ADDRESS"
LOCAL, RAY = "local", "ray"
EXECUTORS = (LOCAL, RAY)
PLACEMENT_FILE = "placement.json"
BAD_EXECUTOR = "{env}={value!r} is not one of {choices}; unset it to train here, or set RAY_ADDRESS to use a cluster."
RAY_MISSING = ("this job is set to run on Ray ({why}), but Ray is not installed; install the extra with "
               "`pip install -r requirements-ray.txt`, or unset {env} and RAY_ADDRESS to train here.")

#: ``emit(event)``: a step reports progress (an epoch, where it runs) to the job that started it
Emit = Callable[[Mapping[str, Any]], None]
StopCheck = Callable[[], bool]


def executor_name(environ: Mapping[str, str] | None = None) -> str:
    """``"ray"`` or ``"local"`` from ``RISKBOARD_EXECUTOR`` / ``RAY_ADDRESS`` (see the module docstring)."""
    env = os.environ if environ is None else environ
    value = env.get(EXECUTOR_ENV, "").strip().lower()
    if value:
        if value not in EXECUTORS:
            raise ConfigError(BAD_EXECUTOR.format(env=EXECUTOR_ENV, value=value, choices=", ".join(EXECUTORS)))
        return value
    return RAY if env.get(RAY_ADDRESS_ENV, "").strip() else LOCAL


def executor_caption(environ: Mapping[str, str] | None = None) -> str | None:
    """What the Train page says above its form when jobs go to Ray (None when they run here)."""
    env = os.environ if environ is None else environ
    if executor_name(env) != RAY:
        return None
    address = env.get(RAY_ADDRESS_ENV, "").strip()
    where = f"the Ray cluster at {address}" if address else "a private Ray instance on this machine"
    return (f"Training runs on {where}; each run's node and device are chosen there (a GPU when the cluster has "
            "one) and shown with the run.")


def ray_installed() -> bool:
    """True when the Ray extra is installed (looked up without importing it)."""
    return importlib.util.find_spec("ray") is not None


def require_ray(environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`ConfigError` saying how to install Ray when the executor is Ray and Ray is missing."""
    env = os.environ if environ is None else environ
    if not ray_installed():
        why = f"{EXECUTOR_ENV}=ray" if env.get(EXECUTOR_ENV, "").strip() else "RAY_ADDRESS is set"
        raise ConfigError(RAY_MISSING.format(why=why, env=EXECUTOR_ENV))


@dataclass(frozen=True)
class Placement:
    """Where a run's work ran: the executor, the Ray node (address and host name) and the device, and how many
    data-parallel workers trained it (1 for one process)."""

    executor: str = LOCAL
    node: str | None = None
    node_ip: str | None = None
    device: str | None = None
    workers: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Placement:
        known = {k: data[k] for k in ("executor", "node", "node_ip", "device", "workers") if k in data}
        return cls(**known)

    def describe(self) -> str:
        """One line for the Train page and the CLI: "here, on cpu" or "Ray node 10.0.0.5 (gpu-2), cuda, 2 workers"."""
        device = self.device or "device not known yet"
        if self.executor != RAY:
            return f"ran here (local worker process), on {device}"
        node = self.node_ip or "a node not known yet"
        if self.node and self.node != self.node_ip:
            node += f" ({self.node})"
        workers = f", {self.workers} data-parallel workers" if self.workers > 1 else ""
        return f"Ray node {node}, on {device}{workers}"


def record_placement(store: Any, run_id: str, placement: Placement) -> None:
    """Write ``placement.json`` into the run's artifacts (atomic, listed in the manifest)."""
    store.artifacts(run_id).write_json(PLACEMENT_FILE, placement.to_dict())


def read_placement(store: Any, run_id: str) -> Placement:
    """The run's placement; a run without the file (every run before Ray existed, most local runs) ran here."""
    arts = store.artifacts(run_id)
    if not arts.has(PLACEMENT_FILE):
        return Placement()
    try:
        return Placement.from_dict(arts.read_json(PLACEMENT_FILE))
    except (TypeError, ValueError):
        return Placement()


def run_step(fn: Callable[..., Any], *args: Any, emit: Emit | None = None, should_stop: StopCheck | None = None,
             num_gpus: float | None = 0, **kwargs: Any) -> Any:
    """Call ``fn(*args, emit=..., should_stop=..., **kwargs)`` here or as one Ray task, and return its result.

    ``fn`` must be a module-level function (Ray ships it by reference). On Ray, array arguments travel through the
    object store, ``emit`` events stream back while the task runs, a true ``should_stop()`` cancels the task
    (``ray.cancel``), and a task that dies raises :class:`~core.errors.TrainingError` with the reason.
    ``num_gpus=None`` asks for a GPU when the cluster has one (training); it means nothing here.
    """
    emit = emit or _ignore
    if executor_name() == LOCAL:
        return fn(*args, emit=emit, should_stop=should_stop or _never, **kwargs)
    require_ray()
    from core.jobs import _ray

    return _ray.run_task(fn, args, kwargs, emit=emit, should_stop=should_stop or _never, num_gpus=num_gpus)


def map_steps(fn: Callable[..., Any], shared: Sequence[Any], items: Sequence[Any], *,
              should_stop: StopCheck | None = None, on_done: Callable[[int], None] | None = None) -> list[Any]:
    """``[fn(*shared, item, should_stop=...) for item in items]``, here in order or one Ray task per item; results
    in item order.

    ``shared`` arguments (big arrays) are put into the object store once and read by every task. ``on_done(n)``
    is called as results arrive, with how many are done. Here ``fn`` gets ``should_stop`` (so a cancel stops it
    mid-item); on Ray it gets None and a cancel reaches its tasks through ``ray.cancel``.
    """
    if executor_name() == LOCAL:
        out = []
        for item in items:
            if should_stop is not None and should_stop():
                from core.errors import RunCancelledError

                raise RunCancelledError("cancelled by the user")
            out.append(fn(*shared, item, should_stop=should_stop))
            if on_done is not None:
                on_done(len(out))
        return out
    require_ray()
    from core.jobs import _ray

    return _ray.map_tasks(fn, shared, items, should_stop=should_stop or _never, on_done=on_done)


def _ignore(event: Mapping[str, Any]) -> None:
    return None


def _never() -> bool:
    return False
