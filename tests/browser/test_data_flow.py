"""The demo people give: open the app, upload a CSV, see its schema table. Real Chromium, real server."""

from __future__ import annotations

import pytest

from core.data.demo import synthetic_biased
from tests.browser.conftest import screenshot, wait_idle

pytestmark = pytest.mark.browser


def test_open_demo_then_upload_csv_and_see_schema(page, app_url, tmp_path):
    page.goto(f"{app_url}/data")  # the home page is the default route
    wait_idle(page)
    page.get_by_text("32,561").first.wait_for()  # the demo opens by itself

    frame = synthetic_biased(250, seed=7)
    frame.insert(0, "<b>name</b>", [f"row{i}" for i in range(len(frame))])
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    page.get_by_text("Stored loans.csv: 250 rows").wait_for()
    wait_idle(page)

    page.get_by_role("tab", name="Schema").click()
    grid = page.locator('[data-testid="stDataFrame"]').nth(1)
    grid.wait_for()
    # st.dataframe draws on a canvas; its cells are readable in the hidden accessible grid
    page.locator('table[role="grid"] td', has_text="debt_ratio").first.wait_for(state="attached")
    cells = page.locator('table[role="grid"] td').all_inner_texts()
    assert "debt_ratio" in cells and "numeric" in cells and "categorical" in cells
    assert "<b>name</b>" in cells  # an HTML column name is shown as text
    assert page.locator("b", has_text="name").count() == 0  # and never rendered as markup
    shot = screenshot(page, "data-page-upload.png")
    assert shot.stat().st_size > 10_000
