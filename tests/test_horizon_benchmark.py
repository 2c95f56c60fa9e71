"""benchmarks/horizon.py and encoder_skip.py --quick: the smoke runs CI uses. Not
measurements."""

import json

import numpy as np
from _smoke import run_quick  # tests/ is on sys.path


def test_horizon_quick_measures_the_encoder_alone(tmp_path):
    out = tmp_path / "horizon.json"
    run_quick("horizon.py", out)
    rows = json.loads(out.read_text())["rows"]
    fits = [r for r in rows if r.get("kind") != "summary"]
    assert {r["model"] for r in fits} == {"ScoreSDE", "SBVAE alone beta_max=2"}
    alone = [r for r in fits if r["model"].startswith("SBVAE")]
    # the encoder trained alone: its steps are timed although no decoder iteration moves
    assert all(r["encoder_step_vs_scoresde_iter"] > 0 for r in alone)
    assert np.isfinite([r["dpm-sde@10"] for r in fits]).all()
    summary = [r for r in rows if r.get("kind") == "summary"]
    assert {s["model"] for s in summary} == {"ScoreSDE", "SBVAE alone beta_max=2"}


def test_encoder_skip_quick_records_the_skip_decision(tmp_path):
    """benchmarks/encoder_skip.py --quick (two moons, one seed): the reference's statistic
    falls with the horizon's length (beta_max 20 against 2), and the skip follows it."""
    out = tmp_path / "skip.json"
    run_quick("encoder_skip.py", out)
    rows = {r["model"]: r for r in json.loads(out.read_text())["rows"] if "seed" in r}
    assert set(rows) == {"beta_max=20", "beta_max=10", "beta_max=5", "beta_max=2"}
    assert rows["beta_max=20"]["skipped"]
    assert (
        rows["beta_max=2"]["reference_prior_mismatch"]
        > rows["beta_max=20"]["reference_prior_mismatch"]
    )
    # away from the floor the decision is clear (the prior's own value, which the rule
    # subtracts, is within about half a floor of 0)
    for r in rows.values():
        if r["reference_prior_mismatch"] > 2 * r["prior_mismatch_floor"]:
            assert not r["skipped"]
        if r["reference_prior_mismatch"] < 0:
            assert r["skipped"]
