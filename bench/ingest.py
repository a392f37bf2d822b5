"""Benchmark: ingestion throughput and peak memory against a naive openpyxl baseline, in one run.

(a) one 100,000-row workbook; (b) a batch of 1,000 small school returns (60 rows each).
The naive baseline is `pandas.read_excel(engine="openpyxl")` then an INSERT into DuckDB,
with no validation at all. Each case runs in a fresh process so its peak memory is its own.

Run: .venv/bin/python bench/ingest.py [--rows 100000] [--files 1000] [--repeat 3] [--only workbook|batch]
     .venv/bin/python bench/ingest.py --stages [--repeat 3]   # where the 100,000-row workbook's time goes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

HEADERS = ["school_id", "teacher_id", "activity_date", "activity_title", "activity_type", "hours", "provider",
           "programme", "subject_specific", "aligned_to_needs", "pupil_outcomes", "evidence_based",
           "collaboration", "sustained"]


def write_workbook(path: Path, rows: int, school: str, seed: int) -> None:
    import numpy as np
    import xlsxwriter

    rng = np.random.default_rng(seed)
    book = xlsxwriter.Workbook(str(path), {"default_date_format": "dd/mm/yyyy"})
    ws = book.add_worksheet("Log")
    ws.write_row(0, 0, HEADERS)
    start = dt.datetime(2019, 9, 2)
    days = rng.integers(0, 300, rows)
    hours = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, 6.0], rows)
    flags = rng.random((rows, 6)) < 0.6
    for r in range(rows):
        ws.write_string(r + 1, 0, school)
        ws.write_string(r + 1, 1, f"{school}-{r // 20:05d}")  # about 20 activities per teacher
        ws.write_datetime(r + 1, 2, start + dt.timedelta(days=int(days[r])))
        ws.write_string(r + 1, 3, "Subject knowledge session")
        ws.write_string(r + 1, 4, "course/workshop")
        ws.write_number(r + 1, 5, float(hours[r]))
        ws.write_string(r + 1, 6, "STEM Learning")
        for c in range(6):
            ws.write_string(r + 1, 8 + c, "Y" if flags[r, c] else "N")
    book.close()


def prepare_inputs(rows: int, files: int, only: str | None = None) -> tuple[Path, Path]:
    base = ROOT / "build" / "bench-ingest"
    big = base / f"big-{rows}.xlsx"
    batch = base / f"batch-{files}"
    base.mkdir(parents=True, exist_ok=True)
    if not big.exists() and only != "batch":
        write_workbook(big, rows, "S00001", 1)
    if only != "workbook" and (not batch.exists() or len(list(batch.iterdir())) != files):
        batch.mkdir(exist_ok=True)
        for i in range(files):
            write_workbook(batch / f"school{i:04d}_Autumn.xlsx", 60, f"S{i:05d}", i)
    return big, batch


def case(kind: str, target: str) -> None:
    """Time the ingestion only: imports and creating an empty database happen before the clock starts."""
    import duckdb
    import pandas as pd

    from qa.ingest import ingest_files
    from qa.store import Store

    paths = sorted(Path(target).iterdir()) if Path(target).is_dir() else [Path(target)]
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.duckdb")
        if kind == "cpdqa":
            with Store(db) as store:
                started, cpu = time.perf_counter(), time.process_time()
                reports = ingest_files(store, paths, by="bench")
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            rows = sum(r.rows_accepted for r in reports)
            assert all(r.status == "accepted" for r in reports), [r.errors[:1] for r in reports if r.errors]
        else:  # the naive way: openpyxl through pandas, no validation, straight insert
            con = duckdb.connect(db)
            started, cpu = time.perf_counter(), time.process_time()
            rows = 0
            for path in paths:
                frame = pd.read_excel(path, engine="openpyxl")
                con.register("frame", frame)
                con.execute("CREATE TABLE IF NOT EXISTS raw AS SELECT * FROM frame LIMIT 0")
                con.execute("INSERT INTO raw SELECT * FROM frame")
                con.unregister("frame")
                rows += len(frame)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            con.close()
    # CPU seconds (all threads) as well: on a shared machine they drift less than wall time
    print(json.dumps({"rows": rows, "seconds": round(seconds, 2), "cpu": round(cpu, 2)}))


# (label, module, function): the stages of one ingest, timed by wrapping these functions (nested ones are
# part of the one above them); CPU seconds are the process's, every thread's
STAGES = (
    ("read the workbook", "qa.reader", "read_workbook"),
    ("  scan the sheet XML (hidden rows, extent)", "qa.reader", "xlsx_sheet_info"),
    ("  parse in two halves, to Python rows", "qa.reader", "_read_in_halves"),
    ("cells to Arrow (header, encoding)", "qa.ingest", "detect_sheet"),
    ("validate", "qa.ingest", "validate_batch"),
    ("  per-value parses (lookups)", "qa.validate", "with_lookups"),
    ("commit", "qa.returns", "commit_batch"),
    ("  COMMIT", None, "COMMIT"),
)


def stage_case(target: str) -> None:
    """One ingest of `target` with each stage of STAGES timed (wall and process CPU seconds)."""
    import importlib

    from qa import returns, store
    from qa.ingest import ingest_files
    from qa.store import Store

    spent: dict[str, list[float]] = {label: [0.0, 0.0] for label, _, _ in STAGES}

    def timed(label, function):
        def wrapper(*args, **kwargs):
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label][0] += time.perf_counter() - started
                spent[label][1] += time.process_time() - cpu
        return wrapper

    for label, module, name in STAGES:
        if module is not None:
            owner = importlib.import_module(module)
            setattr(owner, name, timed(label, getattr(owner, name)))
    plain_run = store.run

    def run(cur, sql, params=None):
        if sql.strip() != "COMMIT":
            return plain_run(cur, sql, params)
        return timed("  COMMIT", plain_run)(cur, sql, params)

    store.run = returns.run = run
    with tempfile.TemporaryDirectory() as tmp, Store(str(Path(tmp) / "bench.duckdb")) as db:
        started, cpu = time.perf_counter(), time.process_time()
        [report] = ingest_files(db, [Path(target)], by="bench")
        total = [time.perf_counter() - started, time.process_time() - cpu]
    assert report.status == "accepted", report.errors[:1]
    print(json.dumps({"total": total, **spent}))


def print_stages(target: Path, repeat: int) -> None:
    """The median of `repeat` fresh processes per stage: wall and CPU seconds."""
    from _measure import run_case

    runs = [run_case(Path(__file__), "--stage-case", str(target)) for _ in range(repeat)]
    print(f"where the time goes, {repeat} fresh processes (median wall s, median CPU s of all threads)")
    for label in ["total", *(label for label, _, _ in STAGES)]:
        wall, cpu = (statistics.median(run[label][k] for run in runs) for k in (0, 1))
        print(f"  {label:46} {wall:6.2f} {cpu:6.2f}")
    named = sum(statistics.median(run[label][1] for run in runs) for label, _, _ in STAGES if label[0] != " ")
    print(f"  {'the rest (sha256, zip checks, bookkeeping)':46} {'':6} "
          f"{statistics.median(run['total'][1] for run in runs) - named:6.2f}")


def main() -> None:
    from _measure import run_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per case, each in a fresh process; the fastest is reported (this machine is noisy)")
    parser.add_argument("--only", choices=("workbook", "batch"), help="run only case (a) or only case (b)")
    parser.add_argument("--stages", action="store_true", help="only the workbook, timed stage by stage")
    args = parser.parse_args()
    big, batch = prepare_inputs(args.rows, args.files, "workbook" if args.stages else args.only)
    if args.stages:
        print_stages(big, args.repeat)
        return
    print(f"best of {args.repeat} runs per case")
    print(f"{'case':38} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}  (median s, best CPU s)")
    results = {}
    cases = ((f"(a) one {args.rows:,}-row workbook", big, "workbook"),
             (f"(b) {args.files:,} small returns", batch, "batch"))
    for label, target, which in cases:
        if args.only and args.only != which:
            continue
        for kind in ("cpdqa", "naive"):
            runs = [run_case(Path(__file__), "--case", kind, str(target)) for _ in range(args.repeat)]
            r = min(runs, key=lambda run: run["seconds"])
            median = statistics.median(run["seconds"] for run in runs)
            results[(label, kind)] = r
            name = f"{label}, {'cpdqa' if kind == 'cpdqa' else 'naive openpyxl+insert'}"
            print(f"{name:38} {r['rows']:>8,} {r['seconds']:>8.2f} {r['rows'] / r['seconds']:>9,.0f} "
                  f"{r['peak_mb']:>8.0f}  ({median:.2f}, {min(run['cpu'] for run in runs):.2f})")
        ratio = results[(label, "naive")]["seconds"] / results[(label, "cpdqa")]["seconds"]
        cpu_ratio = results[(label, "naive")]["cpu"] / results[(label, "cpdqa")]["cpu"]  # of the fastest runs
        print(f"{'':38} cpdqa is {ratio:.1f}x the naive baseline ({cpu_ratio:.1f}x in CPU seconds, "
              f"steadier when the cores are shared)")


if __name__ == "__main__":
    main()
elif __name__ == "__case__" and sys.argv[1] == "--stage-case":
    stage_case(sys.argv[2])
elif __name__ == "__case__":
    case(sys.argv[2], sys.argv[3])
