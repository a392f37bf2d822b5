"""Benchmark: every dashboard page for every role at national scale, and concurrent browser sessions.

Builds (once, cached in build/) the national database of bench/assess.py (100,000 teachers in 2,000
schools, 4 years, 8,000,000 activities) and gives it what a real programme accumulates: one upload
per school and term (24,000), a Schools and Teachers register, warnings on 1 row in 200, a row kept
aside in 1 upload in 6, and an audit log of every upload and sign-in. Then:

1. pages: each page for each role through Streamlit's AppTest, in a fresh process per role:
   the first render (which computes that data version's results), a new session after it, and a
   rerun of the same session (the best of 3 of each);
2. headless sessions: a real `streamlit run` on the database, warmed by one round, then 1, 5, 10
   and 20 sessions at once opened as Streamlit's front end opens them (its websocket protocol) but
   with no browser, so the machine's cores are the server's alone: what the server does for each
   visitor when every browser runs on its visitor's own machine (for returning visitors, whose browsers
   have Streamlit's front end cached, and for new ones, who fetch it from the server first);
3. browser sessions: the same, then 1, 5 and 10
   browser sessions at once (Playwright + Debian's chromium), each opening a page as a different
   role and waiting for its content; the server's resident memory after each round, and the CPU
   seconds the server and the browsers each spent per session;
4. the control: the same rounds on a Streamlit page of one metric and nothing else, which shows
   what a browser session of any Streamlit page costs this machine before cpdqa draws anything.

Run: .venv/bin/python bench/pages.py [--teachers 100000] [--skip-sessions] [--skip-browsers] [--skip-pages]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAGES = "app/app_pages"
ROLE_PAGES = {
    "evaluator": ["termly_round", "school", "funder", "providers", "upload", "data_quality", "frameworks",
                  "accounts", "audit_log"],
    "champion": ["school", "providers", "frameworks"],
    "funder": ["funder", "providers", "frameworks"],
}
URL_PATHS = {"school": "school", "funder": "overview", "providers": "providers"}


def build(path: Path, teachers: int, per_year: int) -> float:
    """The assess benchmark's activities, split into termly uploads, with registers, warnings and audit."""
    from assess import build as build_activities

    from qa.store import Store

    started = time.perf_counter()
    build_activities(path, teachers, per_year)
    with Store(path) as store, store.transaction() as cur:
        cur.execute("""
            CREATE TEMP TABLE returns AS
            SELECT school_id, academic_year, term,
                   CAST(row_number() OVER (ORDER BY academic_year, term, school_id) AS INTEGER) AS upload_id,
                   count(*) AS n
            FROM activities GROUP BY school_id, academic_year, term""")
        cur.execute("""UPDATE activities SET upload_id = r.upload_id FROM returns r
                       WHERE r.school_id = activities.school_id AND r.academic_year = activities.academic_year
                         AND r.term = activities.term""")
        cur.execute("DELETE FROM uploads")
        cur.execute("""
            INSERT INTO uploads (upload_id, file_name, sha256, uploaded_by, uploaded_at, rows_accepted,
                                 rows_quarantined, warnings, status)
            SELECT upload_id, school_id || '_' || replace(academic_year, '/', '-') || '_' || term || '.xlsx',
                   md5(CAST(upload_id AS VARCHAR)), 'eva@evaluation.org',
                   TIMESTAMP '2017-09-01' + INTERVAL (upload_id * 97) MINUTE, n,
                   CASE WHEN upload_id % 6 = 0 THEN 1 ELSE 0 END, n // 200, 'active'
            FROM returns""")
        cur.execute("SELECT setval('upload_seq', (SELECT max(upload_id) FROM uploads))")
        cur.execute("""INSERT INTO upload_scope SELECT upload_id, school_id, academic_year, term, NULL
                       FROM returns""")
        cur.execute("""
            INSERT INTO upload_warnings (upload_id, sheet, row_number, column_name, value, message)
            SELECT upload_id, 'Log', 2 + (activity_id % 300), 'collaboration', NULL,
                   'Collaboration is blank: counted as no'
            FROM activities WHERE activity_id % 200 = 7""")
        cur.execute("""
            INSERT INTO quarantine (upload_id, sheet, row_number, column_name, value, reason, raw_row)
            SELECT upload_id, 'Log', 40, 'hours', 'lots', 'Hours must be a number of hours, e.g. 1.5',
                   '{"teacher_id": "T1", "hours": "lots"}'
            FROM returns WHERE upload_id % 6 = 0""")
        cur.execute("""
            INSERT INTO schools (school_id, name, phase, type, local_authority, consent_to_name)
            SELECT DISTINCT school_id, 'School ' || school_id,
                   CASE WHEN hash(school_id) % 3 = 0 THEN 'Secondary' ELSE 'Primary' END, 'Academy',
                   'Authority ' || CAST(hash(school_id) % 60 AS VARCHAR), hash(school_id) % 2 = 0
            FROM returns""")
        cur.execute("""
            INSERT INTO teachers (school_id, teacher_id, role, career_stage, fte)
            SELECT DISTINCT school_id, teacher_id, 'Teacher', 'Experienced', 1.0 FROM activities""")
        cur.execute("""
            INSERT INTO audit_log (event_id, occurred_at, who, action, detail)
            SELECT nextval('audit_seq'), TIMESTAMP '2017-09-01' + INTERVAL (upload_id * 97) MINUTE,
                   'eva@evaluation.org', 'upload', 'upload ' || CAST(upload_id AS VARCHAR)
            FROM returns""")
        cur.execute("""
            INSERT INTO audit_log (event_id, occurred_at, who, action, detail)
            SELECT nextval('audit_seq'), TIMESTAMP '2017-09-01' + INTERVAL (i * 131) MINUTE,
                   'person' || CAST(i % 500 AS VARCHAR) || '@school.org', 'sign-in', NULL
            FROM range(30000) r(i)""")
    return time.perf_counter() - started


def _page_times(db: str, role: str) -> list[dict]:
    """In this process: every page of one role, first render / new session / rerun (seconds)."""
    from streamlit.testing.v1 import AppTest

    os.environ["CPDQA_DB"] = db
    champion_school = "S00000"

    def session(page: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
        at.query_params["role"] = role
        if role == "champion":
            at.query_params["champion_school"] = champion_school
        at.run()
        at.switch_page(f"{PAGES}/{page}.py")
        return at

    rows = []
    for page in ROLE_PAGES[role]:
        at = session(page)
        started = time.perf_counter()
        at.run()
        first = time.perf_counter() - started
        if at.exception:
            rows.append({"role": role, "page": page, "error": str(at.exception[0].message)[:200]})
            continue
        new_sessions, reruns = [], []
        for _ in range(3):
            other = session(page)
            started = time.perf_counter()
            other.run()
            new_sessions.append(time.perf_counter() - started)
            started = time.perf_counter()
            other.run()
            reruns.append(time.perf_counter() - started)
        rows.append({"role": role, "page": page, "first": round(first, 2), "session": round(min(new_sessions), 2),
                     "rerun": round(min(reruns), 2)})
    return rows


def pages(db: Path) -> list[dict]:
    results = []
    for role in ROLE_PAGES:
        out = subprocess.run([sys.executable, __file__, "--case-pages", str(db), role], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout
        results += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return results


def _free_port(first: int) -> int:
    """The first free port from `first` on (a shared machine: each person has a range)."""
    for port in range(first, first + 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port from {first}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the server process has used so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(root: int, exclude: int) -> float:
    """CPU time of every live process descended from `root` (Playwright's driver and each Chromium
    process), except the server's; a process's reaped children are in its own cumulative fields, so a
    renderer that closed with its context is still counted, by its parent."""
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for pid in cpu:
        p = pid
        while p not in (0, 1, root, exclude) and p in parents:
            p = parents[p]
        if p == root and pid not in (root, exclude):
            total += cpu[pid]
    return total / tick


def _rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of the server process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def _visit(browser, url: str, selector: str) -> float:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    started = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector(selector, timeout=300_000)
    await page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=300_000)
    seconds = time.perf_counter() - started
    await context.close()
    return seconds


def _dashboard_visits(base: str, n: int) -> list[tuple[str, str]]:
    """n visits to the dashboard, each as the next of five role and page pairs, with the element that
    shows its content."""
    mix = [("champion", "school"), ("funder", "funder"), ("evaluator", "school"), ("evaluator", "funder"),
           ("champion", "providers")]
    visits = []
    for role, page_name in (mix[i % len(mix)] for i in range(n)):
        query = f"?role={role}" + ("&champion_school=S00000" if role == "champion" else "")
        selector = '[data-testid="stDataFrame"]' if page_name == "providers" else '[data-testid="stMetricValue"]'
        visits.append((f"{base}/{URL_PATHS[page_name]}{query}", selector))
    return visits


# What the headless client waits for on each page: the element type the browser round's selector shows
# (stMetricValue is a metric; stDataFrame a dataframe).
CONTENT = {"school": "metric", "funder": "metric", "providers": "dataframe"}


async def _headless_visit(base: str, page_name: str, query: str, content: str, assets: tuple[str, ...] = ()) -> dict:
    """One session as Streamlit's own front end opens it, without a browser: the two small requests it makes
    before connecting, then the websocket (`/_stcore/stream`) and the first rerun it sends (the page's query
    string and its URL path as the page name; no page hash, widget states or cached messages yet: a new
    browser has none). Reaching content is the first successful script_finished after the page's content
    elements (`content`: metric or dataframe) have arrived, as the browser round waits for them on screen.
    `assets` (the paths a new browser fetched, `_asset_paths`) are fetched first, six at a time as a browser
    does; without them the visitor is one whose browser has Streamlit's front end cached already.
    What it returns: seconds, the element types received, the metrics' labels and values, the bytes."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from tornado.httpclient import AsyncHTTPClient
    from tornado.websocket import websocket_connect

    http = AsyncHTTPClient(force_instance=True, max_clients=1)  # its own: a shared one queues past 10 visits
    started = time.perf_counter()
    try:
        for path in ("/_stcore/health", "/_stcore/host-config"):
            await http.fetch(base + path)
        if assets:
            front_end = AsyncHTTPClient(force_instance=True, max_clients=6)
            try:
                await asyncio.gather(*(front_end.fetch(base + path, raise_error=False) for path in assets))
            finally:
                front_end.close()
    finally:
        http.close()
    ws = await websocket_connect(base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                 max_message_size=1 << 30)
    rerun = BackMsg()
    rerun.rerun_script.query_string = query.lstrip("?")
    rerun.rerun_script.page_name = page_name
    rerun.rerun_script.context_info.timezone = "Europe/London"
    rerun.rerun_script.context_info.locale = "en-GB"
    rerun.rerun_script.context_info.url = f"{base}/{page_name}{query}"
    rerun.rerun_script.context_info.color_scheme = "light"
    rerun.rerun_script.widget_states.SetInParent()
    await ws.write_message(rerun.SerializeToString(), binary=True)
    elements: dict[str, int] = {}
    metrics: list[tuple[str, str]] = []
    received = 0
    try:
        while True:
            data = await ws.read_message()
            if data is None:
                raise RuntimeError(f"the server closed the session on {page_name}{query}")
            received += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                name = element.WhichOneof("type")
                elements[name] = elements.get(name, 0) + 1
                if name == "metric":
                    metrics.append((element.metric.label, element.metric.body))
                elif name == "exception":
                    raise RuntimeError(f"{page_name}{query}: {element.exception.message}")
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the script asked for a rerun: the browser waits for that one too
                if msg.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    raise RuntimeError(f"{page_name}{query}: script finished with status {msg.script_finished}")
                if elements.get(content):
                    break
                raise RuntimeError(f"{page_name}{query} finished without a {content}: {elements}")
        seconds = time.perf_counter() - started
    finally:
        ws.close()
    return {"seconds": seconds, "elements": elements, "metrics": metrics, "bytes": received}


async def _asset_paths(base: str) -> tuple[str, ...]:
    """What a new browser fetches from the server to show the evaluator's School dashboard, besides the
    session itself (HTML, scripts, styles, fonts: about 125 requests, 9 MB), as paths; () without chromium."""
    from playwright.async_api import async_playwright

    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not chromium:
        return ()
    requested: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                           "--disable-dev-shm-usage"])
        page = await (await browser.new_context()).new_page()
        page.on("request", lambda request: requested.append(request.url))
        await page.goto(f"{base}/school?role=evaluator")
        await page.wait_for_selector('[data-testid="stMetricValue"]', timeout=300_000)
        await page.wait_for_load_state("networkidle")
        await browser.close()
    return tuple(url.removeprefix(base) for url in requested
                 if url.startswith(base + "/") and "/_stcore/stream" not in url)


def _headless_visits(n: int) -> list[tuple[str, str, str]]:
    """The browser round's mix (`_dashboard_visits`) as (page name, query string, content element)."""
    visits = []
    for url, _ in _dashboard_visits("", n):
        path, _, query = url.lstrip("/").partition("?")
        visits.append((path, f"?{query}", CONTENT[{v: k for k, v in URL_PATHS.items()}[path]]))
    return visits


# The control: a Streamlit page showing one metric and nothing else. What a session of it costs the
# browser is what any Streamlit page costs before cpdqa draws anything.
BARE_PAGE = 'import streamlit as st\nst.metric("Teachers", 42)\n'


@contextlib.contextmanager
def _server(db: Path, first_port: int, bare: bool = False) -> Iterator[tuple[subprocess.Popen, str]]:
    """`streamlit run` of the dashboard (or, with `bare`, of BARE_PAGE) on the first free port from
    `first_port`, once it answers its health check; stopped on leaving."""
    import tempfile

    port = _free_port(first_port)
    with tempfile.TemporaryDirectory() as folder:
        script = "streamlit_app.py"
        if bare:
            script = str(Path(folder) / "bare.py")
            Path(script).write_text(BARE_PAGE)
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.headless=true",
             "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
             "--server.fileWatcherType=none"],
            cwd=ROOT, env={**os.environ, "CPDQA_DB": str(db)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while True:
                try:
                    urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.5)
            yield server, base
        finally:
            server.terminate()
            server.wait(30)


def sessions(db: Path, first_port: int = 8617, bare: bool = False) -> list[dict]:
    """Time to content per browser session, and the server's and the browsers' CPU time per session: on a
    2-core machine the browsers compete with the server, so wall time alone cannot tell whose work it is.
    With `bare`, the same rounds on BARE_PAGE instead of the dashboard."""
    from playwright.async_api import async_playwright

    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not chromium:
        print("no chromium: sessions skipped")
        return []
    with _server(db, first_port, bare) as (server, base):
        def visits(n: int) -> list[tuple[str, str]]:
            return [(base, '[data-testid="stMetricValue"]')] * n if bare else _dashboard_visits(base, n)

        idle = _rss_mb(server.pid)[0]

        async def main() -> list[dict]:
            rows = []
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                                   "--disable-dev-shm-usage"])
                # computes this data version's results once
                warm = sorted(await asyncio.gather(*(_visit(browser, *v) for v in visits(5))))
                rows.append({"sessions": "warm-up (5)", "max": max(warm), "median": warm[2],
                             "rss_mb": _rss_mb(server.pid)[0]})
                for n in (1, 5, 10):
                    cpu, browsers = _cpu_seconds(server.pid), _tree_cpu_seconds(os.getpid(), server.pid)
                    times = sorted(await asyncio.gather(*(_visit(browser, *v) for v in visits(n))))
                    rss, peak = _rss_mb(server.pid)
                    server_cpu = (_cpu_seconds(server.pid) - cpu) / n
                    browser_cpu = (_tree_cpu_seconds(os.getpid(), server.pid) - browsers) / n
                    rows.append({"sessions": n, "max": max(times), "median": times[len(times) // 2],
                                 "server_cpu": server_cpu, "browser_cpu": browser_cpu, "rss_mb": rss, "peak_mb": peak,
                                 # the cores share the round's CPU work, whoever does it: its last session
                                 # cannot reach content much before the work is done
                                 "floor": n * (server_cpu + browser_cpu) / (os.cpu_count() or 1)})
                await browser.close()
            return rows

        rows = asyncio.run(main())
        rows.insert(0, {"sessions": "idle", "rss_mb": idle})
        return rows


def headless_sessions(db: Path, first_port: int = 8617, rounds: tuple[int, ...] = (1, 5, 10, 20),
                      new_visitors: bool = True) -> list[dict]:
    """The server's share of the browser rounds: the same role and page mix, each session opened by
    `_headless_visit` (Streamlit's websocket protocol, no browser), so the cores are the server's alone, as
    in a deployment where each browser runs on its user's machine. After the same warm-up, each round's
    seconds to content, the server's CPU seconds per session and its memory; every session of one role and
    page must have received the same metrics (a session that got other figures, or none, fails the round).
    Each round is run for visitors whose browsers have Streamlit's front end cached ("returning") and, with
    `new_visitors` and chromium to list them, again for visitors who fetch it first ("new")."""
    with _server(db, first_port) as (server, base):
        idle = _rss_mb(server.pid)[0]
        assets = asyncio.run(_asset_paths(base)) if new_visitors else ()

        async def main() -> list[dict]:
            figures: dict[tuple[str, str], list[tuple[str, str]]] = {}

            async def visit(page_name: str, query: str, content: str, assets: tuple[str, ...] = ()) -> float:
                got = await _headless_visit(base, page_name, query, content, assets)
                expected = figures.setdefault((page_name, query), got["metrics"])
                if got["metrics"] != expected:
                    raise RuntimeError(f"{page_name}{query}: {got['metrics']} where another session had {expected}")
                return got["seconds"]

            warm = sorted(await asyncio.gather(*(visit(*v) for v in _headless_visits(5))))
            rows = [{"sessions": "warm-up (5)", "max": max(warm), "median": warm[2], "rss_mb": _rss_mb(server.pid)[0]}]
            for visitors, fetched in (("returning", ()), ("new", assets)):
                if visitors == "new" and not fetched:
                    continue
                for n in rounds:
                    cpu = _cpu_seconds(server.pid)
                    times = sorted(await asyncio.gather(*(visit(*v, fetched) for v in _headless_visits(n))))
                    rss, peak = _rss_mb(server.pid)
                    rows.append({"sessions": f"{n} {visitors}", "max": max(times), "median": times[len(times) // 2],
                                 "server_cpu": (_cpu_seconds(server.pid) - cpu) / n, "rss_mb": rss, "peak_mb": peak})
            return rows

        rows = asyncio.run(main())
        rows.insert(0, {"sessions": "idle", "rss_mb": idle})
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--per-year", type=int, default=20)
    parser.add_argument("--skip-sessions", action="store_true")
    parser.add_argument("--port", type=int, default=8617, help="first port to try for the server")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-browsers", action="store_true", help="the headless sessions only")
    parser.add_argument("--case-pages", nargs=2, metavar=("DB", "ROLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case_pages:
        for row in _page_times(*args.case_pages):
            print(json.dumps(row))
        return
    from assess import national_database

    path = national_database("bench-pages", build, args.teachers, args.per_year)
    print(f"{'role':10} {'page':13} {'first':>7} {'session':>8} {'rerun':>7}   (seconds, AppTest)")
    for row in [] if args.skip_pages else pages(path):
        if "error" in row:
            print(f"{row['role']:10} {row['page']:13} ERROR {row['error']}")
        else:
            print(f"{row['role']:10} {row['page']:13} {row['first']:>7.2f} {row['session']:>8.2f} {row['rerun']:>7.2f}")
    if not args.skip_sessions:
        print(f"\nheadless sessions (Streamlit's websocket protocol, no browser: the server's share; "
              f"load average {os.getloadavg()[0]:.1f})")
        print(f"{'sessions':>13} {'slowest':>8} {'median':>8} {'server CPU/session':>19} {'server MB':>10} "
              f"{'peak MB':>8}")
        for row in headless_sessions(path, args.port):
            print(f"{row['sessions']!s:>13} {row.get('max', 0):>8.2f} {row.get('median', 0):>8.2f} "
                  f"{row.get('server_cpu', 0):>19.2f} {row['rss_mb']:>10.0f} {row.get('peak_mb', 0):>8.0f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    if not args.skip_sessions and not args.skip_browsers:
        print(f"\nbrowser sessions (load average {os.getloadavg()[0]:.1f})")
        print(f"{'sessions':>12} {'slowest':>8} {'median':>8} {'server CPU/session':>19} "
              f"{'browser CPU/session':>20} {'CPU floor':>10} {'server MB':>10} {'peak MB':>8}")
        for bare in (False, True):
            if bare:
                print("the control: a Streamlit page of one metric (BARE_PAGE), no database")
            for row in sessions(path, args.port, bare):
                print(f"{row['sessions']!s:>12} {row.get('max', 0):>8.2f} {row.get('median', 0):>8.2f} "
                      f"{row.get('server_cpu', 0):>19.2f} {row.get('browser_cpu', 0):>20.2f} "
                      f"{row.get('floor', 0):>10.2f} "
                      f"{row['rss_mb']:>10.0f} {row.get('peak_mb', 0):>8.0f}")
        print(f"CPU floor: the round's server and browser CPU seconds over this machine's {os.cpu_count()} cores, "
              "about the soonest its last session could reach content")


if __name__ == "__main__":
    main()
