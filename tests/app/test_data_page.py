"""AppTest of pages/data.py: demo on first open, upload, picking columns, saving a spec, and the error paths."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.demo import synthetic_biased
from core.data.store import DatasetStore
from tests.conftest import ROOT
from tests.leaky_data import leaky_loans

PAGE = str(ROOT / "pages" / "data.py")


def plain(markdown: str) -> str:
    """What a reader sees: our pages escape Markdown in user text, Markdown shows the escaped characters plainly."""
    return re.sub(r"\\(.)", r"\1", markdown)


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, mime))
    at.run()
    assert not at.exception, at.exception
    return at


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def test_first_open_shows_the_demo_with_its_spec(riskboard_home):
    at = open_page()
    assert "adult" in at.selectbox(key="dataset_id").format_func(at.selectbox(key="dataset_id").value)
    suffix = at.selectbox(key="dataset_id").value[:12]
    assert at.selectbox(key=f"target-{suffix}").value == "income"
    assert at.selectbox(key=f"positive-{suffix}-income").value == ">50K"
    assert at.multiselect(key=f"sensitive-{suffix}-income").value == ["sex", "race", "age"]
    assert at.selectbox(key=f"binning-{suffix}-age").value == "edges"
    assert [m.label for m in at.metric] == ["Rows", "Columns", "Format"]
    assert at.metric[0].value == "32,561"
    assert len(at.dataframe) >= 2  # preview and schema
    schema = at.dataframe[1].value
    assert schema.loc[schema["column"] == "age", "kind"].item() == "numeric"
    assert not at.error


def test_upload_pick_columns_and_save_spec(riskboard_home):
    at = open_page()
    frame = synthetic_biased(300, seed=3)
    at = upload(at, "loans.csv", csv_bytes(frame))
    assert at.success and "Stored loans.csv: 300 rows" in plain(at.success[0].value)
    # the header names the new dataset at once, and not the demo's spec beside it
    assert plain(at.caption[0].value).startswith("Dataset: loans.csv (300 rows) · Spec: none saved yet")
    dataset_id = at.selectbox(key="dataset_id").value
    suffix = dataset_id[:12]
    at.selectbox(key=f"target-{suffix}").set_value("approved").run()
    at.selectbox(key=f"positive-{suffix}-approved").set_value("yes").run()
    at.multiselect(key=f"sensitive-{suffix}-approved").set_value(["group"]).run()
    form_button = next(b for b in at.button if b.label == "Save spec")
    form_button.click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    saved = DatasetStore(riskboard_home).list_specs(dataset_id)
    assert len(saved) == 1
    assert saved[0].target == "approved" and saved[0].positive_class == "yes"
    assert saved[0].sensitive_columns == ("group",)
    assert "approved" not in saved[0].features


def test_an_export_with_a_title_above_the_header_is_read_from_the_header(riskboard_home):
    at = open_page()
    at = upload(at, "export.csv", b"Loan book export, 2024-06-30\n\n" + csv_bytes(synthetic_biased(300, seed=3)))
    assert at.success and "Stored export.csv: 300 rows" in plain(at.success[0].value)
    [note] = [plain(w.value) for w in at.warning if "above the header" in plain(w.value)]
    assert note.startswith("1 line above the header was left out (starting 'Loan book export, 2024-06-30'): the "
                           "table starts at line 3.")
    suffix = at.selectbox(key="dataset_id").value[:12]
    assert "approved" in at.selectbox(key=f"target-{suffix}").options


def test_bad_upload_shows_an_error_and_the_page_keeps_working(riskboard_home):
    at = open_page()
    at = upload(at, "leaky.csv", csv_bytes(leaky_loans(300)))
    assert any("may give the target away" in plain(w.value) for w in at.warning)
    at = upload(at, "empty.csv", b"")
    assert at.error, "an empty file must give a visible error"
    assert "Traceback" not in at.error[0].value
    assert not at.warning and not at.metric  # nothing of the previous dataset is left to read as about this file
    at.run()  # a rerun with the failed file still in the uploader keeps saying why
    assert at.error and not at.warning
    at.file_uploader(key="upload").set_value(None).run()
    assert not at.exception and not at.error  # the file removed: the stored datasets are back and usable
    assert at.selectbox(key="dataset_id").value
    assert at.metric[0].value == "300"


def test_html_column_names_are_shown_as_text(riskboard_home):
    at = open_page()
    frame = pd.DataFrame({"<img src=x onerror=alert(1)>": range(40), "=HYPERLINK(\"http://x\")": ["a", "b"] * 20,
                          "y": ["p", "q"] * 20})
    at = upload(at, "<b>evil</b>.csv", csv_bytes(frame))
    assert not at.exception
    assert all("<img" not in m.value for m in at.markdown if getattr(m, "allow_html", False))
    names = list(at.dataframe[0].value.columns)
    assert "<img src=x onerror=alert(1)>" in names


@pytest.mark.parametrize("edges", ["30, x"])
def test_bad_cut_points_are_an_error_not_a_crash(riskboard_home, edges):
    at = open_page()
    suffix = at.selectbox(key="dataset_id").value[:12]
    at.text_input(key=f"edges-{suffix}-age").set_value(edges).run()
    assert not at.exception
    assert any("Cut points for 'age' must be numbers" in plain(e.value) for e in at.error)


def test_single_class_target_cannot_be_saved(riskboard_home):
    at = open_page()
    frame = pd.DataFrame({"x": range(50), "y": ["only"] * 50, "z": ["a", "b"] * 25})
    at = upload(at, "one-class.csv", csv_bytes(frame))
    suffix = at.selectbox(key="dataset_id").value[:12]
    at.selectbox(key=f"target-{suffix}").set_value("y").run()
    next(b for b in at.button if b.label == "Save spec").click().run()
    assert not at.exception
    assert any("single class" in plain(e.value) for e in at.error)


def test_leaky_column_is_warned_and_refused_as_feature(riskboard_home):
    at = open_page()
    frame = synthetic_biased(200, seed=9)
    frame["decision_code"] = frame["approved"].map({"yes": "A1", "no": "R0"})
    at = upload(at, "leaky.csv", csv_bytes(frame))
    suffix = at.selectbox(key="dataset_id").value[:12]
    at.selectbox(key=f"target-{suffix}").set_value("approved").run()
    assert any("may give the target away" in plain(w.value) and "decision_code" in plain(w.value) for w in at.warning)
    features = at.multiselect(key=f"features-{suffix}-approved")
    assert "decision_code" not in features.value  # left out by default, with the reason shown
    features.set_value([*features.value, "decision_code"]).run()
    next(b for b in at.button if b.label == "Save spec").click().run()
    assert any("'decision_code' holds the same information" in plain(e.value) for e in at.error)


def test_continuous_target_shows_one_error_and_no_class_widgets(riskboard_home):
    at = open_page()
    frame = pd.DataFrame({"x": range(120), "score": [i / 7 for i in range(120)], "y": ["a", "b"] * 60})
    at = upload(at, "scores.csv", csv_bytes(frame))
    suffix = at.selectbox(key="dataset_id").value[:12]
    at.selectbox(key=f"target-{suffix}").set_value("score").run()
    assert not at.exception and not at.error  # not a red stop: a warning that says how to fix it
    assert any("looks continuous or like an identifier" in plain(w.value) and "Pick a categorical target"
               in plain(w.value) for w in at.warning)
    assert not [s for s in at.selectbox if s.key and s.key.startswith(f"positive-{suffix}")]
    # the rest of the form is still there, and it cannot be saved until the target is fixed
    assert at.multiselect(key=f"features-{suffix}-score").value == ["y"]  # x is a row number
    assert next(b for b in at.button if b.label == "Save spec").disabled


def test_synthetic_demo_button_adds_and_selects_it(riskboard_home):
    at = open_page()
    at.button(key="add-synthetic").click().run()
    assert not at.exception
    meta = DatasetStore(riskboard_home).meta(at.selectbox(key="dataset_id").value)
    assert meta.name.startswith("synthetic-loans.csv") and meta.rows == 5000
    suffix = meta.id[:12]
    assert at.selectbox(key=f"target-{suffix}").value == "approved"
    assert at.multiselect(key=f"sensitive-{suffix}-approved").value == ["group"]
