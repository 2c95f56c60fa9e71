"""skbridge.plotting: the figures draw what the history holds, and refuse what it lacks."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from skbridge import SBVAE, ScoreSDE  # noqa: E402
from skbridge.data import make_two_moons  # noqa: E402
from skbridge.plotting import (  # noqa: E402
    plot_prior_mismatch,
    plot_quality_vs_steps,
    plot_training_curves,
)

FAST = dict(max_iter=40, n_steps=10, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def sbvae():
    X = make_two_moons(200, random_state=0)
    return SBVAE(
        encoder_min_iter=2,
        encoder_max_iter=4,
        validation_interval=2,
        encoder_skip_at_floor=False,  # the default reference reaches the prior
        **FAST,
    ).fit(X)


def test_training_curves_plot_the_held_out_elbo_and_shade_the_encoder_phase(sbvae):
    ax = plot_training_curves(sbvae)
    line = ax.get_lines()[0]
    vals = [h["val_neg_elbo"] for h in sbvae.history_ if "val_neg_elbo" in h]
    np.testing.assert_allclose(line.get_ydata(), vals)
    assert any(p.get_label() == "encoder phase" for p in ax.patches)
    ax_t = plot_training_curves(sbvae.history_, x="time", label="SBVAE")
    assert ax_t.get_xlabel() == "seconds"


def test_prior_mismatch_plot_marks_the_reference(sbvae):
    ax = plot_prior_mismatch(sbvae)
    enc = [h["prior_mismatch"] for h in sbvae.history_ if "encoder_iter" in h]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), enc)
    ref = [ln for ln in ax.get_lines() if ln.get_label() == "reference encoder"][0]
    assert ref.get_ydata()[0] == enc[0]


def test_quality_vs_steps_sorts_the_steps():
    ax = plot_quality_vs_steps({"a": {20: 0.1, 5: 0.3, 10: 0.2}})
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [5, 10, 20])
    assert ax.get_xscale() == "log"


def test_bad_inputs_are_refused():
    X = make_two_moons(100, random_state=0)
    score_sde = ScoreSDE(**FAST).fit(X)
    with pytest.raises(ValueError, match="no encoder-phase"):
        plot_prior_mismatch(score_sde)
    with pytest.raises(ValueError, match="fitted skbridge diffusion model"):
        plot_training_curves(ScoreSDE())
    with pytest.raises(ValueError, match="x must be"):
        plot_training_curves(score_sde, x="epoch")
    with pytest.raises(ValueError, match="empty"):
        plot_quality_vs_steps({})
