"""Accounts (evaluators): who may sign in, with which role and school."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import accounts
from qa.access import ROLES

ctx = context()
db = store()
st.title("Accounts")
widgets.evaluators_only(ctx.viewer)

st.caption("People sign in with their school or organisation account; this list decides what they see. "
           "Anyone signed in without an account here sees no data.")
current = accounts.list_accounts(db)
widgets.table(current)
if not current.empty:
    widgets.downloads(current, "accounts", "accounts")

st.subheader("Add or change an account")
schools = db.schools()
with st.form("add_account", clear_on_submit=True):
    email = st.text_input("E-mail address", key="acct_email")
    role = st.selectbox("Role", ROLES, key="acct_role",
                        format_func={"evaluator": "Evaluator", "champion": "School CPD champion",
                                     "funder": "Funder"}.get)
    names = dict(zip(schools["school_id"], schools["name"], strict=True))
    school = st.selectbox("School (champions only)", ["", *names], key="acct_school",
                          format_func=lambda s: f"{names[s]} ({s})" if s else "—")
    if st.form_submit_button("Save account", type="primary"):
        try:
            accounts.add_account(db, email, role, school or None, ctx.viewer.email)
            st.success(f"Saved {accounts.normalise_email(email)} as {role}.")
        except accounts.AccountError as exc:
            st.error(str(exc))

if not current.empty:
    st.subheader("Remove an account")
    col1, col2 = st.columns([2, 1])
    gone = col1.selectbox("Account", current["email"].tolist(), key="acct_remove_pick")
    if col2.button("Remove", key="acct_remove"):
        accounts.remove_account(db, gone, ctx.viewer.email)
        st.success(f"Removed {gone}.")
        st.rerun()
