"""The workflow a user walks (data -> train -> explain -> fairness -> privacy -> report) and where they stand in it.

Steps come from one list, but a step is offered only when its page is registered in app.py's ``PAGES``: pages are
added by separate pieces of work, and a step that is not built yet must be absent, never a placeholder. The
"current" dataset, spec and run are the ones this session picked, else the newest stored, so a new session lands
on what the user was last working on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.data.spec import DatasetSpec
from core.data.store import DatasetMeta, DatasetStore
from core.errors import RiskboardError
from core.runs import RunRecord, RunStatus, RunStore
from core.runs.naming import display_name
from core.text import plural

APP_PATH = Path(__file__).resolve().parents[1] / "app.py"
_PAGE_LINE = re.compile(r"""st\.Page\(\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class Step:
    key: str
    path: str  # relative to the repository root, as app.py registers it
    title: str
    action: str  # what the next-step button says


STEPS = (
    Step("data", "pages/data.py", "Data", "Pick a dataset and say what to predict"),
    Step("train", "pages/train.py", "Train", "Train a model on this spec"),
    Step("explain", "pages/explain.py", "Explain", "See what drives the model's scores"),
    Step("fairness", "pages/fairness.py", "Fairness", "Compare outcomes across groups"),
    Step("privacy", "pages/privacy.py", "Privacy", "Measure what the model leaks about its training rows"),
    Step("report", "pages/report.py", "Report", "Write up the risk report"),
)
HOME = Step("home", "pages/home.py", "Home", "Start here")
#: Workflow steps that leave a cached result with the run, and the prefix of that result's file name.
ANALYSES = {"explain": "explain-", "fairness": "fairness-", "privacy": "audit-"}


@lru_cache(maxsize=4)
def _registered(app_text: str) -> tuple[str, ...]:
    return tuple(_PAGE_LINE.findall(app_text))


def registered_pages(app_path: Path = APP_PATH) -> tuple[str, ...]:
    """Page paths in app.py's ``st.Page(...)`` lines, in order (read from the file: importing app.py would run it)."""
    return _registered(app_path.read_text(encoding="utf-8"))


def workflow_steps(app_path: Path = APP_PATH) -> list[Step]:
    """The steps whose page exists, in workflow order."""
    registered = set(registered_pages(app_path))
    return [s for s in STEPS if s.path in registered]


def step_after(key: str, app_path: Path = APP_PATH) -> Step | None:
    """The built step that follows ``key`` (``home`` is followed by the first step), or None at the end."""
    steps = workflow_steps(app_path)
    if key == HOME.key:
        return steps[0] if steps else None
    keys = [s.key for s in steps]
    if key not in keys:
        return None
    index = keys.index(key)
    return steps[index + 1] if index + 1 < len(steps) else None


@dataclass(frozen=True)
class Context:
    """What the user is working on: any of the three may be missing (nothing uploaded, saved or trained yet)."""

    dataset: DatasetMeta | None
    spec: DatasetSpec | None
    run: RunRecord | None

    done: tuple[str, ...] = ()  # analyses the current run already has: "explain", "fairness", "privacy"

    def next_step(self, app_path: Path = APP_PATH) -> Step | None:
        """The first built step not done yet: a spec before training, a finished run before the later pages, then
        the first analysis the run does not have, then the report."""
        steps = {s.key: s for s in workflow_steps(app_path)}
        if self.spec is None or "train" not in steps:
            return steps.get("data")
        if self.run is None or self.run.status != RunStatus.SUCCEEDED:
            return steps["train"]
        for key in ANALYSES:
            if key in steps and key not in self.done:
                return steps[key]
        return steps.get("report") or step_after("train", app_path) or steps["train"]


def current_context(home: Path | str, dataset_id: str | None, spec_id: str | None, run_id: str | None) -> Context:
    """Resolve the session's ids against the stores, falling back to the newest dataset, spec and run."""
    datasets = DatasetStore(home)
    metas = datasets.list()
    by_id = {m.id: m for m in metas}
    specs = datasets.list_specs()
    spec = next((s for s in specs if s.spec_id == spec_id and s.dataset_id in by_id), None)
    dataset = by_id.get(dataset_id) if dataset_id else None
    if dataset is None and spec is not None:
        dataset = by_id.get(spec.dataset_id)
    if dataset is None and metas:
        dataset = metas[0]
    if spec is not None and dataset is not None and spec.dataset_id != dataset.id:
        spec = None  # a spec of the dataset used before: the header must not pair it with the one chosen now
    if spec is None and dataset is not None:
        spec = next((s for s in specs if s.dataset_id == dataset.id), None)
    runs = RunStore(home)
    run = None
    if run_id:
        try:
            run = runs.get(run_id)
        except RiskboardError:
            run = None  # deleted, or an id from an old URL: fall back to the newest
    if run is None:
        newest = runs.list(limit=1)
        run = newest[0] if newest else None
    return Context(dataset=dataset, spec=spec, run=run, done=_analyses_done(runs, run))


def _analyses_done(runs: RunStore, run: RunRecord | None) -> tuple[str, ...]:
    """Which analyses the run has cached (read from its manifest: names only, nothing loaded)."""
    if run is None or run.status != "succeeded":
        return ()
    try:
        names = list(runs.artifacts(run.id).manifest() or {})
    except RiskboardError:
        return ()
    return tuple(key for key, prefix in ANALYSES.items() if any(n.startswith(prefix) for n in names))


def describe(context: Context) -> list[tuple[str, str]]:
    """(label, text) pairs for the header and the home page: dataset, spec and run with their status."""
    dataset = context.dataset
    spec = context.spec
    run = context.run
    rows = [("Dataset", f"{dataset.name} ({plural(dataset.rows, 'row')})" if dataset else "none yet"),
            ("Spec", (spec.name or f"{spec.target} = {spec.positive_class}") if spec else "none saved yet"),
            ("Run", f"{display_name(run)} ({run.status})" if run else "none yet")]
    return rows
