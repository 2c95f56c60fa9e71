"""benchmarks/paper.py --quick: the smoke run CI uses (issue 6). Not a measurement."""

import json

import numpy as np
import pytest
from _smoke import run_quick  # tests/ is on sys.path

pytest.importorskip("matplotlib")


@pytest.mark.slow
def test_paper_quick_runs_every_experiment(tmp_path):
    out = tmp_path / "paper.json"
    proc = run_quick("paper.py", out, tmp_path)
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
