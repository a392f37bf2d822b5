"""The PDF reports' charts, drawn by matplotlib from `qa.chart_data`, the same data as the dashboard's figures.

A report used to draw the dashboard's plotly figures through kaleido, which needs a Chromium: starting it
took 2.5-3.5 s on this machine and stopping it 1.3 s more, most of a school report's time. matplotlib
draws a chart in about 0.1 s in the process itself, and needs no browser.
"""

from __future__ import annotations

import io
import textwrap

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from qa.chart_data import HeatChart, LineChart

DPI = 100
_DASHES = {"solid": "-", "dot": ":", "dash": "--"}
# matplotlib's names for plotly's colour scales used by chart_data
_SCALES = {"Cividis": "cividis", "Blues": "Blues"}


def _figure(width: int, height: int) -> Figure:
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _titles(fig: Figure, ax, title: str, x_title: str, y_title: str) -> None:
    ax.set_title(title, loc="left", fontsize=14)
    ax.set_xlabel(x_title, fontsize=11)
    ax.set_ylabel(y_title, fontsize=11)
    ax.tick_params(labelsize=10)


def line_chart(chart: LineChart, width: int = 1000, height: int = 440) -> Figure:
    """Lines over the chart's categories (in their order, as plotly's category array), y from zero."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    position = {c: i for i, c in enumerate(chart.categories)}
    for line in chart.lines:
        ax.plot([position[x] for x in line.x], line.y, label=line.name, color=line.colour,
                linestyle=_DASHES[line.dash], linewidth=line.width, marker="o" if line.markers else None)
    ax.set_xticks(range(len(chart.categories)), chart.categories)
    ax.set_xlim(-0.25, len(chart.categories) - 0.75)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd")
    ax.set_axisbelow(True)
    _titles(fig, ax, chart.title, chart.x_title, chart.y_title)
    fig.legend(loc="outside lower center", ncols=len(chart.lines), frameon=False, fontsize=10)
    return fig


def heat_chart(chart: HeatChart, width: int = 1000, height: int = 300) -> Figure:
    """Cells coloured on the chart's scale with each cell's label written in it."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    image = ax.imshow(chart.z, cmap=_SCALES[chart.colour_scale], vmin=chart.zmin, vmax=chart.zmax, aspect="auto")
    ax.set_xticks(range(len(chart.x)), chart.x)
    ax.set_yticks(range(len(chart.y)), [textwrap.fill(label, 24) for label in chart.y])
    mid = (chart.zmin + chart.zmax) / 2
    for (row, col), value in np.ndenumerate(chart.z):
        ax.text(col, row, chart.text[row][col], ha="center", va="center", fontsize=10,
                color="white" if np.isnan(value) or value < mid else "black")
    fig.colorbar(image, ax=ax, label=chart.colour_title)
    _titles(fig, ax, chart.title, chart.x_title, chart.y_title)
    return fig


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
