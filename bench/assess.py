"""Benchmark: assess a national-scale synthetic database at every level.

Builds (once, cached in build/bench-national.duckdb) 100,000 teachers in 2,000
schools over 4 academic years with 20 activities each: 8,000,000 activities,
generated in DuckDB SQL. Then times each level's full assessment, each in a
fresh process so the peak memory figure is that level's own.

"plain" is the teacher-year aggregate written by hand in SQL (no rules, explanations or register joins),
the floor the teacher level is compared with in the same run.

Run: .venv/bin/python bench/assess.py [--teachers 100000] [--per-year 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

YEARS = ("2017/18", "2018/19", "2019/20", "2020/21")


def build(path: Path, teachers: int, per_year: int) -> float:
    from qa.store import Store

    started = time.perf_counter()
    per_teacher = per_year * len(YEARS)
    total = teachers * per_teacher
    with Store(path) as store, store.transaction() as cur:
        cur.execute("""INSERT INTO uploads (upload_id, file_name, sha256, uploaded_by, uploaded_at, rows_accepted,
                       rows_quarantined, warnings, status)
                       VALUES (1, 'synthetic', 'x', 'bench', now(), ?, 0, 0, 'active')""", [total])
        cur.execute(f"""
            INSERT INTO activities (activity_id, upload_id, school_id, teacher_id, activity_date, academic_year,
                term, activity_title, activity_type, hours, provider, provider_key, programme, subject_specific,
                subject, aligned_to_needs, pupil_outcomes, evidence_based, collaboration, sustained,
                source_sheet, source_row)
            WITH g AS (
                SELECT i, i // {per_teacher} AS t, (i % {per_teacher}) // {per_year} AS y,
                       hash(i) AS h1, hash(i + 1000000000) AS h2, hash(i + 2000000000) AS h3
                FROM range({total}) r(i)),
            d AS (SELECT *, DATE '2017-09-04' + CAST(365 * y + h1 % 320 AS INTEGER) AS day FROM g)
            SELECT i, 1, 'S' || lpad(CAST(t // 50 AS VARCHAR), 5, '0'), 'T' || CAST(t AS VARCHAR), day,
                   CAST(2017 + y AS VARCHAR) || '/' || lpad(CAST((18 + y) % 100 AS VARCHAR), 2, '0'),
                   CASE WHEN month(day) >= 9 THEN 'Autumn' WHEN month(day) <= 3 THEN 'Spring' ELSE 'Summer' END,
                   'Synthetic activity', 'course/workshop', 0.5 + (h2 % 12) * 0.5,
                   CASE WHEN h3 % 10 < 6 THEN 'Provider ' || CAST(h3 % 200 AS VARCHAR) END,
                   CASE WHEN h3 % 10 < 6 THEN 'provider ' || CAST(h3 % 200 AS VARCHAR) END,
                   CASE WHEN h2 % 5 = 0 THEN 'Programme ' || CAST(h3 % 50 AS VARCHAR) END,
                   h1 % 100 < 55, NULL, h2 % 100 < 70,
                   h1 % 7 < 5, h2 % 7 < 5, h3 % 7 < 4, (h1 % 11 + h2 % 11) % 7 < 3, 'Log', 2
            FROM d""")
        cur.execute("""INSERT INTO programmes (programme, provider, accrediting_body, valid_from, valid_to, min_hours,
                                               min_terms, recognition_title)
                       SELECT 'Programme ' || CAST(i AS VARCHAR), NULL, 'Accreditor',
                       DATE '2017-09-01', DATE '2021-08-31', 20, 2, 'Award' FROM range(25) r(i)""")
        cur.execute("""INSERT INTO providers (provider_key, provider, provider_type, quality_mark, quality_mark_level,
                                              awarded_on, expires_on)
                       SELECT 'provider ' || CAST(i AS VARCHAR), 'Provider ' || CAST(i AS VARCHAR), NULL,
                              CASE WHEN i % 4 = 0 THEN 'Quality Mark' END, NULL, NULL, DATE '2027-01-01'
                       FROM range(200) r(i)""")
    return time.perf_counter() - started


def national_database(prefix: str, builder: Callable[[Path, int, int], float], teachers: int,
                      per_year: int) -> Path:
    """build/PREFIX-TxP.duckdb, built by `builder` the first time (it returns the seconds it took)."""
    path = ROOT / "build" / f"{prefix}-{teachers}x{per_year}.duckdb"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        seconds = builder(path, teachers, per_year)
        print(f"built {path.name}: {teachers * per_year * len(YEARS):,} activities in {seconds:.1f} s")
    return path


# What a notebook would compute by hand for teacher-years: the floor the teacher assessment is judged against.
PLAIN_AGGREGATE = """
    SELECT school_id, teacher_id, academic_year, SUM(hours) AS total_hours,
           SUM(CASE WHEN quality THEN hours ELSE 0 END) AS quality_hours,
           SUM(CASE WHEN quality AND aligned_to_needs THEN hours ELSE 0 END) AS counted_hours,
           SUM(CASE WHEN quality AND aligned_to_needs AND subject_specific THEN hours ELSE 0 END) AS subject_hours,
           COUNT(*) AS activities
    FROM (SELECT school_id, teacher_id, academic_year, hours, aligned_to_needs, subject_specific,
                 (evidence_based::INT + collaboration::INT + sustained::INT + pupil_outcomes::INT) >= 3 AS quality
          FROM active_activities {where})
    GROUP BY school_id, teacher_id, academic_year ORDER BY school_id, academic_year, teacher_id"""


def _plain_aggregate(store) -> dict:
    timings = {}
    for label, where in (("seconds_all_years", ""), ("seconds_one_year", "WHERE academic_year = '2020/21'")):
        started = time.perf_counter()
        frame = store.query_df(PLAIN_AGGREGATE.format(where=where))
        timings[label] = round(time.perf_counter() - started, 2)
        timings["rows" if not where else "rows_one_year"] = len(frame)
    return {"level": "plain", **timings}


def case(db: str, level: str) -> None:
    import datetime as dt

    from qa import engine
    from qa.framework import load_framework
    from qa.store import Store

    with Store(db) as store:
        store.drop_stored_results()  # time the computation, not a stored result
        framework = load_framework("wellcome", store)
        if level == "plain":
            print(json.dumps(_plain_aggregate(store)))
            return
        started = time.perf_counter()
        result = engine.assess(store, level, framework, engine.Filters(as_of=dt.date(2021, 9, 1)), record=False)
        seconds = time.perf_counter() - started
        year_started = time.perf_counter()
        one_year = engine.assess(store, level, framework,
                                 engine.Filters(year="2020/21", as_of=dt.date(2021, 9, 1)), record=False)
        year_seconds = time.perf_counter() - year_started
    print(json.dumps({"level": level, "rows": len(result.results), "seconds_all_years": round(seconds, 2),
                      "rows_one_year": len(one_year.results), "seconds_one_year": round(year_seconds, 2)}))


def main() -> None:
    from _measure import run_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--per-year", type=int, default=20)
    args = parser.parse_args()
    path = national_database("bench-national", build, args.teachers, args.per_year)
    print(f"{'level':10} {'rows':>9} {'all years':>10} {'one year':>9} {'peak MB':>8}")
    for level in ("plain", "teacher", "school", "provider", "programme"):
        r = run_case(Path(__file__), "--case", str(path), level)
        print(f"{level:10} {r['rows']:>9,} {r['seconds_all_years']:>9.2f}s {r['seconds_one_year']:>8.2f}s "
              f"{r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
elif __name__ == "__case__":
    case(sys.argv[2], sys.argv[3])
