"""The SDE layer: reference SDEs, simulators, divergences and the SB-VAE losses (tensors only)."""

from ._divergence import DIVERGENCES, divergence, exact_divergence, hutchinson_divergence
from ._losses import (
    ELBO_FORMS,
    chain_elbo,
    chain_step_realised,
    chain_step_stein,
    decoder_prior_score,
    denoising_score_matching,
    drift_matching_loss,
    mmd_rbf,
    plugin_diagnostics,
    prior_loss_surrogate,
)
from ._reference import REFERENCE_SDES, VPSDE, BrownianSDE, ReferenceSDE, make_reference_sde
from ._simulate import (
    SAMPLERS,
    TIME_GRIDS,
    decoder_chain,
    decoder_drift,
    encoder_chain,
    encoder_drift,
    probability_flow,
    time_grid,
)

__all__ = [
    "BrownianSDE",
    "DIVERGENCES",
    "ELBO_FORMS",
    "REFERENCE_SDES",
    "ReferenceSDE",
    "SAMPLERS",
    "VPSDE",
    "chain_elbo",
    "chain_step_realised",
    "chain_step_stein",
    "decoder_chain",
    "decoder_drift",
    "decoder_prior_score",
    "denoising_score_matching",
    "divergence",
    "drift_matching_loss",
    "encoder_chain",
    "encoder_drift",
    "exact_divergence",
    "hutchinson_divergence",
    "make_reference_sde",
    "mmd_rbf",
    "plugin_diagnostics",
    "prior_loss_surrogate",
    "probability_flow",
    "TIME_GRIDS",
    "time_grid",
]
