"""The shared plotly figures: axes from zero where amounts are drawn, the quadrant's target cell, fixed levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from qa import chart_data, figures, static_charts
from qa.disclosure import SUPPRESSED
from qa.framework import load_framework

KITEMARK_ORDER = ["insufficient evidence", "working towards Bronze", "Bronze", "Silver", "Gold"]


def test_kitemark_levels_come_from_the_framework_file_lowest_first():
    assert load_framework("kitemark").kitemark.level_names() == KITEMARK_ORDER


def test_cumulative_hours_start_at_zero_even_when_every_teacher_is_well_above_it():
    progress = pd.DataFrame({"term": ["Autumn", "Spring"], "median_counted_hours": [8.5, 19.0],
                             "mean_counted_hours": [9.0, 21.0]})
    fig = figures.cumulative_hours(progress, 35)
    assert fig.layout.yaxis.rangemode == "tozero"
    assert list(fig.layout.xaxis.categoryarray) == ["Autumn", "Spring", "Summer"]


@pytest.mark.parametrize("build", [
    lambda: figures.mix_bar(pd.DataFrame({"provider": ["A", "<b>B</b>"], "hours": [40.0, 55.0]}), "provider", "t"),
    lambda: figures.hours_distribution(pd.DataFrame({"counted_hours": [30.0, 36.0, 41.0]}), 35),
    lambda: figures.provider_levels(pd.DataFrame({"kitemark_level": ["Gold"], "providers": [3]}), KITEMARK_ORDER),
])
def test_bars_and_amounts_start_at_zero(build):
    fig = build()
    axis = fig.layout.xaxis if fig.data[0].orientation == "h" else fig.layout.yaxis
    assert axis.rangemode == "tozero"


def test_mix_bar_shows_a_provider_name_as_typed():
    fig = figures.mix_bar(pd.DataFrame({"provider": ['<a href="x">B</a>'], "hours": [5.0]}), "provider", "t")
    assert list(fig.data[0].y) == ['&lt;a href="x"&gt;B&lt;/a&gt;']


def quadrant_frame(hours: list) -> pd.DataFrame:
    return pd.DataFrame({"collaborative": ["yes", "yes", "no", "no"],
                         "sustained (2+ terms)": ["yes", "no", "yes", "no"], "hours": hours})


@pytest.mark.parametrize("hours", [[120.0, 60.0, 10.0, 10.0], [SUPPRESSED, 60.0, SUPPRESSED, 10.0]])
def test_quadrant_outlines_and_names_the_collaborative_and_sustained_cell(hours):
    fig = figures.quadrant(quadrant_frame(hours))
    heat = fig.data[0]
    assert list(heat.y) == ["collaborative", "not collaborative"]
    assert list(heat.x) == ["one-off or 1 term", "sustained over 2+ terms"]
    # the target is row 0 (collaborative), column 1 (sustained): its text and its outline
    assert heat.text[0][1].startswith("<b>target</b><br>")
    assert not any("target" in t for r, row in enumerate(heat.text) for c, t in enumerate(row) if (r, c) != (0, 1))
    assert heat.text[0][1].endswith("120 h<br>60%" if hours[0] == 120.0 else SUPPRESSED)
    [outline] = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (0.5, 1.5, -0.5, 0.5)
    assert outline.line.color == figures.TARGET_COLOUR and outline.line.width >= 3


def test_provider_levels_keep_every_level_in_order_and_colour_empty_ones_too():
    fig = figures.provider_levels(pd.DataFrame({"kitemark_level": ["Gold", "working towards Bronze"],
                                                "providers": [3, 5]}), KITEMARK_ORDER)
    bar = fig.data[0]
    assert list(bar.x) == KITEMARK_ORDER and list(bar.y) == [0, 5, 0, 0, 3]
    assert list(bar.marker.color) == ["#DDDDDD", "#56B4E9", "#A6611A", "#999999", "#E69F00"]
    assert fig.layout.xaxis.categoryorder == "array" and list(fig.layout.xaxis.categoryarray) == KITEMARK_ORDER
    empty = figures.provider_levels(pd.DataFrame({"kitemark_level": [], "providers": []}), KITEMARK_ORDER)
    assert list(empty.data[0].x) == KITEMARK_ORDER and list(empty.data[0].y) == [0] * 5
    assert list(empty.data[0].marker.color) == list(bar.marker.color)


def test_levels_a_framework_names_differently_still_get_fixed_distinct_colours():
    order = ["insufficient evidence", "working towards Entry", "Entry", "Advanced"]
    colours = figures.level_colours(order)
    assert colours["insufficient evidence"] == "#DDDDDD"
    assert len(set(colours.values())) == len(order)
    assert figures.level_colours(order) == colours  # the same every time


def test_level_trend_keeps_every_level_on_its_axis_and_each_point_in_its_level_colour():
    levels = pd.DataFrame({"provider": ["P", "P"], "academic_year": ["2019/20", "2020/21"],
                           "kitemark_level": ["Bronze", "Gold"]})
    fig = figures.level_trend(levels, KITEMARK_ORDER)
    assert list(fig.layout.yaxis.categoryarray) == KITEMARK_ORDER
    assert set(fig.data[0].y) == set(KITEMARK_ORDER) and fig.data[0].marker.opacity == 0
    assert list(fig.data[1].marker.color) == ["#A6611A", "#E69F00"]


def test_share_trend_draws_a_suppressed_year_as_a_gap_on_a_0_to_100_axis():
    frame = pd.DataFrame({"provider": ["P", "P", "P"], "academic_year": ["2018/19", "2019/20", "2020/21"],
                          "share_hours_all_aspects": [0.5, SUPPRESSED, 0.75]})
    fig = figures.share_trend(frame, "share_hours_all_aspects", "t")
    y = list(fig.data[0].y)
    assert y[0] == 50 and pd.isna(y[1]) and y[2] == 75
    assert tuple(fig.layout.yaxis.range) == (0, 100)


def test_trend_names_the_period_and_the_headline_it_draws():
    by_year = pd.DataFrame({"academic_year": ["2019/20", "2020/21"], "share_meeting": [0.0, 0.0],
                            "share_on_track": [0.3, 0.4], "share_activities_all_aspects": [0.5, SUPPRESSED]})
    fig = figures.trend(by_year, "2019/20", "Spring", on_track=True)
    assert fig.layout.title.text.endswith("each year to the end of Spring")
    assert fig.data[0].name == "Teachers meeting or on track" and list(fig.data[0].y) == [30, 40]
    assert fig.layout.yaxis.rangemode == "tozero"


def test_trend_legends_and_hover_show_a_provider_name_as_typed():
    evil = '<a href="https://evil.example">Click</a>'
    frame = pd.DataFrame({"provider": [evil], "academic_year": ["2020/21"], "kitemark_level": ["Gold"],
                          "share_hours_all_aspects": [0.9]})
    for fig in (figures.level_trend(frame, KITEMARK_ORDER), figures.share_trend(frame, "share_hours_all_aspects", "t")):
        drawn = fig.data[-1]
        assert drawn.name == '&lt;a href="https://evil.example"&gt;Click&lt;/a&gt;'
        assert "<a " not in drawn.hovertemplate


@pytest.mark.parametrize("terms", [["Autumn", "Spring"], ["Spring"], ["Autumn", "Spring", "Summer"]])
def test_the_school_reports_progress_chart_plots_the_dashboards_values(terms):
    progress = pd.DataFrame({"term": terms, "median_counted_hours": [8.5, 19.0, 30.25][:len(terms)],
                             "mean_counted_hours": [9.0, 21.5, 33.0][:len(terms)]})
    page = figures.cumulative_hours(progress, 35)
    ax = static_charts.line_chart(chart_data.cumulative_hours(progress, 35)).axes[0]
    categories = [t.get_text() for t in ax.get_xticklabels()]
    assert categories == list(page.layout.xaxis.categoryarray) == ["Autumn", "Spring", "Summer"]
    drawn = [(line.get_label(), [categories[int(x)] for x in line.get_xdata()], list(line.get_ydata()))
             for line in ax.get_lines()]
    assert drawn == [(t.name, list(t.x), list(t.y)) for t in page.data]
    assert drawn[-1] == ("Target (35 h a year, pro rata)", ["Autumn", "Spring", "Summer"],
                         pytest.approx([35 / 3, 70 / 3, 35]))
    assert ax.get_ylim()[0] == 0


def test_the_school_reports_aspect_chart_plots_the_dashboards_values():
    aspects = pd.DataFrame({"term": ["Autumn", "Spring"], "pupil_outcomes": [0.73, 0.61],
                            "evidence_based": [0.72, 0.5449], "collaboration": [0.64, 0.69],
                            "sustained": [0.6, 0.62], "all_four": [0.45, 0.34]})
    page = figures.aspect_heatmap(aspects).data[0]
    ax = static_charts.heat_chart(chart_data.aspect_heatmap(aspects)).axes[0]
    assert (ax.images[0].get_array() == page.z).all()
    assert [t.get_text() for t in ax.texts] == [text for row in page.text for text in row]
    assert [t.get_text() for t in ax.texts][:2] == ["73%", "61%"] and ax.texts[3].get_text() == "54%"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(page.x)
    assert [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()] == list(page.y)


def _drawn_lines(ax) -> list[tuple]:
    categories = [t.get_text() for t in ax.get_xticklabels()]
    return [(line.get_label(), [categories[int(x)] for x in line.get_xdata()], list(line.get_ydata()))
            for line in ax.get_lines() if not line.get_label().startswith("_")]  # "_child": the baseline marker


def test_the_funder_reports_trend_plots_the_dashboards_values_and_leaves_a_suppressed_year_out():
    by_year = pd.DataFrame({"academic_year": ["2017/18", "2018/19", "2019/20"],
                            "share_meeting": [0.02, SUPPRESSED, 0.18], "share_on_track": [0.1, 0.2, 0.3],
                            "share_activities_all_aspects": [0.12, 0.21, 0.32]})
    page = figures.trend(by_year, "2017/18")
    ax = static_charts.line_chart(chart_data.trend(by_year, "2017/18")).axes[0]
    drawn = _drawn_lines(ax)
    assert [(name, x) for name, x, _ in drawn] == [(t.name, list(t.x)) for t in page.data]
    for (_, _, y), trace in zip(drawn, page.data, strict=True):
        assert y == pytest.approx(list(trace.y), nan_ok=True)
    assert drawn[0][2] == pytest.approx([2.0, float("nan"), 18.0], nan_ok=True)
    [marker] = [line for line in ax.get_lines() if line.get_label().startswith("_")]
    assert list(marker.get_xdata()) == [0, 0] and page.layout.shapes[0].x0 == "2017/18"
    assert [t.get_text() for t in ax.texts] == ["baseline"]


@pytest.mark.parametrize("hours", [[120.0, 60.0, 10.0, 10.0], [SUPPRESSED, 60.0, SUPPRESSED, 10.0]])
def test_the_funder_reports_quadrant_shows_the_dashboards_cells_and_target(hours):
    page = figures.quadrant(quadrant_frame(hours)).data[0]
    ax = static_charts.heat_chart(chart_data.quadrant(quadrant_frame(hours))).axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array().filled(np.nan), np.asarray(page.z, dtype=float))
    assert [t.get_text() for t in ax.texts] == [static_charts.plain_label(t) for row in page.text for t in row]
    assert ax.texts[1].get_text().startswith("target\n")
    [outline] = ax.patches
    assert outline.get_xy() == (0.5, -0.5) and outline.get_edgecolor()[:3] == pytest.approx((213 / 255, 94 / 255, 0))


def test_the_funder_reports_levels_chart_shows_the_dashboards_bars():
    levels = pd.DataFrame({"kitemark_level": ["Gold", "Bronze"], "providers": [3, 1]})
    page = figures.provider_levels(levels, KITEMARK_ORDER).data[0]
    ax = static_charts.bar_chart(chart_data.provider_levels(levels, KITEMARK_ORDER)).axes[0]
    assert [bar.get_height() for bar in ax.patches] == list(page.y) == [0, 0, 1, 0, 3]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(page.x) == KITEMARK_ORDER
    assert [to_hex(bar.get_facecolor()) for bar in ax.patches] == [c.lower() for c in page.marker.color]
