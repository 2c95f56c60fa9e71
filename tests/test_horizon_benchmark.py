"""benchmarks/horizon.py --quick: the smoke run CI uses. Not a measurement."""

import json
import os
import subprocess
import sys

import numpy as np
from _smoke import ROOT  # tests/ is on sys.path


def test_horizon_quick_measures_the_encoder_alone(tmp_path):
    out = tmp_path / "horizon.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "benchmarks/horizon.py", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = json.loads(out.read_text())["rows"]
    fits = [r for r in rows if r.get("kind") != "summary"]
    assert {r["model"] for r in fits} == {"ScoreSDE", "SBVAE alone beta_max=2"}
    alone = [r for r in fits if r["model"].startswith("SBVAE")]
    # the encoder trained alone: its steps are timed although no decoder iteration moves
    assert all(r["encoder_step_vs_scoresde_iter"] > 0 for r in alone)
    assert np.isfinite([r["dpm-sde@10"] for r in fits]).all()
    summary = [r for r in rows if r.get("kind") == "summary"]
    assert {s["model"] for s in summary} == {"ScoreSDE", "SBVAE alone beta_max=2"}
