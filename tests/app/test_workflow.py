"""The workflow steps: only pages app.py routes to are offered, in workflow order; the next step follows progress."""

from __future__ import annotations

from dataclasses import dataclass

from ui.workflow import Context, registered_pages, step_after, workflow_steps

APP = '''
PAGES = [
    st.Page("pages/home.py", title="Home", default=True),
    st.Page("pages/privacy.py", title="Privacy"),
    st.Page("pages/data.py", title="Data"),
    st.Page('pages/train.py', title="Train"),
]
'''


@dataclass
class FakeRun:
    status: str


def test_steps_are_the_routed_pages_in_workflow_order(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    assert registered_pages(app) == ("pages/home.py", "pages/privacy.py", "pages/data.py", "pages/train.py")
    assert [s.key for s in workflow_steps(app)] == ["data", "train", "privacy"]  # explain, fairness: not built
    assert step_after("home", app).key == "data"
    assert step_after("train", app).key == "privacy"
    assert step_after("privacy", app) is None
    assert step_after("fairness", app) is None  # a page that is not routed has no place in the order


def test_the_next_step_follows_what_is_done(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    spec = object()
    assert Context(dataset=None, spec=None, run=None).next_step(app).key == "data"
    assert Context(dataset=object(), spec=spec, run=None).next_step(app).key == "train"
    assert Context(dataset=object(), spec=spec, run=FakeRun("running")).next_step(app).key == "train"
    assert Context(dataset=object(), spec=spec, run=FakeRun("succeeded")).next_step(app).key == "privacy"


def test_the_marker_moves_past_the_analyses_the_run_already_has():
    spec, run = object(), FakeRun("succeeded")
    assert Context(dataset=object(), spec=spec, run=run).next_step().key == "explain"
    assert Context(dataset=object(), spec=spec, run=run, done=("explain",)).next_step().key == "fairness"
    assert Context(dataset=object(), spec=spec, run=run, done=("explain", "fairness")).next_step().key == "privacy"
    everything = Context(dataset=object(), spec=spec, run=run, done=("explain", "fairness", "privacy"))
    assert everything.next_step().key == "report"
