"""The generators: one module per estimator."""

from ._discrete import DiscreteDiffusion
from ._flow_matching import FlowMatching
from ._sbvae import SBVAE
from ._score_sde import ScoreSDE
from ._vae import VAE

__all__ = ["DiscreteDiffusion", "SBVAE", "VAE", "FlowMatching", "ScoreSDE"]
