"""skbridge: Schrödinger-bridge diffusion models (SB-VAE) as scikit-learn estimators."""

from ._base import TrainingError
from .models import SBVAE, ScoreSDE
from .pipeline import sample_pipeline

__version__ = "0.1.0"

__all__ = ["SBVAE", "ScoreSDE", "TrainingError", "__version__", "sample_pipeline"]
