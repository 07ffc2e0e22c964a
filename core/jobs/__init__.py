"""Background jobs: one worker process per run, a slot limit, cancel, force-stop and reaping of dead workers;
the executor seam (:mod:`core.jobs._executor`) sends a job's heavy steps to Ray when a cluster is configured.

See :mod:`core.jobs._control` for why workers are ``Popen`` processes and :mod:`core.jobs._runner` for what a
worker does and the contract of a task function.
"""

from core.jobs._control import (
    FORCE_STOPPED,
    NOT_OUR_WORKER,
    WORKER_GONE,
    cancel,
    force_stop,
    prewarm,
    refresh,
    submit,
    wait_for,
)
from core.jobs._executor import (
    EXECUTORS,
    Placement,
    executor_caption,
    executor_name,
    map_steps,
    read_placement,
    record_placement,
    run_step,
)
from core.jobs._runner import (
    CANCELLED_BY_USER,
    ERROR_LOG,
    INTERNAL_ERROR,
    REGISTERED_TASKS,
    WORKER_LOG,
    StopFlag,
    Task,
    execute,
    is_registered,
    load_task,
    register_task,
    run_inline,
)

__all__ = [
    "CANCELLED_BY_USER",
    "ERROR_LOG",
    "EXECUTORS",
    "FORCE_STOPPED",
    "INTERNAL_ERROR",
    "NOT_OUR_WORKER",
    "REGISTERED_TASKS",
    "WORKER_GONE",
    "WORKER_LOG",
    "Placement",
    "StopFlag",
    "Task",
    "cancel",
    "execute",
    "executor_caption",
    "executor_name",
    "force_stop",
    "is_registered",
    "load_task",
    "map_steps",
    "prewarm",
    "read_placement",
    "record_placement",
    "refresh",
    "register_task",
    "run_inline",
    "run_step",
    "submit",
    "wait_for",
]
