"""Modality codecs (user data <-> tensors) and offline datasets."""

from ._array import ArrayCodec
from ._datasets import make_gaussian_mixture, make_two_moons

__all__ = ["ArrayCodec", "make_gaussian_mixture", "make_two_moons"]
