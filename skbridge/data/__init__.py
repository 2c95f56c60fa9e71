"""Modality codecs (user data <-> model vectors) and offline datasets."""

from ._datasets import make_gaussian_mixture, make_two_moons
from ._tabular import TabularCodec

__all__ = ["TabularCodec", "make_gaussian_mixture", "make_two_moons"]
