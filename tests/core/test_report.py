"""The model card: content per section from a trained and an imported run, offline HTML (no external URL),
escaping of hostile names and free text, Markdown and JSON formats, the verdict rules, saved settings."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser

import pytest

from core.errors import ConfigError, ReportError
from core.report import (
    ATTENTION,
    FAIL,
    NOT_RUN,
    PASS,
    CardText,
    ReportSettings,
    Thresholds,
    auc_interval,
    build_report,
    default_thresholds,
    evaluate_checks,
    gather_inputs,
    load_settings,
    read_provenance,
    report_from_inputs,
    save_settings,
)
from core.runs import RunStore
from tests.core._report_runs import (
    HOSTILE,
    HOSTILE_GROUP,
    audit_result,
    explain_result,
    fairness_result,
    import_run,
    train_run,
)

TEXT = CardText(intended_use="Pre-screen loan files.\n# not a heading", out_of_scope="Final decisions",
                limitations=f"Trained on synthetic data {HOSTILE}", owner="Risk team", contact="risk@example.org")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[RunStore, str]:
    return train_run(tmp_path_factory.mktemp("report-home"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[RunStore, str]:
    return import_run(tmp_path_factory.mktemp("import-home"))


@pytest.fixture(scope="module")
def full_inputs(trained):
    """The trained run's inputs with contract-shaped explanation, fairness and audit results filled in."""
    runs, run_id = trained
    inputs = gather_inputs(runs, run_id, settings=ReportSettings(Thresholds(
        min_auc=0.6, max_disparity=0.1, sensitive="group", max_epsilon=5, max_attack_auc=0.6,
        max_empirical_epsilon=1.0), TEXT))
    return dataclasses.replace(inputs, explanation=explain_result(run_id),
                               fairness={"group": fairness_result(0.05, 0.01, 0.12)}, audit=audit_result(run_id))


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self._in = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag

    def handle_endtag(self, tag):
        self._in = ""

    def handle_data(self, data):
        if self._in == "style":
            self.styles.append(data)
        elif self._in == "script":
            self.scripts.append(data)
        else:
            self.text.append(data)


def parsed(document: str) -> Tags:
    tags = Tags()
    tags.feed(document)
    return tags


@pytest.fixture(scope="module")
def full_html(full_inputs):
    report = report_from_inputs(full_inputs, "html")
    return report, parsed(report.text)


def test_auc_interval_is_hanley_mcneil():
    low, high = auc_interval(0.8, 50, 50)
    assert low == pytest.approx(0.7127773207, abs=1e-9)
    assert high == pytest.approx(0.8872226793, abs=1e-9)
    assert auc_interval(0.8, 0, 10) is None


def test_trained_run_sections(trained):
    runs, run_id = trained
    content = build_report(runs, run_id, "json", settings=ReportSettings(text=TEXT)).content
    data = content["data"]
    assert data["source"] == "loans <b>v2</b>.csv" and data["rows"] == 600 and data["columns"] == 7
    assert sum(data["class_counts"].values()) == 600 and set(data["class_counts"]) == {"no", "yes"}
    assert set(data["groups"]["group"]) == {"A", HOSTILE_GROUP} and sum(data["groups"]["group"].values()) == 600
    assert content["training"]["kind"] == "train" and content["training"]["config"]["epochs"] == 3
    perf = content["performance"]
    assert perf["test_rows"] == 90 and perf["positives"] + perf["negatives"] == 90
    record = runs.get(run_id)
    assert perf["metrics"]["roc_auc"] == pytest.approx(record.metrics["roc_auc"])
    low, high = perf["roc_auc_interval"]
    assert low < perf["metrics"]["roc_auc"] < high
    # analyses not run yet: each section says so in words, with no command line for a stakeholder to read
    assert content["explanations"]["status"] == NOT_RUN
    for section in (content["explanations"], content["fairness"], content["privacy"]["audit"]):
        assert "command" not in section and "python -m" not in section["message"]
    assert "without differential privacy" in content["privacy"]["training"]["message"]
    prov = content["provenance"]
    assert prov["dataset_sha256"] == record.dataset_id
    assert prov["weights_sha256"] == runs.artifacts(run_id).manifest()["model.safetensors"]["sha256"]
    assert prov["command"].startswith("python -m core train 'loans <b>v2</b>.csv' --target approved --positive yes")
    assert "'<script>alert(1)</script>'" in prov["command"]
    assert {"python", "riskboard", "torch", "plotly"} <= set(prov["versions"])
    assert content["verdict"]["overall"] == "not judged"  # explicit empty thresholds judge nothing
    assert content["text"]["fields"]["owner"] == "Risk team"
    unset = build_report(runs, run_id, "json").content  # nothing saved for the dataset: the defaults, marked so
    assert unset["verdict"]["defaults"] is True and unset["verdict"]["overall"] != "not judged"
    assert {c["name"] for c in unset["verdict"]["checks"]} == {"min_auc", "max_disparity", "max_attack_auc"}
    assert not any("python -m" in c["sentence"] or "command" in c for c in unset["verdict"]["checks"])


def test_imported_run_says_where_scores_came_from(imported):
    runs, run_id = imported
    report = build_report(runs, run_id, "html", settings=ReportSettings(Thresholds(min_auc=0.5, max_epsilon=3)))
    content = report.content
    assert content["training"] == {"kind": "import", "source": "vendor-scores.csv", "column": "score",
                                   "column_kind": "score", "has_scores": True, "threshold": 0.5, "rows": 400}
    assert content["explanations"]["status"] == "not applicable"
    assert "needs the model itself" in content["explanations"]["message"]
    assert content["privacy"]["audit"]["status"] == "not applicable"
    assert content["provenance"]["weights_sha256"] is None and content["provenance"]["scores_sha256"]
    assert content["provenance"]["command"].startswith("python -m core import vendor-scores.csv --label label")
    [auc, epsilon] = content["verdict"]["checks"]
    assert auc["status"] == PASS and epsilon["status"] == FAIL and "imported" in epsilon["sentence"]
    text = " ".join(parsed(report.text).text)
    assert "Training set-up: imported scores" in text and "vendor-scores.csv" in text
    assert "no model (imported scores)" in text


def test_verdict_rules(full_inputs):
    checks = {c.name: c for c in evaluate_checks(full_inputs)}
    assert checks["min_auc"].passed
    dpd = checks["max_disparity"]  # 0.05 under 0.1, but the interval reaches 0.12: not a pass
    assert (dpd.status, dpd.passed, dpd.interval) == (ATTENTION, False, (0.01, 0.12))
    assert "whole interval must be within it" in dpd.sentence
    tight = dataclasses.replace(full_inputs, fairness={"group": fairness_result(0.05, 0.01, 0.08)})
    assert {c.name: c for c in evaluate_checks(tight)}["max_disparity"].status == PASS
    wide = dataclasses.replace(full_inputs, fairness={"group": fairness_result(0.15, 0.1, 0.2)})
    assert {c.name: c for c in evaluate_checks(wide)}["max_disparity"].status == FAIL
    eps = checks["max_epsilon"]
    assert eps.status == FAIL and eps.value == float("inf") and "no guarantee" in eps.sentence
    private = dataclasses.replace(full_inputs, privacy={"private": True, "epsilon": 1.0, "delta": 1e-5,
                                                        "accountant": "prv"})
    assert {c.name: c for c in evaluate_checks(private)}["max_epsilon"].status == PASS
    assert checks["max_attack_auc"].status == PASS and checks["max_attack_auc"].value == 0.53
    empirical = checks["max_empirical_epsilon"]  # lower bound 0.1 within 1.0; ceiling 3.1 above it; CI to 0.6
    assert empirical.status == PASS and empirical.interval == (0.0, 0.6)
    low_ceiling = dataclasses.replace(full_inputs, audit=audit_result("x") | {"epsilon_ceiling": 0.5})
    check = {c.name: c for c in evaluate_checks(low_ceiling)}["max_empirical_epsilon"]
    assert check.status == ATTENTION and "cannot certify more than 0.50" in check.sentence
    missing = dataclasses.replace(full_inputs, fairness=None, audit=None)
    by_name = {c.name: c for c in evaluate_checks(missing)}
    assert by_name["max_disparity"].status == NOT_RUN and not by_name["max_disparity"].passed
    assert by_name["max_attack_auc"].command == f"python -m core audit {full_inputs.run_id}"


def test_sections_with_every_analysis(full_html):
    report, tags = full_html
    content = report.content
    assert content["verdict"]["overall"] == FAIL  # epsilon fails (not private)
    assert content["explanations"]["status"] == content["fairness"]["status"] == "done"
    text = " ".join(tags.text)
    for heading in ("Verdict", "Data", "Training set-up", "Performance and calibration", "Explanations", "Fairness",
                    "Privacy", "Uses, limitations and contact", "Reproducibility"):
        assert heading in text, heading
    assert "Membership-inference audit" in text and "Leakage by group" in text and "Audit ceiling" in text
    assert "What the model leans on, by group" in text and f"{HOSTILE} (0.400)" in text
    assert "Pre-screen loan files." in text and "risk@example.org" in text
    assert "demographic parity difference" in text and "0.010 to 0.120" in text
    ids = [a["id"] for t, a in tags.tags if t in ("section", "footer") and "id" in a]
    assert ids == ["verdict", "data", "training", "performance", "explanations", "fairness", "privacy", "card-text",
                   "reproducibility"]  # verdict first
    assert len([t for t, a in tags.tags if t == "div" and "plotly-graph-div" in a.get("class", "")]) >= 5


def test_html_is_self_contained_and_escapes_everything(full_html):
    report, tags = full_html
    document = report.text
    for tag, attrs in tags.tags:
        for key in ("src", "href", "action", "poster", "data"):
            assert key not in attrs, (tag, attrs)
        assert "url(" not in attrs.get("style", "")
        if tag == "link":
            pytest.fail(f"external stylesheet or link: {attrs}")
    assert not any("url(" in style for style in tags.styles)
    scripts = [a for t, a in tags.tags if t == "script"]
    assert sum(1 for body in tags.scripts if len(body) > 1_000_000) == 1  # plotly.js inlined exactly once
    assert all("Plotly.newPlot" in body or len(body) > 1_000_000 or body.startswith("{") for body in tags.scripts)
    assert [a["id"] for a in scripts if a.get("type") == "application/json"] == ["riskboard-provenance"]
    # hostile names and free text arrive as text, never as markup
    assert not [t for t, _ in tags.tags if t == "img"]
    assert "<script>alert(1)" not in document and "<img src=x" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&lt;img src=x onerror=alert(2)&gt;" in document
    assert HOSTILE in " ".join(tags.text) and HOSTILE_GROUP in " ".join(tags.text)
    assert "@media print" in " ".join(tags.styles)


def test_markdown_model_card_layout_and_escaping(full_inputs):
    report = report_from_inputs(full_inputs, "md")
    text = report.text
    front = text.split("---\n")[1]
    assert "model-index:" in front and "- type: roc_auc" in front and "tabular-classification" in front
    auc = full_inputs.evaluation["metrics"]["roc_auc"]
    assert f"value: {round(auc, 6)}" in front
    for heading in ("## Verdict: FAIL", "## Model Details", "## Uses", "### Direct Use", "### Out-of-Scope Use",
                    "## Bias, Risks, and Limitations", "## Training Details", "## Evaluation", "## Model Card Contact",
                    "## Reproducibility"):
        assert f"\n{heading}\n" in text, heading
    outside_code = re.sub(r"`[^`\n]*`", "", text)  # code spans show their text literally
    assert "<script>" not in outside_code and "<img" not in outside_code
    assert "&lt;script&gt;alert\\(1\\)" in text or "&lt;script&gt;alert(1)" in text
    assert "\\# not a heading" in text  # free text never becomes a heading
    assert read_provenance(text)["run_id"] == full_inputs.run_id


def test_json_has_the_same_content(full_inputs):
    report = report_from_inputs(full_inputs, "json")
    body = json.loads(report.text)
    assert body["format"] == "riskboard.report"
    assert body["verdict"] == report.content["verdict"]
    assert body["fairness"]["results"]["group"]["disparities"]["demographic_parity_difference"]["ci"] == [0.01, 0.12]
    assert body["provenance"]["content_sha256"] == report.content_sha256
    assert "NaN" not in report.text and "Infinity" not in report.text
    markdown = report_from_inputs(full_inputs, "md").text
    for check in body["verdict"]["checks"]:
        assert check["label"].split(" (")[0] in markdown


def test_unfinished_run_is_refused(trained):
    runs, _ = trained
    spec = runs.get(trained[1]).spec
    queued = runs.create_run(kind="train", dataset_id=spec["dataset_id"], spec=spec, config={}, task="x")
    with pytest.raises(ReportError, match="a report needs a run that finished successfully"):
        build_report(runs, queued, "html")
    with pytest.raises(ReportError, match="the report format must be one of"):
        build_report(runs, trained[1], "pdf")


def test_settings_are_saved_per_dataset(trained):
    runs, run_id = trained
    dataset_id = runs.get(run_id).dataset_id
    defaults = load_settings(runs.home, dataset_id, ("group",))
    assert defaults == ReportSettings(default_thresholds(("group",)), defaults=True)
    assert (defaults.thresholds.min_auc, defaults.thresholds.max_disparity, defaults.thresholds.sensitive) == (
        0.75, 0.1, "group")
    saved = ReportSettings(Thresholds(min_auc=0.8, max_disparity=0.05, sensitive="group"), TEXT)
    save_settings(runs.home, dataset_id, saved)
    assert load_settings(runs.home, dataset_id) == saved
    report = build_report(runs, run_id, "json")  # the saved thresholds judge the report
    assert [c["name"] for c in report.content["verdict"]["checks"]] == ["min_auc", "max_disparity"]
    save_settings(runs.home, dataset_id, ReportSettings())
    with pytest.raises(ConfigError, match="needs the sensitive column"):
        Thresholds(max_disparity=0.1).validate()
    with pytest.raises(ConfigError, match="the minimum AUC must be a number from 0 to 1"):
        Thresholds(min_auc=1.5).validate()


def test_report_hash_covers_the_document(full_html):
    report, _ = full_html
    assert re.fullmatch(r"[0-9a-f]{64}", report.content_sha256)
    assert report.text.count(report.content_sha256) == 2  # the footer and the provenance block
    assert read_provenance(report.text)["content_sha256"] == report.content_sha256


def test_report_reads_the_cached_fairness_result(tmp_path):
    """Issue 9's fairness, computed and cached once, is what the report and the check show (never recomputed)."""
    from core.fairness import run_fairness

    runs, run_id = train_run(tmp_path / "home")
    assert build_report(runs, run_id, "json").content["fairness"]["status"] == NOT_RUN
    [report] = run_fairness(runs, run_id, ["group"], resamples=200).values()
    inputs = gather_inputs(runs, run_id, settings=ReportSettings(Thresholds(max_disparity=1.0, sensitive="group")))
    assert set(inputs.fairness) == {"group"}
    result = inputs.fairness["group"]
    dpd = report.disparities["demographic_parity_difference"]
    assert result["disparities"]["demographic_parity_difference"] == {
        "value": dpd.value, "ci": [dpd.low, dpd.high], "groups": list(dpd.groups), "excluded": list(dpd.excluded)}
    assert {g["group"] for g in result["groups"]} == {"A", HOSTILE_GROUP}
    assert sum(g["count"] for g in result["groups"]) == 90
    [check] = evaluate_checks(inputs)
    assert check.status == PASS and check.interval == (dpd.low, dpd.high)
    strict = evaluate_checks(inputs, Thresholds(max_disparity=0.0, sensitive="group"))[0]
    assert strict.status == FAIL or (strict.status == ATTENTION and not strict.passed)
    content = report_from_inputs(inputs, "html")
    assert content.content["fairness"]["status"] == "done"
    assert "95% interval" in content.text and "&lt;img src=x onerror=alert(2)&gt;" in content.text
    names = [n for n in runs.artifacts(run_id).manifest() if n.startswith("fairness-")]
    assert len(names) == 1  # the report read the cache; it wrote nothing


def test_only_model_runs_have_a_report(trained):
    runs, run_id = trained
    spec = runs.get(run_id).spec
    job = runs.create_run(kind="audit", dataset_id=spec["dataset_id"], spec=spec, config={}, task="x")
    runs.finish(job, "succeeded", metrics={})
    with pytest.raises(ReportError, match="is a job of kind 'audit', not a model run"):
        build_report(runs, job, "html")


def test_report_reads_cached_explanation_audit_and_privacy(tmp_path):
    """Issues 8 and 10: the cached SHAP values and membership audit, and a DP-SGD run's epsilon, as the report and
    the gate show them; the report adds nothing to the run's files."""
    from core.explain import explain_run
    from core.privacy import audit_run

    runs, run_id = train_run(tmp_path / "home", target_epsilon=8.0, epochs=3)
    content = build_report(runs, run_id, "json").content
    assert content["explanations"]["status"] == NOT_RUN and content["privacy"]["audit"]["status"] == NOT_RUN
    explained = explain_run(runs, run_id, rows=60, background=20)
    audited = audit_run(runs, run_id, attack="loss")
    files_before = dict(runs.artifacts(run_id).manifest())
    inputs = gather_inputs(runs, run_id, settings=ReportSettings(Thresholds(
        max_epsilon=10, max_attack_auc=0.99, max_empirical_epsilon=100)))
    expected = explained.payload(run_id)
    assert inputs.explanation["importance"] == expected["importance"]
    assert inputs.explanation["additivity_max_error"] == expected["additivity_max_error"]
    groups = inputs.explanation["by_group"]["group"]
    assert set(groups) == {"A", HOSTILE_GROUP} and sum(g["rows"] for g in groups.values()) == 60
    assert inputs.audit == audited.summary()
    record = runs.get(run_id)
    assert inputs.privacy["private"] and inputs.privacy["epsilon"] == pytest.approx(record.metrics["epsilon"])
    assert inputs.privacy["epsilon"] <= 8.0 and inputs.privacy["accountant"] in ("prv", "rdp")
    checks = {c.name: c for c in evaluate_checks(inputs)}
    assert checks["max_epsilon"].status == PASS and "Trained with differential privacy at epsilon" in \
        checks["max_epsilon"].sentence
    assert checks["max_attack_auc"].value == pytest.approx(audited.main.auc)
    report = report_from_inputs(inputs, "html")
    assert report.content["explanations"]["status"] == report.content["privacy"]["audit"]["status"] == "done"
    assert "What the model leans on, by group" in report.text and "Leakage by group" in report.text
    assert "--epsilon 8.0" in report.content["provenance"]["command"]
    assert dict(runs.artifacts(run_id).manifest()) == files_before  # read the caches, computed nothing
