"""Audit your own model in a real browser: upload an ONNX file and its table on the Fairness page, check the
column-to-input mapping, import it as a run."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, wait_idle
from tests.core import _onnx_models as onnx_models

pytestmark = pytest.mark.browser


def test_upload_an_onnx_model_check_the_mapping_and_import_it(page, app_url, tmp_path):
    frame = onnx_models.table(300)
    _, model = onnx_models.logistic(frame)
    (tmp_path / "scorer.onnx").write_bytes(model)
    frame[["y", "a", "b", "c"]].to_csv(tmp_path / "holdout.csv", index=False)  # the label first, then the inputs
    page.goto(f"{app_url}/fairness")
    wait_idle(page)
    page.get_by_text("Audit your own model (upload an ONNX file)").click()
    uploads = page.locator('[data-testid="stExpander"]').filter(has_text="Audit your own model").locator(
        'input[type="file"]')
    uploads.nth(0).set_input_files(str(tmp_path / "scorer.onnx"))
    wait_idle(page)
    uploads.nth(1).set_input_files(str(tmp_path / "holdout.csv"))
    wait_idle(page)
    page.get_by_role("button", name="Check the mapping").click()
    wait_idle(page)
    page.locator('table[role="grid"] td', has_text="tensor(float)").first.wait_for(state="attached")
    cells = page.locator('table[role="grid"] td').all_inner_texts()
    assert "X" in cells and "[N, 3]" in cells and "a, b, c" in cells
    page.get_by_role("button", name="Import as a run").click()
    wait_idle(page)
    page.get_by_text("Imported scorer.onnx as run").wait_for()
    screenshot(page, "fairness-model-upload.png")
