"""The PDF reports' charts, drawn by matplotlib from `qa.chart_data`, the same data as the dashboard's figures.

The reports used to draw the dashboard's plotly figures through kaleido, which needs a Chromium: starting
it took 2.5-3.5 s on this machine and stopping it 1.3 s more, most of a school report's time. matplotlib
draws a chart in about 0.1-0.2 s in the process itself, and needs no browser.
"""

from __future__ import annotations

import io
import re
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator, PercentFormatter

from qa.chart_data import TARGET_COLOUR, BarChart, HeatChart, LineChart

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
    if chart.marker_at in position:
        ax.axvline(position[chart.marker_at], color="#666666", linestyle=":")
        ax.annotate(chart.marker_label, (position[chart.marker_at], 1), xycoords=("data", "axes fraction"),
                    xytext=(4, -4), textcoords="offset points", ha="left", va="top", fontsize=10, color="#444444")
    ax.set_xticks(range(len(chart.categories)), chart.categories)
    ax.set_xlim(-0.25, len(chart.categories) - 0.75)
    ax.set_ylim(bottom=0)
    if chart.y_suffix == "%":
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.grid(axis="y", color="#dddddd")
    ax.set_axisbelow(True)
    _titles(fig, ax, chart.title, chart.x_title, chart.y_title)
    fig.legend(loc="outside lower center", ncols=len(chart.lines), frameon=False, fontsize=10)
    return fig


def plain_label(text: str) -> str:
    """A plotly label as matplotlib writes it: <br> a line break, other markup (<b>) left out."""
    return re.sub(r"<[^>]+>", "", text.replace("<br>", "\n"))


def heat_chart(chart: HeatChart, width: int = 1000, height: int = 300) -> Figure:
    """Cells coloured on the chart's scale with each cell's label written in it; a blank (NaN) cell is white."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    scale = colormaps[_SCALES[chart.colour_scale]]
    finite = chart.z[np.isfinite(chart.z)]
    norm = Normalize(chart.zmin if chart.zmin is not None else (finite.min() if finite.size else 0),
                     chart.zmax if chart.zmax is not None else (finite.max() if finite.size else 1))
    image = ax.imshow(chart.z, cmap=scale, norm=norm, aspect="auto",
                      origin="upper" if chart.first_row_on_top else "lower")
    ax.set_xticks(range(len(chart.x)), chart.x)
    ax.set_yticks(range(len(chart.y)), [textwrap.fill(label, 24) for label in chart.y])
    for (row, col), value in np.ndenumerate(chart.z):
        red, green, blue, _ = scale(norm(value)) if np.isfinite(value) else (1, 1, 1, 1)
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
        ax.text(col, row, plain_label(chart.text[row][col]), ha="center", va="center", fontsize=10,
                color="white" if dark else "black",
                fontweight="bold" if chart.text[row][col].startswith("<b>") else "normal")
    if chart.outline:
        row, col = chart.outline
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=TARGET_COLOUR, linewidth=4))
    if chart.colour_title:
        fig.colorbar(image, ax=ax, label=chart.colour_title)
    _titles(fig, ax, chart.title, chart.x_title, chart.y_title)
    return fig


def bar_chart(chart: BarChart, width: int = 1000, height: int = 320) -> Figure:
    """Vertical bars, one colour each, from zero."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    ax.bar(range(len(chart.x)), chart.y, color=chart.colours)
    ax.set_xticks(range(len(chart.x)), chart.x)
    ax.set_ylim(bottom=0, top=max([*chart.y, 1]) * 1.05)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True) if not chart.whole_ticks else MaxNLocator(steps=[1]))
    ax.grid(axis="y", color="#dddddd")
    ax.set_axisbelow(True)
    _titles(fig, ax, chart.title, chart.x_title, chart.y_title)
    return fig


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
