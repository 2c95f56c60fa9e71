"""Data-parallel fits (skbridge.distributed) with two CPU processes launched by torchrun.

Each test starts ``python -m torch.distributed.run --standalone --nproc_per_node 2`` on a
script that fits inside ``distributed.data_parallel()`` (gloo on the loopback interface) and
writes what each rank fitted; single-process fits with the same global batch run here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

from skbridge import SBVAE, ScoreSDE
from skbridge.data import make_two_moons

pytestmark = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
    reason="torch.distributed with gloo is not available",
)

N_TRAIN, N_TEST = 800, 400
SCORE = dict(max_iter=300, batch_size=32, n_elbo_samples=1, n_steps=50)
SB = dict(
    max_iter=200,
    batch_size=32,
    n_elbo_samples=1,
    n_steps=20,
    encoder_min_iter=2,
    encoder_max_iter=6,
    validation_interval=2,
    encoder_criterion="gaussian_kl",
)

SCRIPT = """
import json, sys, warnings
import numpy as np, torch
torch.set_num_threads(1)
from skbridge import SBVAE, ScoreSDE, distributed
from skbridge.data import make_two_moons

out = sys.argv[1]
X = make_two_moons({n}, random_state=0)
warnings.simplefilter("ignore")
with distributed.data_parallel():
    assert distributed.is_active() and distributed.world_size() == 2
    rank = distributed.rank()
    for name, cls, params in (("score", ScoreSDE, {score}), ("sbvae", SBVAE, {sb})):
        model = cls(random_state=0, device="cpu", **params).fit(X)
        weights = torch.cat([
            p.detach().reshape(-1)
            for attr in model._torch_attributes
            for p in getattr(model, attr).parameters()
        ])
        np.save(f"{{out}}/{{name}}-weights{{rank}}.npy", weights.numpy())
        if rank == 0:
            test = make_two_moons({n_test}, random_state=1)
            record = dict(
                score=float(model.score(test)),
                n_history=len(model.history_),
                n_iter=int(model.n_iter_),
                encoder_kept=bool(getattr(model, "encoder_kept_", False)),
            )
            with open(f"{{out}}/{{name}}.json", "w") as f:
                json.dump(record, f)
assert not distributed.is_active()
"""


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """Two ranks fit a ScoreSDE and an SBVAE with 32 rows per rank and step."""
    out = tmp_path_factory.mktemp("ddp")
    script = out / "fit.py"
    code = SCRIPT.format(n=N_TRAIN, n_test=N_TEST, score=SCORE, sb=SB)
    script.write_text(textwrap.dedent(code))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1"]
    cmd += ["--nproc_per_node", "2", str(script), str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out


def _single(cls, params, seed):
    """A one-process fit with the global batch of the two ranks (2 x 32 rows)."""
    X = make_two_moons(N_TRAIN, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(random_state=seed, device="cpu", **{**params, "batch_size": 64}).fit(X)
    return model


@pytest.mark.parametrize("name", ["score", "sbvae"])
def test_every_rank_ends_with_the_same_weights(ddp_run, name):
    # the gradients are averaged before every step: without it, the ranks' weights part
    w0, w1 = (np.load(ddp_run / f"{name}-weights{r}.npy") for r in (0, 1))
    assert w0.shape == w1.shape
    np.testing.assert_array_equal(w0, w1)


def test_a_two_process_fit_matches_one_process_with_the_same_global_batch(ddp_run):
    """The held-out score of the 2-process ScoreSDE is within the seed-to-seed spread of
    one-process fits with batch_size 64 (seeds 0, 1, 2): 4 standard deviations, and at
    least 0.05 nats."""
    got = json.loads((ddp_run / "score.json").read_text())
    test = make_two_moons(N_TEST, random_state=1)
    singles = [_single(ScoreSDE, SCORE, seed) for seed in range(3)]
    scores = np.array([m.score(test) for m in singles])
    tol = max(4 * scores.std(ddof=1), 0.05)
    assert abs(got["score"] - scores.mean()) <= tol, (got["score"], scores)
    # the same checks (one every max_iter // 20 iterations) and iterations as one process
    assert got["n_history"] == len(singles[0].history_)
    assert got["n_iter"] == singles[0].n_iter_
    # and it learned: far better than a fit of 3 iterations
    assert got["score"] > _single(ScoreSDE, {**SCORE, "max_iter": 3}, 0).score(test) + 0.5


def test_a_two_process_sbvae_fit_trains_the_encoder_and_scores_like_one_process(ddp_run):
    got = json.loads((ddp_run / "sbvae.json").read_text())
    test = make_two_moons(N_TEST, random_state=1)
    scores = np.array([_single(SBVAE, SB, seed).score(test) for seed in range(3)])
    tol = max(4 * scores.std(ddof=1), 0.05)
    assert abs(got["score"] - scores.mean()) <= tol, (got["score"], scores)


def test_outside_torchrun_data_parallel_is_a_no_op():
    from skbridge import distributed

    X = make_two_moons(200, random_state=0)
    with distributed.data_parallel():
        assert not distributed.is_active() and distributed.world_size() == 1
        a = ScoreSDE(max_iter=20, random_state=0).fit(X).sample(5, random_state=0)
    b = ScoreSDE(max_iter=20, random_state=0).fit(X).sample(5, random_state=0)
    np.testing.assert_array_equal(a, b)
