"""Benchmark: assess a national-scale synthetic database at every level.

Builds (once, cached in build/bench-national.duckdb) 100,000 teachers in 2,000
schools over 4 academic years with 20 activities each: 8,000,000 activities,
generated in DuckDB SQL. Then times each level's full assessment, each in a
fresh process so the peak memory figure is that level's own.

"plain" is the teacher-year aggregate written by hand in SQL (no rules, explanations or register joins),
the floor the teacher level is compared with in the same run, in CPU seconds (the process's, DuckDB's threads
included: steadier than wall time on a shared machine) and wall seconds. "spans" is the programme spans the
teacher, school and provider levels share, kept once per data version (`engine.refresh_programme_spans`):
the first assessment after an upload pays it once, every level, year and framework after it does not.
Levels are timed computing their results ("all years", "one year": the level's query to a DataFrame, as the plain
aggregate is timed) and, all years, as `engine.assess` runs for a page or the CLI, keeping the result in the
database for the next process too ("stored", wall seconds).

Run: .venv/bin/python bench/assess.py [--teachers 100000] [--per-year 20] [--runs 5] [--db FILE]
(--db: time an existing database instead, e.g. bench/pages.py's with its register and 24,000 uploads; it is
written to, as the dashboard would: the kept spans and the results stored.)
"""

from __future__ import annotations

import argparse
import json
import os
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


RUNS = int(os.environ.get("CPDQA_BENCH_RUNS", "5"))


def _timed(work: Callable[[], object]) -> tuple[object, float, float]:
    """What `work` returns, its wall seconds and its CPU seconds (each the best of RUNS runs)."""
    result, best_wall, best_cpu = None, float("inf"), float("inf")
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        best_wall, best_cpu = min(best_wall, time.perf_counter() - wall), min(best_cpu, time.process_time() - cpu)
    return result, best_wall, best_cpu


def _plain_aggregate(store) -> dict:
    timings = {"level": "plain"}
    for suffix, where in (("all_years", ""), ("one_year", "WHERE academic_year = '2020/21'")):
        frame, wall, cpu = _timed(lambda where=where: store.query_df(PLAIN_AGGREGATE.format(where=where)))
        timings |= {f"seconds_{suffix}": round(wall, 2), f"cpu_{suffix}": round(cpu, 2), f"rows_{suffix}": len(frame)}
    return timings


def case(db: str, level: str) -> None:
    import datetime as dt

    from qa import engine
    from qa.framework import load_framework
    from qa.store import Store

    with Store(db) as store:
        framework = load_framework("wellcome", store)
        if level == "plain":
            print(json.dumps(_plain_aggregate(store)))
            return
        if level == "spans":
            def refresh() -> None:
                engine.drop_programme_spans(store)
                engine.refresh_programme_spans(store)
            _, wall, cpu = _timed(refresh)
            print(json.dumps({"level": "spans", "seconds_all_years": round(wall, 2), "cpu_all_years": round(cpu, 2)}))
            return
        engine.refresh_programme_spans(store)  # kept once per data version, timed as "spans"
        timings = {"level": level}

        def assess(year: str | None) -> int:
            store.drop_stored_results()  # time the computation, not a stored result
            store.results.clear()
            return len(engine.assess(store, level, framework, engine.Filters(year=year, as_of=dt.date(2021, 9, 1)),
                                     record=False).results)

        # with the result kept in the database for the next process, as pages and the CLI do
        timings["seconds_stored"] = round(_timed(lambda: assess(None))[1], 2)
        # the computation alone, as the plain aggregate is timed
        engine._once = lambda store, level, frameworks, filters, compute: compute()
        for suffix, year in (("all_years", None), ("one_year", "2020/21")):
            rows, wall, cpu = _timed(lambda year=year: assess(year))
            timings |= {f"seconds_{suffix}": round(wall, 2), f"cpu_{suffix}": round(cpu, 2), f"rows_{suffix}": rows}
    print(json.dumps(timings))


def main() -> None:
    from _measure import run_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--per-year", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5, help="best of this many runs of each figure")
    parser.add_argument("--db", type=Path, help="an existing database to time instead of the generated one")
    args = parser.parse_args()
    path = args.db or national_database("bench-national", build, args.teachers, args.per_year)
    os.environ["CPDQA_BENCH_RUNS"] = str(args.runs)  # read by each case's fresh process
    print(f"{path.name}, best of {args.runs}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("x plain: CPU seconds / wall seconds, each against the plain aggregate's")
    print(f"{'level':10} {'rows':>9} {'all years':>10} {'CPU':>7} {'x plain':>13} {'one year':>9} {'CPU':>7} "
          f"{'stored':>7} {'peak MB':>8}")
    plain = None
    for level in ("plain", "spans", "teacher", "school", "provider", "programme"):
        r = run_case(Path(__file__), "--case", str(path), level)
        plain = plain or r
        ratio = (f"{r['cpu_all_years'] / plain['cpu_all_years']:.2f}x/"
                 f"{r['seconds_all_years'] / plain['seconds_all_years']:.2f}x")
        one_year = (f"{r['seconds_one_year']:>8.2f}s {r['cpu_one_year']:>6.2f}s" if "cpu_one_year" in r
                    else f"{'':>9} {'':>7}")
        stored = f"{r['seconds_stored']:.2f}s" if "seconds_stored" in r else ""
        print(f"{level:10} {r.get('rows_all_years', 0):>9,} {r['seconds_all_years']:>9.2f}s "
              f"{r['cpu_all_years']:>6.2f}s "
              f"{ratio:>13} {one_year} {stored:>7} {r['peak_mb']:>8.0f}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
elif __name__ == "__case__":
    case(sys.argv[2], sys.argv[3])
