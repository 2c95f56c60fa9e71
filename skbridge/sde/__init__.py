"""The SDE layer: reference SDEs, simulators, ODE solvers, divergences, the SB-VAE losses and
the prior-mismatch statistics (tensors only)."""

from ._divergence import (
    DIVERGENCES,
    divergence,
    exact_divergence,
    hutchinson_divergence,
    uses_exact_divergence,
)
from ._losses import (
    ELBO_FORMS,
    ReferenceChain,
    chain_elbo,
    chain_step_realised,
    chain_step_stein,
    decoder_prior_score,
    denoising_score_matching,
    drift_matching_control_variate,
    drift_matching_loss,
    plugin_diagnostics,
    prior_loss_surrogate,
)
from ._ode import ODE_METHODS, integrate_ode, ode_log_likelihood
from ._reference import REFERENCE_SDES, VPSDE, BrownianSDE, ReferenceSDE, make_reference_sde
from ._simulate import (
    SAMPLERS,
    TIME_GRIDS,
    decoder_chain,
    decoder_drift,
    encoder_chain,
    encoder_drift,
    predictor_corrector,
    probability_flow,
    rowwise,
    time_grid,
)
from ._statistics import (
    kernel_mean_multiscale,
    mmd2_multiscale,
    mmd2_multiscale_to,
    moment_matched_kl,
)

__all__ = [
    "BrownianSDE",
    "DIVERGENCES",
    "ELBO_FORMS",
    "ODE_METHODS",
    "REFERENCE_SDES",
    "ReferenceChain",
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
    "drift_matching_control_variate",
    "drift_matching_loss",
    "encoder_chain",
    "encoder_drift",
    "exact_divergence",
    "hutchinson_divergence",
    "make_reference_sde",
    "uses_exact_divergence",
    "integrate_ode",
    "kernel_mean_multiscale",
    "mmd2_multiscale",
    "mmd2_multiscale_to",
    "moment_matched_kl",
    "ode_log_likelihood",
    "plugin_diagnostics",
    "predictor_corrector",
    "prior_loss_surrogate",
    "probability_flow",
    "rowwise",
    "TIME_GRIDS",
    "time_grid",
]
