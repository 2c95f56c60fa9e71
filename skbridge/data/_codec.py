"""The codec contract, and the one place where user data is recognised and a codec chosen.

A codec turns user data (a table, a set of sequences, a set of graphs) into the flat float
vectors every generator models, and samples back into user data. Every generator talks to
its data only through the methods and attributes of :class:`Codec`; nothing else in the
package knows what a DataFrame, a token sequence or a networkx graph is.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone

__all__ = ["Codec", "MODALITIES", "make_codec", "is_frame", "is_graph_list"]

MODALITIES = ("tabular", "sequence", "graph")


class Codec(BaseEstimator, metaclass=ABCMeta):
    """Base class of the codecs: user data <-> model vectors (subclass it for a new modality).

    Attributes
    ----------
    modality : {"tabular", "sequence", "graph"}
        Class attribute: what kind of data the codec reads. The generators choose their
        network backbone (:func:`skbridge.nets.drift_network`) and the diffusion models their
        ``"auto"`` grid and sampler from it.
    validates_input : bool
        Class attribute. False: the generator validates ``X`` as a scikit-learn table first
        (feature counts and names are recorded); True: the codec checks ``X`` itself in
        ``fit`` and ``encode``.
    n_latent_ : int
        Set by ``fit``: ``d``, the dimension of a model vector.
    n_packed_ : int
        Set by ``fit``: width of a packed row (``encode``'s output): the model coordinates
        plus any extra columns the codec's ``perturb`` needs (interval widths of integer
        columns).
    has_discrete_ : bool
        Set by ``fit``: whether packed rows are dequantised by ``perturb`` (integer or
        categorical parts). A codec may add what its modality's network needs
        (``SequenceCodec.event_shape_``, ``GraphCodec.max_nodes_`` and ``n_channels_``).
    onehot_blocks_ : list of (int, int), optional
        Set by ``fit`` where the model vector holds relaxed one-hot blocks (argmax
        dequantisation: the hot coordinate near 1, the others near 0): each block's coordinates
        ``start:stop`` in the flattened model vector. The diffusion models'
        ``categorical="posterior"`` predicts these blocks through their levels'
        probabilities. ``onehot_frequencies_`` (a list of arrays, the levels' training
        frequencies per block) goes with it. A codec without them has its blocks predicted
        like any coordinate.

    Methods
    -------
    fit(X) -> self
    encode(X) -> (P, offset)
        Packed rows ``P`` (n, ``n_packed_``) and the per-row log-Jacobian ``offset`` (n,)
        that the generators add to their scores, so that scores are in the user's units.
    perturb(P, u) -> (v, log_q)
        Dequantised model vectors (n, ``n_latent_``) for packed rows and uniforms ``u``,
        with the log-density ``log q(v | x)`` of the draw; the identity (and 0) without
        discrete parts.
    decode(V, random_state=None)
        Model vectors (n, ``n_latent_``) back to user data.
    """

    modality: ClassVar[str] = "tabular"
    validates_input: ClassVar[bool] = False

    @abstractmethod
    def fit(self, X): ...

    @abstractmethod
    def encode(self, X) -> tuple[np.ndarray, np.ndarray]: ...

    @abstractmethod
    def perturb(self, P: torch.Tensor, u: torch.Tensor): ...

    @abstractmethod
    def decode(self, V, random_state=None): ...


def is_frame(X) -> bool:
    """A pandas DataFrame (checked without importing pandas)."""
    return hasattr(X, "iloc") and hasattr(X, "columns") and hasattr(X, "dtypes")


def is_graph_list(X) -> bool:
    """A list or tuple with a networkx graph among its items (checked without importing
    networkx): the graph path then names any item that is not a graph."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    return any(_is_networkx(item) for item in X)


def _is_networkx(obj) -> bool:
    return any(c.__module__.startswith("networkx") for c in type(obj).__mro__)


def make_codec(data, X) -> Codec:
    """The unfitted codec for a generator's ``data`` parameter and training data ``X``.

    ``data`` is a :class:`Codec` (cloned), or ``"auto"`` (recognise ``X``: a list of
    networkx graphs, sequence data as :func:`~skbridge.data._sequence.is_sequence_data`
    says, else a table), ``"tabular"``, ``"sequence"`` or ``"graph"``.
    """
    from ._sequence import SequenceCodec, is_sequence_data
    from ._tabular import TabularCodec

    if isinstance(data, Codec):
        return clone(data)
    if isinstance(X, (list, tuple)) and len(X) == 0:
        raise ValueError("X is empty: fit needs at least 2 rows, sequences or graphs")
    if _is_networkx(X):
        raise TypeError(
            f"X is one networkx {type(X).__name__}; graph models fit a list of graphs: "
            "pass [G] (and more graphs: a generator needs several to learn from)"
        )
    if data == "tabular" and is_graph_list(X):
        raise ValueError(
            "data='tabular' was given a list of networkx graphs; use data='graph' (or "
            "'auto') for graphs, or pass a numeric table"
        )
    if data == "graph" or (data == "auto" and is_graph_list(X)):
        from ._graph import GraphCodec  # networkx is optional

        return GraphCodec()
    if data == "sequence" or (data == "auto" and is_sequence_data(X)):
        return SequenceCodec()
    return TabularCodec()
