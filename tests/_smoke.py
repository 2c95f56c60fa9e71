"""Run a benchmark script's smoke mode in a subprocess (tests of benchmarks/*.py --quick)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_quick(script: str, out: Path, plots: Path | None = None, timeout: int = 900):
    """``python benchmarks/<script> --quick --out <out> [--plots <plots>]`` from the
    repository root with the package importable; asserts it exited 0 and returns the
    finished process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = [sys.executable, f"benchmarks/{script}", "--quick", "--out", str(out)]
    if plots is not None:
        args += ["--plots", str(plots)]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc
