"""Run a benchmark case in a fresh subprocess and report its wall time and peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_case(script: Path, *args: str) -> dict:
    """The case prints one JSON line with its own timings; peak RSS comes from the child's rusage."""
    code = (
        "import json, resource, runpy, sys\n"
        f"sys.argv = {[str(script), *args]!r}\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__case__')\n"
        "finally:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(json.dumps({'peak_mb': round(peak / 1024, 1)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=script.parent.parent).stdout
    result: dict = {}
    for line in out.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    return result
