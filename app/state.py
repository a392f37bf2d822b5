"""Process-wide store and per-session context (viewer, framework, year, term) for the pages."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from qa.access import Viewer
from qa.framework import Framework
from qa.store import Store

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / "data" / "demo.duckdb"


def db_path() -> str:
    return os.environ.get("CPDQA_DB") or str(DEFAULT_DB)


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    # One root connection per server process; every query takes its own cursor inside qa.
    return Store(path)


def store() -> Store:
    return _open_store(db_path())


@dataclass(frozen=True)
class Context:
    viewer: Viewer
    framework: Framework
    year: str | None
    through_term: str | None
    years: list[str]
    as_of: dt.date


def set_context(context: Context) -> None:
    st.session_state["_cpdqa_context"] = context


def context() -> Context:
    return st.session_state["_cpdqa_context"]
