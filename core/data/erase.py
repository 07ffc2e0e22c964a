"""Erasing a dataset, and on request every run trained on it: the one function the CLI and the Data page call.

Runs go first (each: its folder into the trash, its data key destroyed, its files removed), then the dataset (its
folder and specs into the trash, its data key destroyed, its files removed). Anything the file system refused is
named in one :class:`~core.errors.ErasureError` (exit 2 on the command line); ``datasets purge`` retries it. A run
still queued or running stops the whole erasure before anything is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.data.store import DatasetStore
from core.errors import ErasureError, RiskboardError
from core.runs import RunStore
from core.security import erasure
from core.security.actor import require_editor
from core.security.keys import KEYRING

RUNS_ACTIVE = ("dataset {short} has runs still queued or running ({ids}); cancel them and wait until they stop, "
               "then delete again. Nothing was removed.")


@dataclass(frozen=True)
class Erasure:
    dataset_id: str
    runs_deleted: list[str] = field(default_factory=list)
    runs_kept: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"deleted": self.dataset_id, "runs_deleted": list(self.runs_deleted),
                "runs_kept": list(self.runs_kept)}


def runs_of(home: Path | str, dataset_id: str) -> list[str]:
    """Ids of the runs (of every kind) trained or computed on ``dataset_id``, newest first."""
    return [r.id for r in RunStore(home).list() if r.dataset_id == dataset_id]


def erase_dataset(home: Path | str, dataset_id: str, *, with_runs: bool = False) -> Erasure:
    """Delete ``dataset_id`` (and its runs when ``with_runs``); :class:`ErasureError` names what could not go."""
    require_editor("delete a dataset")
    datasets, runs = DatasetStore(home), RunStore(home)
    datasets.meta(dataset_id)  # an unknown id stops here, before anything is removed
    trained = [runs.get(run_id) for run_id in runs_of(home, dataset_id)]
    if not with_runs:
        datasets.delete(dataset_id)
        return Erasure(dataset_id, runs_kept=[r.id for r in trained])
    active = [r.id for r in trained if r.is_active]
    if active:
        raise RiskboardError(RUNS_ACTIVE.format(short=dataset_id[:12], ids=", ".join(active)))
    left: list[str] = []
    for record in sorted(trained, key=lambda r: r.parent_id is None):  # derived runs before their parents
        left.extend(runs.delete(record.id))
    datasets.delete(dataset_id)  # raises ErasureError naming its own leftovers (the trash holds the runs' too)
    left = erasure.purge(Path(home)) if left else left
    if left:
        shredded = (Path(home) / KEYRING).is_file()
        raise ErasureError(erasure.leftovers_message(f"dataset {dataset_id[:12]} and its runs are deleted", left,
                                                     shredded))
    return Erasure(dataset_id, runs_deleted=[r.id for r in trained])
