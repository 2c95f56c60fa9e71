"""benchmarks/paper.py --quick: the smoke run CI uses (issue 6). Not a measurement."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_paper_quick_runs_every_experiment(tmp_path):
    out = tmp_path / "paper.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/paper.py",
            "--quick",
            "--out",
            str(out),
            "--plots",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = json.loads(out.read_text())["rows"]
    experiments = {r["dataset"].split(":")[0] for r in rows}
    assert experiments == {"cost", "overfitting", "far", "criterion"}
    assert not [r for r in rows if "error" in r]
    cost = {r["model"]: r for r in rows if r["dataset"].startswith("cost")}
    assert {"ScoreSDE", "interrupt", "joint", "joint-elbo"} <= set(cost)
    # the encoder step is measured and costs more than a ScoreSDE iteration
    assert cost["joint"]["enc_step_ratio"] > 1
    assert all(np.isfinite(r["score"]) for r in rows)
    for name in ("paper_cost.png", "paper_overfitting.png", "paper_steps.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    # the markdown tables are printed
    assert "| model |" in proc.stdout
