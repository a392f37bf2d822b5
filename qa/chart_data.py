"""What a chart shows, as plain data: the one place each chart's numbers, labels and styles are prepared.

The dashboard draws them with plotly (`qa.figures`), the PDF reports with matplotlib (`qa.static_charts`),
so a report cannot drift from the page: both draw what these functions return. No plotting library here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qa import schema
from qa.disclosure import SUPPRESSED, numeric_or_nan

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
TARGET_COLOUR = "#D55E00"
LEVEL_COLOURS = {"Gold": "#E69F00", "Silver": "#999999", "Bronze": "#A6611A",
                 "working towards Bronze": "#56B4E9", "insufficient evidence": "#DDDDDD"}
ASPECT_LABELS = ["DfE 1 pupil outcomes", "DfE 2 evidence", "DfE 3 collaboration", "DfE 4 sustained"]


@dataclass(frozen=True)
class Line:
    name: str
    x: list[str]
    y: list[float]
    colour: str
    dash: str = "solid"  # plotly's names: solid, dot, dash
    width: float = 2
    markers: bool = True
    hover: str = ""  # plotly hover template


@dataclass(frozen=True)
class LineChart:
    title: str
    x_title: str
    y_title: str
    categories: list[str]  # the x axis, in order, whether or not every line reaches each
    lines: list[Line]
    y_suffix: str = ""
    marker_at: str | None = None  # a category marked by a dotted vertical line labelled `marker_label`
    marker_label: str = ""


@dataclass(frozen=True)
class HeatChart:
    title: str
    x_title: str
    y_title: str
    x: list[str]
    y: list[str]
    z: np.ndarray  # one row per y, one column per x
    text: list[list[str]]  # each cell's label
    colour_scale: str
    zmin: float | None  # None: the data's own range
    zmax: float | None
    colour_title: str | None  # None: no colour bar
    hover: str = ""
    outline: tuple[int, int] | None = None  # (row, column) of a cell outlined in TARGET_COLOUR
    first_row_on_top: bool = False  # plotly draws row 0 at the bottom unless told


@dataclass(frozen=True)
class BarChart:
    title: str
    x_title: str
    y_title: str
    x: list[str]
    y: list[int]
    colours: list[str]
    hover: str = ""
    whole_ticks: bool = False  # a tick at every whole number (small counts)


def cumulative_hours(progress: pd.DataFrame, threshold: float | None) -> LineChart:
    """Median and mean counted hours to the end of each term against the pro-rata target line."""
    terms = progress["term"].tolist()
    lines = [Line("Median teacher", terms, progress["median_counted_hours"].astype(float).tolist(), PALETTE[0],
                  width=3, hover="%{x}: median %{y:.1f} counted hours<extra></extra>"),
             Line("Mean", terms, progress["mean_counted_hours"].astype(float).tolist(), PALETTE[1], dash="dot",
                  hover="%{x}: mean %{y:.1f} counted hours<extra></extra>")]
    if threshold is not None:
        lines.append(Line(f"Target ({threshold:g} h a year, pro rata)", list(schema.TERMS),
                          [threshold * (i + 1) / 3 for i in range(len(schema.TERMS))], TARGET_COLOUR, dash="dash",
                          markers=False, hover="%{x}: target %{y:.1f} h<extra></extra>"))
    return LineChart("Cumulative counted hours by term", "End of term", "Counted hours per teacher",
                     list(schema.TERMS), lines)


def aspect_heatmap(aspects: pd.DataFrame) -> HeatChart:
    """Share of each term's hours with each DfE aspect (and all four), in percent."""
    z = aspects[[*schema.DFE_ASPECTS, "all_four"]].to_numpy(dtype=float).T * 100
    return HeatChart("Share of CPD hours with each DfE aspect, by term", "Term", "",
                     aspects["term"].tolist(), [*ASPECT_LABELS, "All four"], z,
                     [[f"{v:.0f}%" for v in row] for row in z], "Cividis", 0, 100, "% of hours",
                     hover="%{y}, %{x}: %{z:.0f}% of hours<extra></extra>")


def trend(by_year: pd.DataFrame, baseline_year: str | None, through_term: str | None = None,
          on_track: bool = False) -> LineChart:
    """The two headline figures by year (each year to the end of `through_term` when given): share of
    teachers meeting (`on_track`: meeting or on pace for, in a year to date), share of activities with
    all four aspects; a suppressed year is a gap."""
    column, name = ("share_on_track", "Teachers meeting or on track") if on_track else \
        ("share_meeting", "Teachers meeting the criteria")
    years = by_year["academic_year"].tolist()
    lines = [Line(name, years, (numeric_or_nan(by_year[column]) * 100).astype(float).tolist(), PALETTE[0], width=3,
                  hover="%{x}: %{y:.1f}% of teachers<extra></extra>"),
             Line("Activities with all four DfE aspects", years,
                  (numeric_or_nan(by_year["share_activities_all_aspects"]) * 100).astype(float).tolist(),
                  PALETTE[1], width=3, hover="%{x}: %{y:.1f}% of activities<extra></extra>")]
    title = "From the baseline year: the two headline figures"
    if through_term:
        title += f", each year to the end of {through_term}"
    return LineChart(title, "Academic year", "Share", years, lines, y_suffix="%",
                     marker_at=baseline_year or None, marker_label="baseline")


def quadrant(frame: pd.DataFrame) -> HeatChart:
    """Hours in each cell; a suppressed cell is drawn blank and labelled as suppressed, and then no
    percentages are given (they would reveal the total the suppressed cells share). Labels use plotly's
    markup (<b>, <br>); the static charts read it as bold and line breaks."""
    frame = frame.assign(hours=numeric_or_nan(frame["hours"].astype(object)))
    pivot = frame.pivot(index="collaborative", columns="sustained (2+ terms)", values="hours").loc[["yes", "no"],
                                                                                                 ["no", "yes"]]
    values = pivot.to_numpy(dtype=float)
    hidden = np.isnan(values).any()
    total = np.nansum(values) or 1
    text = [[SUPPRESSED if np.isnan(v) else f"{v:,.0f} h" + ("" if hidden else f"<br>{100 * v / total:.0f}%")
             for v in row] for row in values]
    # the cell the programme aims for: collaborative CPD sustained over 2+ terms (row 0, column 1)
    text[0][1] = "<b>target</b><br>" + text[0][1]
    return HeatChart("Collaborative × sustained CPD (hours; target outlined)", "How long the programme ran",
                     "Working with colleagues", ["one-off or 1 term", "sustained over 2+ terms"],
                     ["collaborative", "not collaborative"], values, text, "Blues", None, None, None,
                     hover="%{y}, %{x}: %{z:,.0f} hours<extra></extra>", outline=(0, 1), first_row_on_top=True)


def level_colours(order: list[str]) -> dict[str, str]:
    """A fixed colour per kite-mark level, so a level looks the same on every chart and page; levels a
    framework names differently take the next colour of the palette by their place in the order."""
    spare = iter(c for c in PALETTE if c not in LEVEL_COLOURS.values())
    return {lv: LEVEL_COLOURS.get(lv) or next(spare, "#666666") for lv in order}


def provider_levels(levels: pd.DataFrame, order: list[str]) -> BarChart:
    """Providers per kite-mark level: every level of the framework (`order`, lowest first), empty ones too."""
    counts = levels.set_index("kitemark_level")["providers"].reindex(order, fill_value=0) if len(levels) \
        else pd.Series(0, index=order)
    colours = level_colours(order)
    return BarChart("Providers by kite-mark level", "Level", "Providers", list(order),
                    [int(c) for c in counts.astype(int)], [colours[lv] for lv in order],
                    hover="%{x}: %{y} providers<extra></extra>", whole_ticks=bool(counts.max() <= 5))
