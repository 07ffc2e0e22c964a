"""Activity page: who did what, filtered, as a table and a CSV, and whether the log's hash chain is intact."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import get_settings
from core.safety import formula_safe_frame
from core.security import activity
from ui.feedback import user_errors
from ui.header import page_header
from ui.router import require_app_router
from ui.text import md_escape

require_app_router()
st.title("Activity")
page_header("activity")
st.caption("Every sign-in, upload, deletion, training run, analysis and export, with who did it. Entries are "
           "hash-chained: changing, removing or reordering one breaks the chain, and the check below says where. "
           "Entries never hold values from your tables.")

home = get_settings().home
with user_errors():
    check = activity.verify(home)
    if check.ok:
        st.success(md_escape(f"The log is intact: {check.entries:,} entries; head {check.head_seq}:{check.head[:16]}…"),
                   icon=":material/verified:")
    else:
        st.error(md_escape(f"The log was altered at entry {check.first_bad_seq}: {check.reason}."), icon="⚠️")

    everything = activity.entries(home, newest_first=True)
    left, middle, right = st.columns(3)
    actors = sorted({e.actor for e in everything})
    actions = sorted({e.action for e in everything})
    actor = left.selectbox("Who", ["everyone", *actors], key="activity-actor")
    action = middle.selectbox("Action", ["every action", *actions], key="activity-action",
                              format_func=lambda a: a.replace("_", " "))
    subject = right.text_input("Run, dataset or user (id or name)", key="activity-subject", max_chars=100).strip()
    found = activity.entries(home, actor=None if actor == "everyone" else actor,
                             action=None if action == "every action" else action, run=subject or None,
                             newest_first=True)
    table = formula_safe_frame(pd.DataFrame(activity.as_rows(found),
                                            columns=["seq", "at", "actor", "action", "subject", "details", "hash"]))
    st.caption(f"{len(found):,} of {len(everything):,} entries (times in UTC; the CSV keeps them exact)")
    # read at a glance: times to the second, dataset ids short, actions and details in words (the CSV keeps
    # the log's exact text)
    shown = formula_safe_frame(table.drop(columns=["hash"]).assign(
        at=[str(t)[:19].replace("T", " ") for t in table["at"]], action=[a.replace("_", " ") for a in table["action"]],
        subject=[activity.subject_text(e.subject) for e in found],
        details=[activity.details_text(e.details) for e in found]))
    with st.container(key="scroll-activity"):  # a log: scroll it sideways for the details
        st.dataframe(shown, hide_index=True, width="stretch", key="activity-table")
    st.download_button("Download as CSV", table.to_csv(index=False).encode("utf-8"), "riskboard-activity.csv",
                       "text/csv", key="activity-csv")
