"""The explanation demo: a trained run on the Adult demo data, open Explain, see the importance chart and the
additivity check, and the what-if editor's waterfall."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core import jobs
from core.data.demo import ensure_demo
from core.data.store import DatasetStore
from core.runs import SUCCEEDED, RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from tests.browser.conftest import screenshot, serve, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[str, str]:
    home = tmp_path_factory.mktemp("explain-browser-home")
    meta, spec = ensure_demo(DatasetStore(home))
    runs = RunStore(home)
    config = TrainConfig(hidden=(32,), epochs=3).to_dict()
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), config=config, task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED
    return str(home), run_id


@pytest.fixture(scope="module")
def explain_url(demo_run, tmp_path_factory) -> Iterator[str]:
    from pathlib import Path

    yield from serve(Path(demo_run[0]), tmp_path_factory.mktemp("explain-logs"))


def test_explain_page_shows_importance_on_the_demo_run(browser, explain_url, demo_run):
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{explain_url}/explain?run={demo_run[1]}")
        wait_idle(page, timeout_ms=120_000)
        page.get_by_text("Which features move the score most").first.wait_for()
        chart = page.locator('[data-testid="stPlotlyChart"]').first
        bars = chart.locator(".barlayer .trace path")
        assert bars.count() >= 10, "the importance chart should draw one bar per top feature"
        assert page.get_by_text("Attributions add up to the model's score within").first.is_visible()
        assert page.get_by_text("Explained 1,000 of the run's").first.is_visible()
        page.get_by_text("Why this row got its score").first.wait_for()
        screenshot(page, "explain-page.png")
    finally:
        context.close()
