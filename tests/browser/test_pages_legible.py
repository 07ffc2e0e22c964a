"""Every page in a real browser at 1024 px, light and dark: metric values shown whole, nothing fetched from any
host but the app's own, the viewer's colour scheme followed. Screenshots land in test-output/ for a human look."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from core import jobs
from core.data.demo import ensure_demo
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.runs import RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from tests.browser.conftest import OUTPUT, wait_idle
from tests.leaky_data import leaky_loans
from ui.workflow import registered_pages

pytestmark = pytest.mark.browser
WIDTH = 1024
# more widths for a human look before a demo, e.g. RISKBOARD_SHOT_WIDTHS=800,1280,1600 (each is checked too)
EXTRA_WIDTHS = [int(w) for w in os.environ.get("RISKBOARD_SHOT_WIDTHS", "").split(",") if w.strip()]
RUN_ID_FILE = "run-id.txt"


@pytest.fixture(scope="module")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the demo, a small dataset and one finished run, so the Train page shows its metric tiles."""
    home = tmp_path_factory.mktemp("legible-home")
    store = DatasetStore(home)
    ensure_demo(store)
    frame = leaky_loans(600).drop(columns=["decision_code", "approved_flag"])
    meta = store.add(frame.to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
                       sensitive=(SensitiveColumn("group"), SensitiveColumn("tenure_years", binning="quantile")),
                       name="loans")
    store.save_spec(spec)
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(model="logistic", epochs=3).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    (home / RUN_ID_FILE).write_text(run_id)
    return home


def _clipped_metrics(tab) -> list[str]:
    """Metric values whose text does not fit their box (Streamlit then draws "0.…")."""
    return tab.evaluate("""() => [...document.querySelectorAll('[data-testid="stMetricValue"]')].flatMap(box =>
        [box, ...box.querySelectorAll('*')].filter(el => el.scrollWidth > el.clientWidth + 1)
            .map(el => box.innerText))""")


def _visit_all(tab, app_url: str, run_id: str, scheme: str, width: int = WIDTH) -> dict[str, int]:
    shown = {}
    for page in registered_pages():  # every page app.py routes to, including ones added later
        name = Path(page).stem
        path = "/" if name == "home" else f"/{name}" + (f"?run={run_id}" if name == "train" else "")
        tab.goto(f"{app_url}{path}")
        wait_idle(tab)
        if name == "train":
            tab.get_by_text("Test-set evaluation").wait_for()
            wait_idle(tab)
        tab.wait_for_timeout(300)  # charts finish their first draw
        OUTPUT.mkdir(exist_ok=True)
        tab.screenshot(path=str(OUTPUT / f"page-{name}-{width}-{scheme}.png"), full_page=True)
        assert _clipped_metrics(tab) == [], f"{name}: metric values cut off at {width} px"
        shown[name] = tab.locator('[data-testid="stMetricValue"]').count()
    return shown


def test_every_page_at_1024_light_and_dark_whole_metrics_and_only_local_requests(browser, app_url, app_home):
    run_id = (app_home / RUN_ID_FILE).read_text()
    own = urlparse(app_url).netloc
    seen: list[str] = []
    backgrounds = {}
    visits = [("light", WIDTH), ("dark", WIDTH)] + [(s, w) for w in EXTRA_WIDTHS for s in ("light", "dark")]
    for scheme, width in visits:
        # tall, because Streamlit scrolls inside its main block and a full-page shot shows only the viewport
        context = browser.new_context(viewport={"width": width, "height": 2400}, color_scheme=scheme)
        context.on("request", lambda request: seen.append(request.url))
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        shown = _visit_all(tab, app_url, run_id, scheme, width)
        assert shown["train"] >= 7 and shown["data"] >= 3  # the tiles are there to be checked
        backgrounds[scheme] = tab.evaluate(
            "() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor")
        context.close()
    foreign = sorted({u for u in seen if urlparse(u).scheme in ("http", "https", "ws", "wss")
                      and urlparse(u).netloc != own})
    assert foreign == [], f"requests left the machine: {foreign[:5]}"
    assert any(urlparse(u).path.endswith((".png", ".ico")) or "/media/" in u for u in seen)  # our own favicon
    assert backgrounds["light"] != backgrounds["dark"]  # the viewer's preference is followed, not forced
