"""The benchmark tests' one helper: :func:`run_bench` runs a benchmark as its command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(module: str, tmp_path: Path, *args: str, timeout: float = 300) -> dict:
    """``python -m MODULE ARGS --out tmp_path/bench.json`` from the repository root, as a user
    runs it; the JSON it wrote, which must also be exactly what it printed."""
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", module, *args, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert json.loads(proc.stdout) == result, "stdout must be exactly the JSON"
    return result
