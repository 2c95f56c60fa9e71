"""benchmarks/steps.py --quick: the smoke run CI uses (few-step sampling). Not a measurement."""

import json

import numpy as np
import pytest
from _smoke import run_quick  # tests/ is on sys.path

pytest.importorskip("matplotlib")


@pytest.mark.slow
def test_steps_quick_measures_every_sampler(tmp_path):
    out = tmp_path / "steps.json"
    run_quick("steps.py", out, tmp_path)
    rows = json.loads(out.read_text())["rows"]
    assert not [r for r in rows if "error" in r]
    quality = [r for r in rows if r.get("kind") == "quality" and r.get("model") == "ScoreSDE"]
    assert {"sde", "dpm", "dpm-sde"} <= {r["sampler"] for r in quality}
    # a smoke run's chains are short and its models barely trained: only the plain chain
    # and the few-step SDE integrator must give finite distances
    stable = [r["energy"] for r in quality if r["sampler"] in ("sde", "dpm-sde")]
    assert stable and np.isfinite(stable).all()
    assert (tmp_path / "steps_quick.png").stat().st_size > 10_000
