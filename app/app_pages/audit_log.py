"""Audit log (evaluators): sign-ins, uploads, undo, replacements, framework edits, accounts, exports."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import audit
from qa.access import AccessDenied

ctx = context()
st.title("Audit log")
try:
    log = audit.events(store(), ctx.viewer)
except AccessDenied as exc:
    st.error(str(exc), icon=":material/lock:")
    st.stop()
if log.empty:
    st.caption("Nothing recorded yet.")
else:
    actions = st.multiselect("Actions", list(audit.ACTIONS), key="audit_actions")
    shown = log[log["action"].isin(actions)] if actions else log
    widgets.table(shown)
    widgets.downloads(shown, "audit-log", "audit")
