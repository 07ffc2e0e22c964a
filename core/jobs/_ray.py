"""The Ray executor: connect once per process, run a step as a Ray task, fan a step out over many tasks.

Imported only when a job runs on Ray (:mod:`core.jobs._executor`), so the embedded path never imports Ray.

* **Connecting**: ``ray.init(address=RAY_ADDRESS)`` joins the operator's cluster; with no address (only
  ``RISKBOARD_EXECUTOR=ray``) a private single-machine Ray is started, always with ``include_dashboard=False``, so
  Riskboard never opens a dashboard or job server. The ``core`` package travels to the workers as a runtime-env
  ``py_modules`` entry (uploaded once per session, cached by its hash), so nodes need the Python packages of
  ``requirements.txt`` but not a copy of Riskboard. No secret is ever put into the runtime env or a task's
  arguments: a worker that needs the workspace's data key reads it from its own environment (see the README).
* **Events**: a small actor per task collects the events the step emits (epochs, where it runs); the driver drains
  it while it waits, so metrics reach the run store while the task runs, in order. ``emit`` waits for the actor
  (a round trip per epoch), so every event is there before the task's result is.
* **Cancel**: a true ``should_stop()`` on the driver sets the actor's stop flag (the step's own ``should_stop``
  sees it at the next batch) and calls ``ray.cancel`` on the task, which asks Ray to raise ``KeyboardInterrupt``
  inside it. Ray does not always deliver that interrupt (a task blocked in a sleep or in native code may never see
  it: ray-project/ray#32954), so a task still running ``CANCEL_GRACE_S`` later is cancelled with ``force=True``,
  which ends its worker process.
* **Failure**: a step that raises a Riskboard error fails the run with that error's message; a task whose worker
  or node dies fails it with "the Ray task ... died: <reason>". Training tasks are not retried (a silent restart
  would replay a curve); audit tasks are pure and may be retried by Ray.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.errors import RiskboardError, RunCancelledError, TrainingError

log = logging.getLogger(__name__)

CORE_DIR = Path(__file__).resolve().parents[1]
SHIP_CODE_ENV = "RISKBOARD_RAY_SHIP_CODE"
WAIT_S = 0.25
STOP_POLL_S = 0.5
CANCEL_GRACE_S = 3.0
TASK_DIED = ("the Ray task running this job died before it finished ({reason}); the cluster may have lost the node "
             "or run out of memory. Start the job again; the Ray logs on that node say more.")
NO_GPU = ("RISKBOARD_DEVICE={device} asks for a GPU, but the Ray cluster has none; add a GPU node, or unset "
          "RISKBOARD_DEVICE to train on a CPU node.")
TASK_FAILED = "the Ray task running this job failed: {kind}: {message}"
CANCELLED = "cancelled by the user (the Ray task was cancelled)"


def runtime_env() -> dict[str, Any]:
    """The runtime env every Riskboard task gets: our ``core`` package, and nothing secret."""
    env: dict[str, Any] = {}
    if os.environ.get(SHIP_CODE_ENV, "1").strip() != "0":
        env["py_modules"] = [str(CORE_DIR)]
    return env


def connect() -> Any:
    """``ray``, connected: to ``RAY_ADDRESS`` if set, else a private local Ray; reused once connected."""
    import ray

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS", "").strip() or None
        log.info("connecting to Ray at %s", address or "a new local Ray instance")
        ray.init(address=address, runtime_env=runtime_env(), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    return ray


class _Control:
    """Per-task channel: events up from the step, a stop flag down to it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.stop_flag = False

    def put(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def drain(self) -> list[dict[str, Any]]:
        out, self.events = self.events, []
        return out

    def stop(self) -> None:
        self.stop_flag = True

    def stopped(self) -> bool:
        return self.stop_flag


class _RemoteStop:
    """The step's ``should_stop`` inside a task: asks the control actor at most every half second."""

    def __init__(self, control: Any) -> None:
        self._control, self._checked, self._stop = control, -float("inf"), False

    def __call__(self) -> bool:
        import ray

        now = time.monotonic()
        if not self._stop and now - self._checked >= STOP_POLL_S:
            self._checked = now
            self._stop = bool(ray.get(self._control.stopped.remote()))
        return self._stop


def node_event() -> dict[str, Any]:
    """Where this task runs: node address and host name (the first event of every streamed task)."""
    import ray

    return {"node_ip": ray.util.get_node_ip_address(), "node": socket.gethostname()}


def _task_body(fn: Callable[..., Any], control: Any, kwargs: dict[str, Any], *args: Any) -> Any:
    """Runs inside the Ray worker: report the node, then call the step with a streaming ``emit``."""

    import ray

    def emit(event: Mapping[str, Any]) -> None:  # waits for the actor, so no event is behind the task's result
        ray.get(control.put.remote(dict(event)))

    emit({"placement": node_event()})
    return fn(*args, emit=emit, should_stop=_RemoteStop(control), **kwargs)


def _map_body(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args, should_stop=None)


_CACHE: dict[str, Any] = {}


def _remote(name: str, target: Any) -> Any:
    import ray

    if name not in _CACHE:
        _CACHE[name] = ray.remote(target)
    return _CACHE[name]


def _put_arrays(ray: Any, values: Sequence[Any]) -> list[Any]:
    """Big arguments (arrays, frames) into the object store once; small ones travel inline."""
    return [ray.put(v) if hasattr(v, "nbytes") or hasattr(v, "memory_usage") else v for v in values]


def gpu_request(cluster_gpus: float, device: str | None) -> float:
    """GPUs a training task asks for: one when the cluster has one and ``RISKBOARD_DEVICE`` does not pin the CPU
    (or MPS); a device pinned to CUDA on a cluster without GPUs is an error rather than a task pending forever."""
    wants_cuda = device is not None and device.startswith("cuda")
    if device is not None and not wants_cuda:
        return 0
    if cluster_gpus >= 1:
        return 1
    if wants_cuda:
        from core.errors import ConfigError

        raise ConfigError(NO_GPU.format(device=device))
    return 0


def control_actor() -> Any:
    """A new event channel (see :class:`_Control`) for a step that is not a plain task (Ray Train)."""
    return _remote("control", _Control).options(num_cpus=0).remote()


def run_task(fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any], *,
             emit: Callable[[Mapping[str, Any]], None], should_stop: Callable[[], bool],
             num_gpus: float | None = 0) -> Any:
    """One step as one Ray task (see the module docstring); returns its result or raises a Riskboard error.

    ``num_gpus=None`` asks :func:`gpu_request` (training); audits and other CPU steps pass 0.
    """
    ray = connect()
    if num_gpus is None:
        from core.config import get_settings

        num_gpus = gpu_request(float(ray.cluster_resources().get("GPU", 0)), get_settings().device)
    control = control_actor()
    task = _remote("task", _task_body).options(num_cpus=1, num_gpus=num_gpus, max_retries=0)
    ref = task.remote(fn, control, dict(kwargs), *_put_arrays(ray, args))  # top-level refs: resolved by Ray
    cancelled_at: float | None = None
    forced = False
    try:
        while True:
            ready, _ = ray.wait([ref], timeout=WAIT_S)
            for event in ray.get(control.drain.remote()):
                emit(event)
            if ready:
                break
            if cancelled_at is None and should_stop():
                cancelled_at = time.monotonic()
                control.stop.remote()
                ray.cancel(ref)
            elif cancelled_at is not None and not forced and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                forced = True  # the interrupt did not land (see the module docstring): end the worker process
                ray.cancel(ref, force=True)
        return _result(ray, ref, cancelled_at is not None)
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C or a force-stop of this worker: take the task down with us
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    finally:
        ray.kill(control)


def map_tasks(fn: Callable[..., Any], shared: Sequence[Any], items: Sequence[Any], *,
              should_stop: Callable[[], bool], on_done: Callable[[int], None] | None = None) -> list[Any]:
    """``fn(*shared, item)`` as one Ray task per item; ``shared`` goes into the object store once."""
    ray = connect()
    shared_refs = _put_arrays(ray, shared)
    task = _remote("map", _map_body).options(num_cpus=1)
    refs = [task.remote(fn, *shared_refs, item) for item in items]
    pending, done = list(refs), 0
    while pending:
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=WAIT_S)
        if ready:
            done += len(ready)
            if on_done is not None:
                on_done(done)
        if pending and should_stop():
            for ref in pending:
                ray.cancel(ref)
            raise RunCancelledError(CANCELLED)
    return [_result(ray, ref, False) for ref in refs]


def _result(ray: Any, ref: Any, cancelled: bool) -> Any:
    """``ray.get(ref)`` with Ray's failures turned into the errors a run records."""
    from ray import exceptions as rex

    try:
        return ray.get(ref)
    except rex.TaskCancelledError:
        raise RunCancelledError(CANCELLED) from None
    except rex.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, RiskboardError):
            raise cause from None
        if cancelled or isinstance(cause, KeyboardInterrupt):
            raise RunCancelledError(CANCELLED) from None
        log.warning("Ray task failed:\n%s", exc)
        raise TrainingError(_failure(cause or exc)) from None
    except rex.RayError as exc:  # worker or node died, object lost, out of memory
        log.warning("Ray task died: %r", exc)
        if cancelled:
            raise RunCancelledError(CANCELLED) from None
        raise TrainingError(TASK_DIED.format(reason=_first_line(exc, type(exc).__name__))) from None


def _failure(exc: BaseException) -> str:
    return TASK_FAILED.format(kind=type(exc).__name__, message=_first_line(exc, "(no message)"))


def _first_line(exc: BaseException, default: str) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    line = lines[0] if lines else default
    return line if len(line) <= 300 else line[:297] + "..."
