"""Plotly figure builders: pure functions of `qa` results, shared by the dashboard, the PDF reports and notebooks.

No Streamlit here: the reports in `qa` use the very same figures the pages show.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from qa import chart_data, schema
from qa.chart_data import PALETTE, TARGET_COLOUR, level_colours
from qa.disclosure import is_suppressed, numeric_or_nan

FONT = {"family": "Source Sans Pro, sans-serif", "size": 14}


def _layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0}, xaxis_title=x, yaxis_title=y, font=FONT,
                      colorway=PALETTE, margin={"l": 20, "r": 20, "t": 60, "b": 20},
                      legend={"orientation": "h", "y": -0.25}, hoverlabel={"font_size": 13})
    # Room for tick labels before the axis titles, however narrow the column or page (no hidden numbers).
    fig.update_xaxes(automargin=True, title_standoff=12)
    fig.update_yaxes(automargin=True, title_standoff=12)
    return fig


def _lines(chart: chart_data.LineChart) -> go.Figure:
    fig = go.Figure()
    for line in chart.lines:
        fig.add_scatter(x=line.x, y=line.y, name=line.name, mode="lines+markers" if line.markers else "lines",
                        line={"width": line.width, "dash": line.dash, "color": line.colour}, hovertemplate=line.hover)
    if chart.marker_at:  # add_vline cannot place a categorical x, so draw the marker as a shape
        fig.add_shape(type="line", x0=chart.marker_at, x1=chart.marker_at, yref="paper", y0=0, y1=1,
                      line={"dash": "dot", "color": "#666666"})
        fig.add_annotation(x=chart.marker_at, yref="paper", y=1.02, text=chart.marker_label, showarrow=False)
    fig.update_xaxes(categoryorder="array", categoryarray=chart.categories)
    fig.update_yaxes(rangemode="tozero", ticksuffix=chart.y_suffix)
    return _layout(fig, chart.title, chart.x_title, chart.y_title)


def _heat(chart: chart_data.HeatChart) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=chart.z, x=chart.x, y=chart.y, colorscale=chart.colour_scale, zmin=chart.zmin,
                               zmax=chart.zmax, text=chart.text, texttemplate="%{text}", hovertemplate=chart.hover,
                               showscale=chart.colour_title is not None,
                               colorbar={"title": chart.colour_title} if chart.colour_title else None))
    if chart.first_row_on_top:
        fig.update_yaxes(autorange="reversed")
    if chart.outline:
        row, col = chart.outline
        fig.add_shape(type="rect", xref="x", yref="y", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                      line={"color": TARGET_COLOUR, "width": 4}, fillcolor="rgba(0,0,0,0)")
    return _layout(fig, chart.title, chart.x_title, chart.y_title)


def cumulative_hours(progress: pd.DataFrame, threshold: float | None) -> go.Figure:
    """Median and mean counted hours to the end of each term against the pro-rata target line."""
    # from zero: hours accumulate from nothing, and an axis from 8 h exaggerates the climb
    return _lines(chart_data.cumulative_hours(progress, threshold))


def hours_distribution(teachers: pd.DataFrame, threshold: float | None) -> go.Figure:
    fig = px.histogram(teachers, x="counted_hours", nbins=20, color_discrete_sequence=[PALETTE[0]])
    fig.update_traces(hovertemplate="%{x} counted hours: %{y} teachers<extra></extra>")
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="#D55E00",
                      annotation_text=f"{threshold:g} h", annotation_position="top right")
    fig.update_xaxes(rangemode="tozero")
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, "How many counted hours teachers have", "Counted hours", "Teachers")


def aspect_heatmap(aspects: pd.DataFrame) -> go.Figure:
    return _heat(chart_data.aspect_heatmap(aspects))


def literal(value: object) -> str:
    """User text (provider names, titles) for a plotly label or hover text. Plotly renders a subset of
    HTML in labels (links, line breaks, styling), so '<', '>' and '&' become entities and show as typed."""
    return html.escape(str(value), quote=False)


def mix_bar(frame: pd.DataFrame, category: str, title: str) -> go.Figure:
    data = frame.sort_values("hours").assign(**{category: lambda f: f[category].map(literal)})
    fig = px.bar(data, x="hours", y=category, orientation="h", color_discrete_sequence=[PALETTE[2]])
    fig.update_traces(hovertemplate="%{y}: %{x:.1f} hours<extra></extra>")
    fig.update_xaxes(rangemode="tozero")
    return _layout(fig, title, "Hours", "")


def trend(by_year: pd.DataFrame, baseline_year: str | None, through_term: str | None = None,
          on_track: bool = False) -> go.Figure:
    """The two headline figures by year (see chart_data.trend), from zero, the baseline year marked."""
    return _lines(chart_data.trend(by_year, baseline_year, through_term, on_track))


def quadrant(frame: pd.DataFrame) -> go.Figure:
    """Collaborative × sustained hours, the target cell outlined (see chart_data.quadrant)."""
    return _heat(chart_data.quadrant(frame))


def provider_levels(levels: pd.DataFrame, order: list[str]) -> go.Figure:
    """Providers per kite-mark level: every level of the framework (`order`, lowest first), empty ones too."""
    chart = chart_data.provider_levels(levels, order)
    fig = go.Figure(go.Bar(x=chart.x, y=chart.y, marker_color=chart.colours, hovertemplate=chart.hover,
                           showlegend=False))
    fig.update_xaxes(categoryorder="array", categoryarray=chart.x)
    fig.update_yaxes(rangemode="tozero", dtick=1 if chart.whole_ticks else None)
    return _layout(fig, chart.title, chart.x_title, chart.y_title)


def level_trend(levels: pd.DataFrame, order: list[str]) -> go.Figure:
    """Each provider's kite-mark level per year (`provider`, `academic_year`, `kitemark_level`), the levels
    on a fixed axis lowest first, each point in its level's colour."""
    colours = level_colours(order)
    fig = go.Figure()
    if len(levels):  # every level on the axis, held there by an invisible point each
        fig.add_scatter(x=[levels["academic_year"].min()] * len(order), y=order, mode="markers",
                        marker={"opacity": 0}, showlegend=False, hoverinfo="skip")
    for provider, rows in levels.groupby("provider", sort=True):
        rows = rows.sort_values("academic_year")
        fig.add_scatter(x=rows["academic_year"], y=rows["kitemark_level"], name=literal(provider),
                        mode="lines+markers", line={"color": "#BBBBBB", "width": 1},
                        marker={"size": 12, "color": [colours.get(lv, "#666666") for lv in rows["kitemark_level"]],
                                "line": {"color": "#333333", "width": 1}},
                        hovertemplate=literal(provider) + ", %{x}: %{y}<extra></extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=order, range=[-0.5, len(order) - 0.5])
    fig.update_xaxes(type="category", categoryorder="category ascending")
    return _layout(fig, "Kite-mark level by year", "Academic year", "")


def share_trend(frame: pd.DataFrame, column: str, title: str) -> go.Figure:
    """A share per provider per year as lines from 0 to 100%; a suppressed year is a gap."""
    fig = go.Figure()
    for provider, rows in frame.groupby("provider", sort=True):
        rows = rows.sort_values("academic_year")
        fig.add_scatter(x=rows["academic_year"], y=numeric_or_nan(rows[column].astype(object)) * 100,
                        name=literal(provider), mode="lines+markers", connectgaps=False,
                        hovertemplate=literal(provider) + ", %{x}: %{y:.0f}% of hours<extra></extra>")
    fig.update_yaxes(range=[0, 100], ticksuffix="%")
    fig.update_xaxes(type="category", categoryorder="category ascending")
    return _layout(fig, title, "Academic year", "Share of hours")


def aspect_bars(row: pd.Series) -> go.Figure | None:
    """None when the provider's figures are suppressed."""
    if any(is_suppressed(row[f"share_hours_{a}"]) for a in schema.DFE_ASPECTS):
        return None
    labels = chart_data.ASPECT_LABELS
    values = [float(row[f"share_hours_{a}"]) * 100 for a in schema.DFE_ASPECTS]
    fig = px.bar(x=values, y=labels, orientation="h", color_discrete_sequence=[PALETTE[0]])
    fig.update_traces(hovertemplate="%{y}: %{x:.0f}% of hours<extra></extra>")
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    return _layout(fig, "Share of this provider's hours with each aspect", "Share of hours", "")
