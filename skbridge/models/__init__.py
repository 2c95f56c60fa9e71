"""The generators: one module per estimator."""

from ._sbvae import SBVAE
from ._score_sde import ScoreSDE

__all__ = ["SBVAE", "ScoreSDE"]
