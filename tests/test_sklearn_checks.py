"""scikit-learn's estimator checks on the estimators (DiscreteDiffusion on numeric tables),
known failures declared with reasons."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbridge import SBVAE, VAE, DiscreteDiffusion, FlowMatching, ScoreSDE

FAST = dict(max_iter=20, n_steps=8, hidden_layer_sizes=(16,), batch_size=32, n_elbo_samples=1)
SB_FAST = dict(
    FAST, encoder_min_iter=1, encoder_max_iter=2, validation_interval=1, n_decoder_steps=1
)
VAE_FAST = dict(max_iter=20, hidden_layer_sizes=(16,), batch_size=32, n_importance_samples=2)
# FlowMatching's likelihood is an ODE solve with a divergence at every field evaluation:
# two Euler steps (two evaluations), and Hutchinson's one-probe estimate instead of the
# exact divergence's d backward passes (exact_divergence_max_dim=0)
FM_FAST = dict(
    max_iter=20,
    n_steps=2,
    solver="euler",
    exact_divergence_max_dim=0,
    hidden_layer_sizes=(16,),
    batch_size=32,
)
DD_FAST = dict(max_iter=20, n_steps=8, n_score_steps=4, hidden_layer_sizes=(16,), batch_size=32)


def _expected_failed(estimator):
    # The Monte Carlo noise of score_samples is drawn per row (a hash of the row's values), so
    # a row's score does not depend on the other rows (tests/test_estimators.py checks this at
    # float32 tolerance). What remains is float32 rounding of batched matrix products.
    return {
        "check_methods_subset_invariance": (
            "score_samples computes in float32: scoring a row within batches of different "
            "sizes differs by float32 rounding (~1e-7 relative), and the check demands rtol=1e-7"
        ),
    }


@parametrize_with_checks(
    [
        ScoreSDE(random_state=0, **FAST),
        SBVAE(random_state=0, **SB_FAST),
        VAE(random_state=0, **VAE_FAST),
        FlowMatching(random_state=0, **FM_FAST),
        DiscreteDiffusion(random_state=0, **DD_FAST),
    ],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
