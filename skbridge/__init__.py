"""skbridge: Schrödinger-bridge diffusion models (SB-VAE) as scikit-learn estimators."""

from ._base import EncoderNotKeptWarning, TrainingError
from ._io import ModelFileError, load, read_metadata, safe_types, save
from ._report import Report, report
from .models import SBVAE, VAE, DiscreteDiffusion, FlowMatching, ScoreSDE
from .pipeline import sample_pipeline

__version__ = "0.1.0"

__all__ = [
    "SBVAE",
    "ScoreSDE",
    "VAE",
    "FlowMatching",
    "DiscreteDiffusion",
    "TrainingError",
    "EncoderNotKeptWarning",
    "__version__",
    "sample_pipeline",
    "report",
    "Report",
    "save",
    "load",
    "read_metadata",
    "ModelFileError",
    "safe_types",
]
