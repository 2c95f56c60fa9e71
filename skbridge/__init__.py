"""skbridge: Schrödinger-bridge diffusion models (SB-VAE) as scikit-learn estimators."""

from ._base import TrainingError
from .models import SBVAE, ScoreSDE

__version__ = "0.1.0"

__all__ = ["SBVAE", "ScoreSDE", "TrainingError", "__version__"]
