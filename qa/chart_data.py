"""What a chart shows, as plain data: the one place each chart's numbers, labels and styles are prepared.

The dashboard draws them with plotly (`qa.figures`), the PDF reports with matplotlib (`qa.static_charts`),
so a report cannot drift from the page: both draw what these functions return. No plotting library here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qa import schema

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
TARGET_COLOUR = "#D55E00"
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
    zmin: float
    zmax: float
    colour_title: str
    hover: str = ""


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
