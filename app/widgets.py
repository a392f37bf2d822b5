"""Small shared widgets: downloads, tables, empty states, badges."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from qa import audit
from qa.access import AccessDenied, Viewer, require
from qa.exports import to_csv_bytes, to_xlsx_bytes
from qa.framework import is_share_metric
from qa.labels import label, labelled
from qa.paging import PagedQuery

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEVEL_BADGES = {"Gold": ("Gold", "orange"), "Silver": ("Silver", "gray"), "Bronze": ("Bronze", "red"),
                "working towards Bronze": ("Working towards Bronze", "blue"),
                "insufficient evidence": ("Insufficient evidence", "gray")}


# Every ASCII punctuation mark may be backslash-escaped in Markdown (CommonMark 2.4) and then shows as itself.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def literal(text: object) -> str:
    """User text (a school or provider name from a spreadsheet) for a Markdown element, shown as typed:
    no links, images, emphasis, HTML or Streamlit directives such as :red[...]."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))
    # GitHub-flavoured autolinks (https://…, www.…, name@host) survive escaping: an invisible word
    # joiner after ':', '.' and '@' keeps them from being recognised, and the text looks the same
    return re.sub(r"(\\[:.@])", "\\1\u2060", escaped)


def caption(text: str, *user_text: object) -> None:
    """A caption whose `{}` slots are filled with user text shown literally."""
    st.caption(text.format(*(literal(t) for t in user_text)))


def _record_export(file_name: str, rows: int | None = None) -> None:
    from app.state import context, store

    audit.record(store(), context().viewer.email, "export",
                 file_name if rows is None else f"{file_name} ({rows} rows)")


def safe_name(text: str) -> str:
    """A file name (and XLSX sheet name) from ids such as 'URN:107*': no characters Excel or a disk refuses."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "export"


def downloads(frame: pd.DataFrame | Callable[[], pd.DataFrame], name: str, key: str) -> None:
    """CSV and XLSX of the table, headed in plain English (formula injection neutralised in qa.exports),
    audited.

    The files are built only when a button is clicked, so a page with a long table renders as fast as
    a short one; pass a function to fetch the whole table only then (when the page shows one page of it).
    """
    name = safe_name(name)

    def rows() -> pd.DataFrame:
        return labelled(frame() if callable(frame) else frame)

    count = None if callable(frame) else len(frame)
    left, right, _ = st.columns([1, 1, 4])
    left.download_button("CSV", lambda: to_csv_bytes(rows()), f"{name}.csv", "text/csv", key=f"{key}-csv",
                         on_click=_record_export, args=(f"{name}.csv", count), icon=":material/download:")
    right.download_button("XLSX", lambda: to_xlsx_bytes({name[:31]: rows()}), f"{name}.xlsx", XLSX_MIME,
                          key=f"{key}-xlsx", on_click=_record_export, args=(f"{name}.xlsx", count),
                          icon=":material/download:")


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def table(frame: pd.DataFrame, **column_config) -> None:
    """A dataframe shown as text, never as HTML, headed in plain English; shares as percentages, '<5' as it is."""
    shown = frame.copy()
    config = dict(column_config)
    for col in shown.columns:
        series = shown[col]
        is_share = is_share_metric(str(col))
        if series.dtype == object:
            numbers = pd.to_numeric(series, errors="coerce")
            if numbers.notna().sum() == series.notna().sum() and series.notna().any():
                series = shown[col] = numbers  # numbers that passed through suppression untouched
            elif is_share:  # numbers mixed with '<5': show them as the percentages they are
                shown[col] = series.map(lambda v: f"{100 * v:.1f}%" if isinstance(v, int | float)
                                        and not pd.isna(v) else _text(v))
                continue
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            if series.map(type).nunique() > 1 or series.isna().any():
                shown[col] = series.map(_text)
        elif is_share and pd.api.types.is_numeric_dtype(series) and col not in config:
            config[col] = st.column_config.NumberColumn(label(str(col)), format="percent")
    names = {c: label(c) for c in shown.columns if isinstance(c, str)}
    config = {names.get(c, c): v for c, v in config.items()}
    st.dataframe(shown.rename(columns=names), hide_index=True, column_config=config or None)


def empty_state(message: str) -> None:
    st.info(message, icon=":material/upload_file:")


def level_badge(level: str) -> None:
    label, colour = LEVEL_BADGES.get(level, (level, "gray"))
    st.badge(label, color=colour)


def pct(value: object, digits: int = 0) -> str:
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def share_column(label: str, help_text: str | None = None):
    return st.column_config.NumberColumn(label, format="percent", help=help_text)


def require_data(title: str, has_data: bool) -> None:
    """Page title, then stop with a pointer to the Upload page when there is nothing to show."""
    st.title(title)
    if not has_data:
        empty_state("No CPD returns yet. An evaluator can add termly returns on the Upload page.")
        st.stop()


def report_download(label: str, build, file_name: str, mime: str, key: str) -> None:
    """A download built only when clicked (PDFs take seconds), recorded in the audit log."""
    st.download_button(label, build, file_name, mime, key=key, icon=":material/picture_as_pdf:"
                       if file_name.endswith(".pdf") else ":material/download:",
                       on_click=_record_export, args=(file_name,))


@contextmanager
def refusals_shown() -> Iterator[None]:
    """Show the data layer's refusal to this viewer as a message, and stop the page there."""
    try:
        yield
    except AccessDenied as exc:
        st.error(str(exc), icon=":material/lock:")
        st.stop()


def evaluators_only(viewer: Viewer) -> None:
    """Stop the page, showing the data layer's refusal, for anyone who is not an evaluator."""
    with refusals_shown():
        require(viewer, "evaluator")


def paged_table(query: PagedQuery, name: str, key: str, empty: str, page_size: int = 100) -> pd.DataFrame:
    """One page of a long table at a time, with its position, and downloads of the whole of it.

    Returns the rows shown.
    """
    total = query.total()
    if not total:
        st.caption(empty)
        return pd.DataFrame()
    pages = -(-total // page_size)
    number = 1
    if pages > 1:
        left, right = st.columns([1, 3], vertical_alignment="bottom")
        number = left.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1,
                                   key=f"{key}-page")
        first = (number - 1) * page_size + 1
        right.caption(f"Rows {first:,}–{min(number * page_size, total):,} of {total:,}")
    shown = query.page(number, page_size)
    table(shown)
    downloads(query.all, name, key)
    return shown
