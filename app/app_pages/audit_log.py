"""Audit log (evaluators): sign-ins, uploads, undo, replacements, framework edits, accounts, exports."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import audit

ctx = context()
st.title("Audit log")
actions = st.multiselect("Actions", list(audit.ACTIONS), key="audit_actions")
with widgets.refusals_shown():
    log = audit.log(store(), ctx.viewer, tuple(actions))
widgets.paged_table(log, "audit-log", "audit", "Nothing recorded yet." if not actions else "No such events.")
