"""AppTests of the Report and Compare pages: thresholds saved per dataset, live verdict, downloads that verify,
presentation mode, escaped hostile names; runs side by side with the frontier and the best-run sentence."""

from __future__ import annotations

import re

import pytest

from core.report import Thresholds, load_settings, verify_text
from core.runs import RunStore
from tests.app._apptest import open_page, plain
from tests.conftest import ROOT
from tests.core._report_runs import HOSTILE, hostile_frame, import_run, train_run

REPORT = str(ROOT / "pages" / "report.py")
COMPARE = str(ROOT / "pages" / "compare.py")


@pytest.fixture
def trained(riskboard_home) -> tuple[RunStore, str]:
    return train_run(riskboard_home)


def test_report_page_saves_thresholds_and_previews_the_verdict(trained):
    runs, run_id = trained
    at = open_page(REPORT, run=run_id)
    assert at.selectbox(key="report-run").value == run_id
    tag = runs.get(run_id).dataset_id[:12]
    at.number_input(key=f"rep-min-auc-{tag}").set_value(0.55)
    at.number_input(key=f"rep-max-eps-{tag}").set_value(3.0)
    at.text_area(key=f"rep-limitations-{tag}").set_value(f"Synthetic data only {HOSTILE}")
    at.run()
    assert not at.exception, at.exception
    # live preview: the verdict follows the widgets before anything is saved
    assert any(plain(s.value).startswith("PASS: Test ROC AUC is") for s in at.success)
    assert any("epsilon is infinity" in plain(e.value) for e in at.error)
    assert any("Verdict: FAIL" in h.proto.body for h in at.get("html"))
    assert any("not been computed" in plain(w.value) for w in at.warning)
    assert not any("python -m" in plain(e.value) for e in [*at.warning, *at.info, *at.caption, *at.success])
    next(b for b in at.button if b.label == "Save for this dataset").click().run()
    assert not at.exception, at.exception
    saved = load_settings(runs.home, runs.get(run_id).dataset_id)
    assert saved.thresholds == Thresholds(min_auc=0.55, max_epsilon=3.0, sensitive="group", max_disparity=0.1,
                                          max_attack_auc=0.6)  # the defaults it was not asked to change stay
    assert saved.text.limitations == f"Synthetic data only {HOSTILE}"
    # the downloads are the sealed report files, and they verify against the workspace
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Download HTML", "Download Markdown", "Download JSON"}
    again = open_page(REPORT, run=run_id)  # a fresh visit loads the saved values
    assert again.number_input(key=f"rep-min-auc-{tag}").value == 0.55


def test_report_downloads_verify(trained):
    """The function behind the download buttons writes sealed files that verify against the workspace."""
    from core.report import build_content, gather_inputs
    from ui.report_view import report_bytes

    runs, run_id = trained
    assert len(open_page(REPORT, run=run_id).get("download_button")) == 3
    content = build_content(gather_inputs(runs, run_id))
    for fmt in ("html", "md", "json"):
        assert all(f.ok for f in verify_text(runs, report_bytes(content, fmt).decode("utf-8")))


def test_default_thresholds_judge_until_the_team_saves_its_own(trained):
    runs, run_id = trained
    at = open_page(REPORT, run=run_id)
    assert not at.exception, at.exception
    assert not any("NOT JUDGED" in h.proto.body for h in at.get("html"))
    assert any("default thresholds" in plain(c.value) for c in at.caption)
    assert at.expander[0].label.startswith("Thresholds (Riskboard's defaults")
    assert at.number_input(key=f"rep-min-auc-{runs.get(run_id).dataset_id[:12]}").value == 0.75


def test_presentation_mode_is_a_projector_deck_one_idea_per_screen(trained):
    run_id = trained[1]
    at = open_page(REPORT, run=run_id)
    next(b for b in at.button if b.key == "report-present").click().run()
    assert not at.exception, at.exception
    assert not at.number_input and not at.text_area and not at.get("download_button") and not at.selectbox
    assert not at.toggle and not at.title
    [banner] = [h.proto.body for h in at.get("html") if "verdict-banner" in h.proto.body]
    assert "Verdict: NEEDS ATTENTION" in banner and "#8a5300" in banner  # the verdict first, coloured
    from ui.report_view import PROJECTOR_CSS

    assert "stSidebar" in PROJECTOR_CSS and "stHeader" in PROJECTOR_CSS  # the browser suite checks they are hidden
    assert not at.get("plotly_chart") and any("Screen 1 of" in plain(c.value) for c in at.caption)
    next(b for b in at.button if b.key == "present-next").click().run()
    assert any("puts the yes case first" in plain(m.value) for m in at.markdown)
    texts = " ".join(plain(m.value) for m in at.markdown)
    assert "accountant" not in texts and "python -m" not in texts
    while not next(b for b in at.button if b.key == "present-next").disabled:
        next(b for b in at.button if b.key == "present-next").click().run()
        assert len(at.get("plotly_chart")) <= 1  # charts one at a time
    assert len(at.get("plotly_chart")) == 1
    next(b for b in at.button if b.key == "present-exit").click().run()
    assert at.selectbox(key="report-run").value == run_id


def test_report_page_on_an_imported_run_and_bad_urls(riskboard_home):
    _, run_id = import_run(riskboard_home)
    at = open_page(REPORT, run=run_id)
    assert any("Imported scores from vendor-scores.csv" in plain(i.value) for i in at.info)
    assert any("needs the model itself" in plain(w.value) for w in at.warning)
    bad = open_page(REPORT, run="../../etc/passwd")
    assert bad.error and "is not a run id" in plain(bad.error[0].value)


def test_report_page_without_runs(riskboard_home):
    at = open_page(REPORT)
    assert "No finished run yet" in at.info[0].value


def _measures(at):
    """The Compare page's side-by-side table (an HTML table: its cells are escaped Markdown), indexed by measure."""
    frame = at.table[0].value
    frame = frame.rename(columns=plain).map(plain)
    return frame.set_index("Measure")


def test_compare_page_side_by_side_with_frontier(riskboard_home):
    _, first = train_run(riskboard_home, frame=hostile_frame(), model="logistic", epochs=10, learning_rate=0.05,
                         name="logistic")
    _, second = train_run(riskboard_home, frame=hostile_frame(), name=HOSTILE)
    at = open_page(COMPARE)
    assert set(at.multiselect[0].value) == {first, second}
    table = _measures(at)
    assert list(table.columns) == ["Run 1", "Run 2"]  # one column per run: narrow enough for 1024 px
    assert set(table.loc["Epsilon"]) == {"none (no guarantee)"}
    assert all(re.fullmatch(r"0\.\d{3}", v) for v in table.loc["ROC AUC"])  # one formatter, three decimals
    runs_listed = " ".join(plain(m.value) for m in at.markdown)
    assert HOSTILE in runs_listed and "1. " in runs_listed  # the numbered runs, names shown as text
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # frontier, ROC, calibration, loss
    assert any("comes closest" in plain(i.value) for i in [*at.info, *at.success])
    assert any("disparity is left out" in plain(c.value) for c in at.caption)
    assert any(b.key == "compare-compute-fairness" for b in at.button)
    at.multiselect[0].set_value([first]).run()
    assert "at least two runs" in at.info[0].value
    # with fairness computed (and cached) for both, the frontier places them by disparity too
    from core.fairness import run_fairness

    runs = RunStore(riskboard_home)
    for run_id in (first, second):
        run_fairness(runs, run_id, ["group"], resamples=200)
    at = open_page(COMPARE)
    table = _measures(at)
    assert "–" not in set(table.loc["Disparity"]) and "–" not in set(table.loc["Disparity 95% interval"])
    assert not any("disparity is left out" in plain(c.value) for c in at.caption)
    frontier = at.get("plotly_chart")[0].proto.spec
    assert "Risk frontier" in frontier and "\"symbol\":\"diamond\"" in frontier
    assert not any(b.key == "compare-compute-fairness" for b in at.button)


def test_report_page_computes_missing_analyses_on_request(trained):
    runs, run_id = trained
    at = open_page(REPORT, run=run_id)
    for key, prefix in (("fairness", "fairness-"), ("explain", "explain-"), ("audit", "audit-loss")):
        next(b for b in at.button if b.key == f"report-compute-{key}").click().run()
        assert not at.exception, at.exception
        assert any(n.startswith(prefix) for n in runs.artifacts(run_id).manifest()), key
        assert not [b for b in at.button if b.key == f"report-compute-{key}"]
    assert not any(b.key and b.key.startswith("report-compute-") for b in at.button)
    assert any("By group" in plain(c.value) for c in at.caption)  # fairness table in the preview
    assert any("Attack AUC" in plain(c.value) for c in at.caption)  # the audit's numbers
    assert not [w for w in at.warning if "not been computed" in plain(w.value) or "No membership" in plain(w.value)]


def test_report_page_on_an_uploaded_model_offers_its_analyses(riskboard_home):
    from core.fairness import import_model
    from tests.core import _onnx_models as onnx_models

    frame = onnx_models.table(300)
    _, model = onnx_models.logistic(frame)
    runs = RunStore(riskboard_home)
    run_id, prepared = import_model(runs, model, "lr.onnx", frame.to_csv(index=False).encode(), "t.csv", target="y",
                                    features=onnx_models.FEATURES, sensitive=["g"], members="member")
    at = open_page(REPORT, run=run_id)
    assert any(f"Uploaded model lr.onnx (ONNX, SHA-256 {prepared.model.sha256})" in plain(i.value) for i in at.info)
    assert any("needs retraining" in plain(i.value) for i in at.info)
    for key, prefix in (("explain", "explain-"), ("audit", "audit-loss")):
        next(b for b in at.button if b.key == f"report-compute-{key}").click().run()
        assert not at.exception, at.exception
        assert any(n.startswith(prefix) for n in runs.artifacts(run_id).manifest()), key
    assert any("Attack AUC" in plain(c.value) for c in at.caption)
