"""The judgements, against hand-computed expectations, including every boundary the brief names."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa import engine
from qa.framework import FrameworkError, load_framework, parse_framework, save_version, with_overrides
from tests.conftest import activity, workbook_bytes

WELLCOME = load_framework("wellcome")
DONE = engine.Filters(as_of=dt.date(2021, 1, 1))  # 2019/20 is complete on this date


def teachers(store, framework=WELLCOME, filters=DONE):
    return engine.teacher_results(store, framework, filters).set_index("teacher_id")


def sessions(teacher, total, n=5, **flags):
    """`total` hours for `teacher` split into n equal sessions across the autumn term."""
    return [activity(teacher_id=teacher, hours=total / n, activity_date=dt.date(2019, 10, 1 + i), **flags)
            for i in range(n)]


def test_35_counted_hours_meets_and_34_99_does_not(store, load):
    rows = [*sessions("A", 35.0, n=7), *sessions("B", 30.0, n=6), activity(teacher_id="B", hours=4.99)]
    load(rows)
    result = teachers(store)
    assert result.loc["A", "counted_hours"] == 35.0 and bool(result.loc["A", "meets_hours"])
    assert result.loc["B", "counted_hours"] == pytest.approx(34.99) and not result.loc["B", "meets_hours"]
    assert result.loc["A", "status"] == "met" and result.loc["B", "status"] == "not_met"
    assert result.loc["B", "explanation"] == (
        "35 counted hours a year: 34.99 h; needs at least 35.0 h.")
    assert pd.isna(result.loc["A", "explanation"])


def test_exactly_half_subject_specific_meets(store, load):
    load(sessions("A", 20, n=4, subject_specific="Y") + sessions("A", 20, n=4, subject_specific="N")
         + sessions("B", 20, n=4, subject_specific="Y") + sessions("B", 20.5, n=4, subject_specific="N"))
    result = teachers(store)
    assert result.loc["A", "subject_specific_share"] == 0.5 and bool(result.loc["A", "meets_subject"])
    assert result.loc["A", "meets_framework"]
    assert result.loc["B", "subject_specific_share"] == pytest.approx(20 / 40.5)
    assert not result.loc["B", "meets_subject"] and not result.loc["B", "meets_framework"]
    assert result.loc["B", "explanation"].startswith("Most counted hours subject-specific: 49.4%; needs at least 50.0%")
    # a year missing from the years listed just before the query (an upload committed in between) is
    # explained in full all the same
    store.academic_years = lambda: ["2030/31"]
    late = engine._teacher_results(store, WELLCOME, DONE).set_index("teacher_id")
    assert late.loc["B", "explanation"] == "Most counted hours subject-specific: 49.4%; needs at least 50.0%."


def test_hours_not_aligned_to_needs_are_not_counted(store, load):
    load(sessions("A", 30, n=6) + sessions("A", 10, n=2, aligned_to_needs="N"))
    row = teachers(store).loc["A"]
    assert (row.total_hours, row.quality_hours, row.counted_hours) == (40.0, 40.0, 30.0)
    assert not row.meets_hours


def test_three_of_four_aspects_configuration(store, load):
    load(sessions("A", 36, n=6, sustained="N"))  # every activity has 3 of the 4 aspects
    assert teachers(store).loc["A", "counted_hours"] == 0.0
    three = with_overrides(WELLCOME, {"quality_min_aspects": 3})
    row = teachers(store, three).loc["A"]
    assert row.counted_hours == 36.0 and row.meets_framework


def test_lower_threshold_override(store, load):
    load(sessions("A", 30, n=6))
    assert not teachers(store).loc["A", "meets_framework"]
    assert teachers(store, with_overrides(WELLCOME, {"meets_hours": 30})).loc["A", "meets_framework"]


def test_fte_pro_rata_is_off_by_default_and_scales_when_on(store, load):
    roster = workbook_bytes({"Teachers": [{"teacher_id": "A", "school_id": "S1", "fte": 0.6}]})
    load(roster, name="roster.xlsx", accept_reference_changes=True)
    load(sessions("A", 21, n=3))
    assert not teachers(store).loc["A", "meets_hours"]
    row = teachers(store, with_overrides(WELLCOME, {"pro_rata_fte": True})).loc["A"]
    assert row.meets_hours  # 21 h against 35 × 0.6 = 21 h
    load(sessions("B", 10, n=2))  # not on the register: FTE 1
    autumn = engine.Filters(as_of=dt.date(2019, 12, 1))  # a third of the year: 120 h × 0.6 / 3 for A, 120 / 3 for B
    short = teachers(store, with_overrides(WELLCOME, {"pro_rata_fte": True, "meets_hours": 120}), autumn)
    assert short.loc["A", "explanation"] == ("Counted hours at least 120.0 h: 21.0 h so far; 24.0 h expected by the "
                                             "end of Autumn.")
    assert short.loc["B", "explanation"] == ("Counted hours at least 120.0 h: 10.0 h so far; 40.0 h expected by the "
                                             "end of Autumn.")


def test_on_track_during_the_year_is_pro_rata_by_terms(store, load):
    load(sessions("A", 12, n=3) + sessions("B", 11, n=2))
    autumn = engine.Filters(as_of=dt.date(2019, 12, 1))  # 1 term started: 35 × 1/3 = 11.67 h needed
    result = teachers(store, filters=autumn)
    assert result.loc["A", "status"] == "on_track" and result.loc["B", "status"] == "at_risk"
    assert not result.loc["A", "meets_hours"]  # the full-year test still reports honestly
    assert "11.0 h so far; 11.67 h expected by the end of Autumn." in result.loc["B", "explanation"]
    through_spring = engine.Filters(through_term="Spring", as_of=dt.date(2030, 1, 1))
    assert teachers(store, filters=through_spring).loc["A", "status"] == "at_risk"  # needs 23.33 h by Spring


def test_to_the_end_of_a_term_not_yet_begun_is_the_year_so_far(store, load):
    """Mid-Autumn, "up to the end of Summer" (or Spring) holds only Autumn's activities, so it is judged as the
    year so far: on track at the Autumn pro-rata target, as the whole-year view says, never "not met" for a year
    that has two terms still to come."""
    load(sessions("A", 12, n=3))  # 12 h in Autumn 2019: above 35 x 1/3 = 11.67 h
    mid_autumn = dt.date(2019, 11, 1)
    for term in (None, "Autumn", "Spring", "Summer"):
        result = teachers(store, filters=engine.Filters(year="2019/20", through_term=term, as_of=mid_autumn))
        assert result.loc["A", "status"] == "on_track", term
        school = engine.school_results(store, WELLCOME, engine.Filters(year="2019/20", through_term=term,
                                                                        as_of=mid_autumn)).iloc[0]
        assert (bool(school.in_progress), school.teachers_met_or_on_track) == (True, 1), term


def test_through_term_only_counts_terms_so_far(store, load):
    load([*sessions("A", 20, n=2), activity(teacher_id="A", hours=20, activity_date=dt.date(2020, 5, 1))])
    full = teachers(store).loc["A"]
    autumn_only = teachers(store, filters=engine.Filters(through_term="Autumn")).loc["A"]
    assert (full.counted_hours, autumn_only.counted_hours) == (40.0, 20.0)
    assert autumn_only.status == "on_track"  # 20 h ≥ 11.67 h after one term


def test_roster_teacher_without_records_appears_with_zero_hours_and_counts_for_the_school(store, load):
    load(workbook_bytes({"Teachers": [{"teacher_id": t, "school_id": "S1"} for t in ("A", "B", "Q")]}),
         name="roster.xlsx", accept_reference_changes=True)
    load(sessions("A", 40) + sessions("B", 10))
    result = teachers(store)
    assert result.loc["Q", "total_hours"] == 0 and bool(result.loc["Q", "no_records"])
    school = engine.school_results(store, WELLCOME, DONE).iloc[0]
    assert (school.teachers, school.teachers_meeting, school.teachers_without_records) == (3, 1, 1)
    assert school.share_meeting == pytest.approx(1 / 3)
    assert school.median_counted_hours == 10.0  # median of 40, 10, 0


def test_school_year_figures(store, load):
    rows = [*sessions("A", 36, n=4), activity(teacher_id="B", hours=10, collaboration="N"),
            activity(teacher_id="B", hours=10, activity_date=dt.date(2019, 11, 5))]
    load(rows)
    load(workbook_bytes({"Att": [{"school_id": "S1", "academic_year": "2019/20", "leadership_prioritised": "Y"}]}),
         name="att.xlsx", accept_reference_changes=True)
    s = engine.school_results(store, WELLCOME, DONE).iloc[0]
    assert (s.teachers, s.teachers_meeting, s.share_meeting) == (2, 1, 0.5)
    assert s.median_counted_hours == pytest.approx((36 + 10) / 2)
    assert s.share_activities_all_aspects == pytest.approx(5 / 6)  # 6 activities, one lacks collaboration
    assert s.share_hours_collaboration == pytest.approx(46 / 56)
    assert bool(s.leadership_prioritised)


def test_dfe_2016_school_rules_explain_what_is_missing(store, load):
    load(sessions("A", 10, n=2, collaboration="N"))
    s = engine.school_results(store, load_framework("dfe-2016"), DONE).iloc[0]
    assert bool(s.covers_pupil_outcomes) and not s.covers_collaboration and not s.leadership
    assert "Statement 3: collaboration and expert challenge: 0.0%; needs at least 50.0%." in s.explanation
    assert "Statement 5: prioritised by school leadership: no; needs yes." in s.explanation


def provider_rows(provider, n_teachers, all4_hours, three_hours, other_hours, programme=None, terms=1):
    """Each teacher logs the same mix with the provider; programme sessions spread over `terms` terms."""
    rows = []
    dates = [dt.date(2019, 10, 2), dt.date(2020, 2, 3), dt.date(2020, 5, 4)]
    for t in range(n_teachers):
        teacher = f"{provider}-{t}"
        for term in range(terms):
            if all4_hours:
                rows.append(activity(teacher_id=teacher, provider=provider, programme=programme,
                                     hours=all4_hours / terms, activity_date=dates[term]))
        if three_hours:
            rows.append(activity(teacher_id=teacher, provider=provider, hours=three_hours, sustained="N",
                                 activity_date=dt.date(2019, 10, 20)))
        if other_hours:
            rows.append(activity(teacher_id=teacher, provider=provider, hours=other_hours, sustained="N",
                                 collaboration="N", evidence_based="N", activity_date=dt.date(2019, 10, 21)))
    return rows


def test_kitemark_levels_and_what_holds_each_back(store, load):
    load(provider_rows("Few", 4, 10, 0, 0, "FewProg", terms=2)
         + provider_rows("Bronze", 5, 0, 5, 5)  # exactly 50% of hours with 3+ aspects
         + provider_rows("Under", 5, 0, 4.99, 5.01)
         + provider_rows("Silver", 5, 7, 0, 3, "SilverProg", terms=2)  # 70% all four, in a 2-term programme
         + provider_rows("Gold", 5, 8.5, 0, 1.5, "GoldProg", terms=2)
         + provider_rows("Lapsed", 5, 9, 0, 1, "LapsedProg", terms=2))
    register = [{"provider": "Gold", "quality_mark": "CPD Quality Mark", "expires_on": dt.date(2022, 1, 1)},
                {"provider": "Lapsed", "quality_mark": "CPD Quality Mark", "expires_on": dt.date(2020, 12, 31)}]
    load(workbook_bytes({"Providers": register}), name="register.xlsx", accept_reference_changes=True)
    result = engine.provider_results(store, WELLCOME, DONE).set_index("provider")
    assert result.loc["Few", "kitemark_level"] == "insufficient evidence"
    assert result.loc["Few", "kitemark_limited_by"] == "Fewer than 5 teachers logged activities with this provider (4)"
    assert result.loc["Bronze", "kitemark_level"] == "Bronze"
    assert result.loc["Bronze", "kitemark_limited_by"].startswith(
        "Silver: At least 70% of hours have all 4 DfE aspects. Figure: 0.0%")
    assert result.loc["Under", "kitemark_level"] == "working towards Bronze"
    assert result.loc["Under", "kitemark_limited_by"] == (
        "Bronze: At least half of the provider's hours have at least 3 of the 4 DfE aspects. Figure: 49.9%")
    assert result.loc["Silver", "kitemark_level"] == "Silver"
    assert result.loc["Gold", "kitemark_level"] == "Gold" and result.loc["Gold", "quality_mark_status"] == "current"
    assert result.loc["Lapsed", "quality_mark_status"] == "expired"
    assert result.loc["Lapsed", "kitemark_level"] == "Silver"
    assert result.loc["Lapsed", "kitemark_limited_by"] == (
        "Gold: The provider holds a current external quality mark on the register (an expiring mark still "
        "counts). Figure: no")


@pytest.mark.parametrize(("expires_on", "status"), [
    (dt.date(2020, 12, 31), "expired"), (dt.date(2021, 1, 1), "expiring"), (dt.date(2021, 4, 1), "expiring"),
    (dt.date(2021, 4, 2), "current"), (None, "current")])
def test_quality_mark_expiry_window_relative_to_the_given_date(store, load, expires_on, status):
    load(provider_rows("P", 1, 5, 0, 0))
    load(workbook_bytes({"Providers": [{"provider": "P", "quality_mark": "Mark", "expires_on": expires_on}]}),
         name="reg.xlsx", accept_reference_changes=True)
    result = engine.provider_results(store, WELLCOME, DONE)  # as of 1 Jan 2021; 90 days → 1 Apr 2021
    assert result.loc[0, "quality_mark_status"] == status


def test_recognition_needs_min_hours_and_min_terms_within_the_window(store, load):
    register = [{"programme": "Acc", "provider": "P", "accrediting_body": "CCT", "valid_from": dt.date(2019, 9, 1),
                 "valid_to": dt.date(2020, 3, 31), "min_hours": 10, "min_terms": 2, "recognition_title": "Award"}]
    load(workbook_bytes({"Programmes": register}), name="prog.xlsx", accept_reference_changes=True)
    autumn, spring, summer = dt.date(2019, 10, 1), dt.date(2020, 2, 1), dt.date(2020, 5, 1)
    rows = [
        activity(teacher_id="both", programme="Acc", hours=5, activity_date=autumn),
        activity(teacher_id="both", programme="Acc", hours=5, activity_date=spring),
        activity(teacher_id="one-term", programme="Acc", hours=10, activity_date=autumn),
        activity(teacher_id="too-few", programme="Acc", hours=4, activity_date=autumn),
        activity(teacher_id="too-few", programme="Acc", hours=5, activity_date=spring),
        activity(teacher_id="late", programme="Acc", hours=6, activity_date=autumn),
        activity(teacher_id="late", programme="Acc", hours=6, activity_date=summer),  # after valid_to
        activity(teacher_id="x", programme="NotAccredited", hours=30, activity_date=autumn),
        activity(teacher_id="x", programme="NotAccredited", hours=30, activity_date=spring),
    ]
    load(rows)
    per_teacher = engine.recognitions(store, WELLCOME, DONE).set_index("teacher_id")
    assert per_teacher["recognised"].to_dict() == {
        "both": True, "late": False, "one-term": False, "too-few": False, "x": False}
    programmes = engine.programme_results(store, WELLCOME, DONE).set_index("programme")
    assert programmes.loc["Acc", "recognised_teachers"] == 1 and bool(programmes.loc["Acc", "accredited"])
    assert programmes.loc["Acc", "teachers"] == 4
    assert programmes.loc["Acc", "terms_spanned_median"] == 2.0  # 2, 1, 2, 2
    assert not programmes.loc["NotAccredited", "accredited"]


def test_sustained_by_dates_is_shown_beside_the_self_reported_flag(store, load):
    load([activity(teacher_id="A", programme="P1", hours=3, sustained="Y", activity_date=dt.date(2019, 10, 1)),
          activity(teacher_id="B", programme="P1", hours=3, sustained="Y", activity_date=dt.date(2019, 10, 1)),
          activity(teacher_id="B", programme="P1", hours=3, sustained="Y", activity_date=dt.date(2020, 1, 10))])
    p = engine.programme_results(store, WELLCOME, DONE).iloc[0]
    assert p.share_hours_self_reported_sustained == 1.0
    assert p.share_teachers_sustained_by_dates == 0.5  # only B spans two terms


def test_only_recognised_hours_option(store, load):
    register = [{"provider": "Marked", "quality_mark": "QM", "expires_on": dt.date(2030, 1, 1)}]
    load(workbook_bytes({"Providers": register}), name="reg.xlsx", accept_reference_changes=True)
    load(sessions("A", 20, n=2, provider="Marked") + sessions("A", 20, n=2, provider="Unmarked"))
    strict = with_overrides(WELLCOME, {"only_recognised_hours": True})
    assert teachers(store).loc["A", "counted_hours"] == 40
    assert teachers(store, strict).loc["A", "counted_hours"] == 20


def test_eppi_framework_needs_collaborative_cpd_over_two_terms(store, load):
    load([activity(teacher_id="A", programme="LS", activity_date=dt.date(2019, 10, 1)),
          activity(teacher_id="A", programme="LS", activity_date=dt.date(2020, 1, 10)),
          activity(teacher_id="B", programme="LS", activity_date=dt.date(2019, 10, 1))])
    result = teachers(store, load_framework("eppi-collaborative-sustained"))
    assert result.loc["A", "collaborative_sustained_hours"] == 10 and result.loc["A", "status"] == "met"
    assert result.loc["B", "status"] == "not_met"


def test_assessment_runs_record_framework_version_and_uploads(store, load):
    first = load(sessions("A", 30))
    saved = save_version(store, with_overrides(WELLCOME, {"meets_hours": 30}), saved_by="eva")
    assert saved.version == 2 and load_framework("wellcome", store).version == 2
    assert load_framework("wellcome", store, version=1).rules[0].threshold == 35
    run = engine.assess(store, "teacher", "wellcome", DONE, run_by="eva")
    assert bool(run.results.loc[0, "meets_framework"])
    recorded = store.query_rows(
        "SELECT framework_id, framework_version, level, upload_ids, run_by FROM assessment_runs")
    assert recorded == [("wellcome", 2, "teacher", str(first.upload_id), "eva")]


def test_bad_framework_files_get_clear_errors():
    with pytest.raises(FrameworkError, match="not valid TOML"):
        parse_framework("id = ", "broken.toml")
    text = (FRAMEWORK := load_framework("wellcome")).to_toml().replace('metric = "counted_hours"', 'metric = "hourz"')
    with pytest.raises(FrameworkError, match="unknown teacher-year metric 'hourz'"):
        parse_framework(text, "typo.toml")
    with pytest.raises(FrameworkError, match="neither a rule of wellcome nor a definition"):
        with_overrides(FRAMEWORK, {"meets_hourz": 30})
    with pytest.raises(FrameworkError, match="Not saved: Aspects needed for quality CPD: input should be less than"):
        with_overrides(FRAMEWORK, {"quality_min_aspects": 5})


def test_every_shipped_framework_runs_every_level(store, load):
    load(sessions("A", 40, provider="P", programme="Prog"))
    for framework_id in ("wellcome", "dfe-2016", "eppi-collaborative-sustained"):
        for level in engine.LEVELS:
            assert len(engine.assess(store, level, framework_id, DONE, record=False).results) >= 1


def test_sustained_needs_the_framework_s_terms_and_knows_nothing_of_later_terms(store, load):
    """A programme over Autumn and Spring is sustained at 2 terms, not at 3; one over all three terms is
    sustained at 3 at the year's end, but not when the year is judged to the end of Spring."""
    autumn, spring, summer = dt.date(2019, 10, 1), dt.date(2020, 1, 10), dt.date(2020, 5, 1)
    load([activity(teacher_id="two", programme="P", hours=4, activity_date=autumn),
          activity(teacher_id="two", programme="P", hours=6, activity_date=spring),
          activity(teacher_id="two", programme="Q", hours=7, activity_date=autumn),  # one term only
          activity(teacher_id="three", programme="P", hours=4, activity_date=autumn),
          activity(teacher_id="three", programme="P", hours=6, activity_date=spring),
          activity(teacher_id="three", programme="P", hours=2, activity_date=summer)])
    eppi = load_framework("eppi-collaborative-sustained")
    at_two = teachers(store, with_overrides(eppi, {"sustained_min_terms": 2}))
    at_three = teachers(store, with_overrides(eppi, {"sustained_min_terms": 3}))
    to_spring = teachers(store, with_overrides(eppi, {"sustained_min_terms": 3}),
                         engine.Filters(through_term="Spring", as_of=dt.date(2021, 1, 1)))
    assert (at_two.loc["two", "collaborative_sustained_hours"], at_two.loc["three", "collaborative_sustained_hours"]) \
        == (10, 12)
    assert (at_three.loc["two", "collaborative_sustained_hours"],
            at_three.loc["three", "collaborative_sustained_hours"]) == (0, 12)
    assert to_spring.loc["three", "collaborative_sustained_hours"] == 0


def test_fte_comes_from_the_register_and_is_one_for_a_teacher_not_on_it(store, load):
    load(workbook_bytes({"Teachers": [{"teacher_id": "part", "school_id": "S1", "fte": 0.5},
                                      {"teacher_id": "idle", "school_id": "S1", "fte": 0.8}]}),
         name="roster.xlsx", accept_reference_changes=True)
    load(sessions("part", 20) + sessions("unlisted", 20))
    result = teachers(store, with_overrides(WELLCOME, {"pro_rata_fte": True}))
    assert bool(result.loc["part", "meets_hours"]) and not result.loc["unlisted", "meets_hours"]  # 20 h vs 17.5 / 35
    assert bool(result.loc["idle", "no_records"]) and result.loc["idle", "total_hours"] == 0
    assert sorted(result.index) == ["idle", "part", "unlisted"]


def test_teachers_are_counted_once_per_collaborative_sustained_cell_and_per_school(store, load):
    autumn, spring = dt.date(2019, 10, 1), dt.date(2020, 1, 10)
    load([activity(teacher_id="A", programme="P", activity_date=autumn, provider="Prov"),
          activity(teacher_id="A", programme="P", activity_date=spring),
          activity(teacher_id="A", activity_date=spring),  # collaborative, outside any programme
          activity(teacher_id="B", programme="P", collaboration="N", activity_date=autumn),
          activity(teacher_id="B", programme="P", collaboration="N", activity_date=spring),
          activity(teacher_id="C", collaboration="N"),
          activity(teacher_id="C", collaboration="N", activity_date=spring),
          activity(school_id="S2", teacher_id="A", provider="Prov")])  # another school's teacher A
    school = engine.school_results(store, WELLCOME, DONE).set_index("school_id").loc["S1"]
    cells = [school[name] for name in engine.QUADRANT]  # collaborative+sustained, collaborative only, ...
    assert cells == [1, 1, 1, 1]
    assert (school.hours_collaborative_sustained, school.hours_collaborative_only, school.hours_sustained_only,
            school.hours_neither) == (10, 5, 10, 10)
    provider = engine.provider_results(store, WELLCOME, DONE).set_index("provider").loc["Prov"]
    assert (provider.teachers, provider.schools) == (2, 2)


def _from_scratch(store, framework, filters):
    """The teacher level with the spans computed within the query, as a store that keeps no table does."""
    sql, params = engine._teacher_query(store, framework, filters)
    sql += f"\nSELECT {', '.join(engine._teacher_columns(framework))} FROM teacher_result " \
           "ORDER BY school_id, academic_year, teacher_id"
    return store.query_df(sql, params).set_index("teacher_id")


def test_the_kept_programme_spans_follow_every_upload_undo_and_replacement(store):
    """A programme is sustained by the terms of the returns that count now: an undone return's or a replaced
    return's sessions no longer count, and the table the levels join to is always of the data they read."""
    from qa.ingest import ingest_bytes, undo_upload

    eppi = load_framework("eppi-collaborative-sustained")  # collaborative hours in programmes over 2+ terms
    autumn, spring = dt.date(2019, 10, 1), dt.date(2020, 1, 10)

    def upload(rows, **options):
        return ingest_bytes(store, f"return{len(store.query_rows('SELECT 1 FROM uploads'))}.xlsx",
                            workbook_bytes(rows), **options).upload_id

    def sustained_hours(filters=DONE):
        kept = teachers(store, eppi, filters)
        tables = [t for (t,) in store.query_rows(
            "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, 'programme_spans_')")]
        assert tables == [f"programme_spans_{engine._spans_name_suffix()}{store.data_version}"]
        pd.testing.assert_frame_equal(kept, _from_scratch(store, eppi, filters))
        return kept["collaborative_sustained_hours"].to_dict()

    upload([activity(teacher_id="A", programme="P", hours=4, activity_date=autumn),
            activity(teacher_id="B", programme="P", hours=3, activity_date=autumn)])
    assert sustained_hours() == {"A": 0, "B": 0}
    spring_return = upload([activity(teacher_id="A", programme="P", hours=6, activity_date=spring)])
    assert sustained_hours() == {"A": 10, "B": 0}
    # judged to the end of Autumn, the Spring session is not yet known
    assert sustained_hours(engine.Filters(through_term="Autumn", as_of=dt.date(2021, 1, 1))) == {"A": 0, "B": 0}
    undo_upload(store, spring_return)
    assert sustained_hours() == {"A": 0, "B": 0}
    upload([activity(teacher_id="A", programme="P", hours=6, activity_date=spring),
            activity(teacher_id="B", programme="P", hours=2, activity_date=spring)])
    assert sustained_hours() == {"A": 10, "B": 5}
    # the Spring return replaced by one in which A's session is outside the programme
    upload([activity(teacher_id="A", hours=6, activity_date=spring),
            activity(teacher_id="B", programme="P", hours=2, activity_date=spring)], replace=True)
    assert sustained_hours() == {"A": 0, "B": 5}


_TERM_DAYS = {"Autumn": dt.date(2019, 10, 1), "Spring": dt.date(2020, 1, 10), "Summer": dt.date(2020, 5, 1),
              "Autumn 2020": dt.date(2020, 10, 1)}
_UPLOAD = st.tuples(st.just("upload"), st.sampled_from(list(_TERM_DAYS)),
                    st.lists(st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(["P", "P", None])),
                             min_size=1, max_size=3), st.booleans())
_STEPS = st.lists(st.one_of(_UPLOAD, _UPLOAD, st.tuples(st.just("undo"), st.integers(0, 5))), min_size=3, max_size=5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS)
def test_kept_spans_equal_spans_computed_in_the_query_after_any_uploads_undos_and_replacements(tmp_path_factory,
                                                                                                steps):
    from qa.ingest import ingest_bytes, undo_upload
    from qa.store import Store

    eppi = load_framework("eppi-collaborative-sustained")
    filters = [DONE, engine.Filters(through_term="Spring", as_of=dt.date(2021, 1, 1)),
               engine.Filters(year="2019/20", schools=("S1",), as_of=dt.date(2021, 1, 1))]
    with Store(tmp_path_factory.mktemp("spans") / "spans.duckdb") as store:
        uploads: list[int] = []
        for n, step in enumerate(steps):
            if step[0] == "upload":
                _, term, rows, replace = step
                report = ingest_bytes(store, f"r{n}.xlsx", workbook_bytes([
                    activity(teacher_id=t, programme=p, activity_date=_TERM_DAYS[term], hours=2 + n)
                    for t, p in rows]), replace=replace)
                uploads += [report.upload_id] if report.upload_id else []
            elif uploads:
                undo_upload(store, uploads.pop(step[1] % len(uploads)))
            for f in filters:
                kept = engine._teacher_results(store, eppi, f).set_index("teacher_id")
                pd.testing.assert_frame_equal(kept, _from_scratch(store, eppi, f))
                school = engine._school_results(store, eppi, f)
                sql, params = engine._school_sql(store, eppi, f, None)
                pd.testing.assert_frame_equal(school, store.query_df(sql, params))
