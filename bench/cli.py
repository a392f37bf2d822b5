"""Benchmark: the CLI's exports and reports at national scale, each as a user runs it (a fresh `cpdqa` process).

Uses the national database of bench/pages.py (8,000,000 activities, 24,000 uploads, registers, warnings,
audit). Each command runs first on a database whose stored results were dropped (it computes the
assessment levels it reads and stores them), then `--repeat` times on the stored results. For each run:
wall seconds, CPU seconds of the process (user + system, from its rusage: steadier than wall time on a
shared machine), peak resident MB, and the load average when it started.

Targets (issue 15): `cpdqa export` of one year under 10 s, the school report under 3 s.

Run: .venv/bin/python bench/cli.py [--teachers 100000] [--repeat 3] [--all-years]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

YEAR = "2020/21"
SCHOOL = "S00007"


def commands(db: Path, out: Path, all_years: bool) -> dict[str, list[str]]:
    cases = {
        "export one year": ["export", "--db", str(db), "--year", YEAR, "--out", str(out / "year.xlsx")],
        "school report": ["report", "school", "--db", str(db), "--school", SCHOOL, "--year", YEAR,
                          "--out", str(out / "school.pdf")],
        "funder report": ["report", "funder", "--db", str(db), "--year", YEAR, "--out", str(out / "funder.pdf")],
    }
    if all_years:
        cases["export all years"] = ["export", "--db", str(db), "--out", str(out / "all.xlsx")]
    return cases


def timed(args: list[str]) -> dict:
    """One `cpdqa` run in a fresh process: wall, CPU and peak memory of that process alone (wait4)."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", "from qa.cli import main; main()", *args], cwd=ROOT,
                             stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"cpdqa {' '.join(args)} failed with exit code {child.returncode}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024, "load": load}


def drop_stored(db: Path) -> None:
    from qa.store import Store

    with Store(db) as store:
        store.drop_stored_results()


def main() -> None:
    from assess import national_database
    from pages import build

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--per-year", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs on stored results after the first")
    parser.add_argument("--all-years", action="store_true", help="also export every year (slow, memory-hungry)")
    args = parser.parse_args()
    db = national_database("bench-pages", build, args.teachers, args.per_year)
    print(f"{'command':18} {'run':>8} {'wall s':>7} {'CPU s':>6} {'peak MB':>8} {'load':>5}")
    with tempfile.TemporaryDirectory() as folder:
        for name, cli_args in commands(db, Path(folder), args.all_years).items():
            drop_stored(db)
            runs = [("computed", timed(cli_args))] + [("stored", timed(cli_args)) for _ in range(args.repeat)]
            for label, r in runs:
                print(f"{name:18} {label:>8} {r['wall']:>7.2f} {r['cpu']:>6.2f} {r['peak_mb']:>8.0f} {r['load']:>5.1f}")
            best = min(r["wall"] for label, r in runs if label == "stored") if args.repeat else runs[0][1]["wall"]
            print(f"{name:18} {'best':>8} {best:>7.2f}")


if __name__ == "__main__":
    main()
