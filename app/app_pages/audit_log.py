"""Audit log (evaluators): sign-ins, uploads, undo, replacements, framework edits, accounts, exports."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import audit

ctx = context()
st.title("Audit log")
with widgets.refusals_shown():
    log = audit.events(store(), ctx.viewer)
if log.empty:
    st.caption("Nothing recorded yet.")
else:
    actions = st.multiselect("Actions", list(audit.ACTIONS), key="audit_actions")
    shown = log[log["action"].isin(actions)] if actions else log
    widgets.table(shown)
    widgets.downloads(shown, "audit-log", "audit")
