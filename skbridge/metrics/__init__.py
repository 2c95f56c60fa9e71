"""Sample-quality metrics."""

from ._distances import energy_distance

__all__ = ["energy_distance"]
