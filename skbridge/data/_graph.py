r"""The graph codec: lists of simple undirected networkx graphs <-> flat float vectors.

A graph is laid out on ``N`` node positions, ``N`` (``max_nodes_``) the largest node count
seen in fit. One model vector holds

* a **node block** ``X`` of shape ``(N, F)``, row-major: position ``i`` is one-hot over
  ``[categories..., ABSENT]`` (the sorted values of the node attribute ``node_attr``, or a
  single "present" channel without it), so ``F`` is the number of categories plus one.
  A graph with ``k < N`` nodes fills positions ``0, ..., k-1`` in the graph's node order
  (sorted when the node labels are sortable); positions ``k, ..., N-1`` are ABSENT.
* the **strict upper triangle** of the adjacency, row-major, ``N(N-1)/2`` entries in
  ``{0, 1}`` (pairs touching an absent position are 0). With an edge attribute
  ``edge_attr`` of ``B`` categories (e.g. bond types), an edge of the ``b``-th category
  (sorted, ``b = 1..B``) is the **level** ``b / B`` and a non-edge 0: the entries stay one
  number per pair, an ordinal code like GDSS's bond-order adjacency (for bond orders 1, 2,
  3 the weighted adjacency divided by 3; levels 1, 2, 3 themselves gave QM9 validity 0.73
  against 0.70 in one development run, within noise, so the entries stay in [0, 1]).

Both parts are dequantised so that every draw decodes back to the graph: node blocks like
the tabular codec's categorical columns (argmax dequantisation with
:func:`~skbridge.data._dequantize.relaxed_onehot`), and each adjacency entry ``e`` as
:math:`v \sim N(e, s^2)` truncated to the interval of values that round to ``e``'s level
(half a level spacing either side, ``s`` a quarter of the spacing, so the truncation is at
two standard deviations; the lowest and highest levels are open outwards), with the exact
:math:`\log q(v|x)` returned. A model vector decodes to the graph of the positions whose
argmax is not ABSENT (with the argmax category as node attribute) and the pairs of present
nodes whose entry rounds to a level above 0 (:math:`v \ge 1/2` without ``edge_attr``),
with that level's category as edge attribute; nodes are relabelled ``0, ..., k-1`` in
position order, isolated nodes kept.

**Number of nodes.** Samples get their node count from the model itself, through the ABSENT
category: the model learns which positions of a graph are empty, as a sequence model learns
where its end token goes. GDSS (Jo et al., ICML 2022) instead draws the node count from the
training distribution and hands the model a node mask; skbridge's models are unconditional,
so the count is part of what is generated. ``n_nodes_counts_`` keeps the training counts for
reference (e.g. to compare with the counts of samples).

**Scores.** ``score_samples`` of a graph is a lower bound (dequantisation) on the log
probability of the graph *as encoded*, in its node order: like GDSS, no correction is made
for the number of node orderings that give the same graph (up to :math:`\log k!` for a graph
with ``k`` nodes and no automorphisms), so scores compare models on the same encoding only.
The drift network (:class:`~skbridge.nets._graph.GraphDriftNet`, built by
:func:`skbridge.nets.drift_network`) is permutation-equivariant, so the node order does not
matter to what the model learns.

**Training budget.** Graphs need longer fits than tables: on Community-small ScoreSDE's
samples got their two communities at 10000 steps (clustering MMD² 0.107) but not at the
3000-step default (about 0.2); ``benchmarks/graphs.py`` uses ``max_iter=10000``.

**Attributes.** One categorical node attribute and one categorical edge attribute are
modelled; by default (``"auto"``) the one that every node (edge) carries, if there is exactly
one, and a warning names the attributes that samples will lack. Graph attributes
(``G.graph``) are not modelled. networkx is imported inside the functions, so
``import skbridge`` works without it.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import torch

from ._checks import check_graphs, import_networkx
from ._codec import Codec
from ._dequantize import relaxed_onehot

__all__ = ["GraphCodec"]

_EDGE_STD = 0.25  # std of a dequantised adjacency entry, in level spacings
_EDGE_Z = 0.5 / _EDGE_STD  # truncation half-width in standard deviations (2)
_PHI_Z = 0.5 * math.erfc(-_EDGE_Z / math.sqrt(2.0))  # Phi(2): one-sided truncation mass
_PHI_MID = math.erf(_EDGE_Z / math.sqrt(2.0))  # Phi(2) - Phi(-2): two-sided mass


def _node_order(G) -> list:
    """The graph's nodes, sorted when their labels are sortable, else in insertion order."""
    nodes = list(G.nodes)
    try:
        return sorted(nodes)
    except TypeError:
        return nodes


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


_AUTO_MAX_CATEGORIES = 32  # node_attr/edge_attr="auto": attributes with more values are not kept


def _attribute_table(kind, graphs):
    """``{key: (count, values)}`` of the node or edge attributes of ``graphs``: how many
    nodes (edges) carry ``key``, and its distinct values (None once one is unhashable or
    there are more than ``_AUTO_MAX_CATEGORIES``)."""
    table = {}
    for G in graphs:
        items = G.nodes(data=True) if kind == "node" else G.edges(data=True)
        for *_, data in items:
            for key, value in data.items():
                count, values = table.get(key, (0, set()))
                if values is not None:
                    real = isinstance(value, numbers.Number) and not isinstance(
                        value, numbers.Integral
                    )
                    if _hashable(value) and not real:
                        values.add(value)
                    else:  # a real number is a measurement, not a category
                        values = None
                    if values is not None and len(values) > _AUTO_MAX_CATEGORIES:
                        values = None
                table[key] = (count + 1, values)
    return table


def _resolve(kind, attr, graphs):
    """The attribute that ``node_attr`` / ``edge_attr`` (``attr``) models: itself, or for
    ``"auto"`` the one attribute that every node (edge) carries as a category (hashable,
    not a float, at most ``_AUTO_MAX_CATEGORIES`` values), with a warning that names any
    attribute left out and how to keep it."""
    if not (isinstance(attr, str) and attr == "auto"):
        return attr
    total = sum(G.number_of_nodes() if kind == "node" else G.number_of_edges() for G in graphs)
    table = _attribute_table(kind, graphs)
    if not table:
        return None
    kept = [k for k, (count, values) in table.items() if count == total and values is not None]
    chosen = kept[0] if len(kept) == 1 else None
    left = {}
    for key, (count, values) in table.items():
        if key == chosen:
            continue
        if count < total:
            left[key] = f"on {count} of {total} {kind}s"
        elif values is None:
            left[key] = (
                "not a category: real numbers, unhashable values or more than "
                f"{_AUTO_MAX_CATEGORIES} distinct values"
            )
        else:
            left[key] = "one of several categorical attributes"
    if left:
        reasons = "; ".join(f"{key!r} ({why})" for key, why in left.items())
        kept_text = f"{kind}_attr={chosen!r} is modelled; " if chosen is not None else ""
        warnings.warn(
            f"GraphCodec models one categorical {kind} attribute, so these {kind} attributes "
            f"are not modelled and samples will not have them: {reasons}. {kept_text}"
            f"To keep a categorical one, name it: data=GraphCodec({kind}_attr=...) (every "
            f"{kind} needs it); to model the structure only without this warning, "
            f"GraphCodec({kind}_attr=None).",
            UserWarning,
            stacklevel=3,
        )
    return chosen


class GraphCodec(Codec):
    """Lists of simple undirected graphs <-> flat model vectors (see the module docstring).

    Parameters
    ----------
    node_attr : "auto", hashable or None, default="auto"
        Name of a categorical node attribute to model (every node must have it); its value
        is restored in samples. ``None`` models the structure only. ``"auto"``: the one
        attribute that every training node carries as a category (hashable values that are
        not real numbers, at most 32 of them), if there is exactly one; any other node
        attribute is named in a warning (it would be missing from samples) with how to keep
        it.
    edge_attr : "auto", hashable or None, default="auto"
        Name of a categorical edge attribute to model (every edge must have it), e.g. the
        bond type of a molecule; its value is restored in samples. The categories are
        coded as ordered levels in sorted order (see the module docstring), so an ordinal
        attribute such as a bond order gets its natural order. ``None``: edges only.
        ``"auto"``: as for ``node_attr``, over the training edges.

    Attributes
    ----------
    node_attr_, edge_attr_ : hashable or None
        The node and edge attributes modelled (``node_attr`` and ``edge_attr`` with
        ``"auto"`` resolved).
    max_nodes_ : int
        ``N``, the number of node positions (the largest training graph).
    node_categories_ : list
        The sorted values of ``node_attr`` seen in fit (empty without ``node_attr``).
    edge_categories_ : list
        The sorted values of ``edge_attr`` seen in fit (empty without ``edge_attr``); the
        ``b``-th is coded as the level ``b / B``, ``B`` the number of categories.
    n_channels_ : int
        ``F``, the width of a node block: the number of categories (1 without
        ``node_attr``) plus the ABSENT category.
    n_pairs_ : int
        ``N(N-1)/2``, the adjacency entries of a model vector.
    n_nodes_counts_ : ndarray of int
        ``np.bincount`` of the training graphs' node counts (for reference).
    max_degree_ : int
        The largest degree of a node in the training graphs.
    n_latent_, n_packed_ : int
        Model dimension ``N * F + N(N-1)/2``, and the packed-row width (the same).
    has_discrete_ : bool
        Always True (model vectors are dequantised).

    Examples
    --------
    >>> from skbridge.data import GraphCodec, make_community_small
    >>> graphs = make_community_small(10, random_state=0)
    >>> codec = GraphCodec().fit(graphs)
    >>> P, offset = codec.encode(graphs)
    >>> [G.number_of_edges() for G in codec.decode(P)] == [
    ...     G.number_of_edges() for G in graphs]
    True
    """

    modality = "graph"
    validates_input = True  # estimators hand raw X to the codec instead of sklearn's checks

    _parameter_constraints: dict = {"node_attr": "no_validation", "edge_attr": "no_validation"}

    def __init__(self, node_attr="auto", edge_attr="auto"):
        self.node_attr = node_attr
        self.edge_attr = edge_attr

    def __setstate__(self, state):
        # codecs pickled before edge attributes existed (edges were the 0/1 level)
        state.setdefault("edge_attr", None)
        if "max_nodes_" in state:
            # codecs pickled before "auto" (the parameters were the attributes modelled)
            state.setdefault("node_attr_", state.get("node_attr"))
            state.setdefault("edge_attr_", state["edge_attr"])
            state.setdefault("edge_categories_", [])
            state.setdefault("_edge_index", {})
            state.setdefault("_n_levels", 1)
        super().__setstate__(state)

    # ------------------------------------------------------------------ input
    def _read(self, X):
        """Validate ``X`` as a non-empty list of simple undirected graphs. A graph without
        nodes is allowed (every node position ABSENT): the model can sample it, so it must
        be able to score it."""
        return check_graphs(X, "X")

    def _attr_values(self, i, G, nodes):
        """The ``node_attr`` value of each node of graph ``i``, in ``nodes`` order."""
        values = []
        for node in nodes:
            data = G.nodes[node]
            if self.node_attr_ not in data:
                raise ValueError(
                    f"node {node!r} of graph {i} has no attribute {self.node_attr_!r}; with "
                    f"node_attr={self.node_attr_!r} every node needs one."
                )
            values.append(data[self.node_attr_])
        return values

    def _edge_values(self, i, G):
        """The edges ``(u, v)`` of graph ``i`` and their ``edge_attr`` values."""
        edges, values = [], []
        for u, v, data in G.edges(data=True):
            if self.edge_attr_ not in data:
                raise ValueError(
                    f"edge {(u, v)!r} of graph {i} has no attribute {self.edge_attr_!r}; with "
                    f"edge_attr={self.edge_attr_!r} every edge needs one."
                )
            edges.append((u, v))
            values.append(data[self.edge_attr_])
        return edges, values

    @staticmethod
    def _collect(kind, attr, items):
        """The sorted categories of attribute ``attr`` from ``(i, [(item, value), ...])``
        per graph ``i`` (empty when ``attr`` is None)."""
        if attr is None:
            return []
        if not _hashable(attr):
            raise TypeError(f"{kind}_attr must be hashable, got {attr!r}")
        seen = set()
        for i, pairs in items:
            for item, value in pairs:
                if not _hashable(value):
                    raise ValueError(
                        f"{kind} {item!r} of graph {i} has an unhashable {attr!r} value "
                        f"{value!r}; {kind} attributes are categories."
                    )
                seen.add(value)
        try:
            return sorted(seen)
        except TypeError:  # unorderable mix of value types
            return sorted(seen, key=repr)

    @staticmethod
    def _codes(i, values, attr, index, categories):
        """The codes of graph ``i``'s attribute ``values``; ValueError for unseen ones."""
        unseen = [v for v in values if not (_hashable(v) and v in index)]
        if unseen:
            shown = ", ".join(sorted({repr(v) for v in unseen})[:10])
            raise ValueError(
                f"graph {i} has {attr!r} values not seen in fit: {shown}; the categories are "
                f"{categories[:30]}."
            )
        return np.array([index[v] for v in values], dtype=np.int64)

    # -------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Learn the number of node positions and the node categories from graphs ``X``."""
        self._validate_params()
        graphs = self._read(X)
        counts = np.array([G.number_of_nodes() for G in graphs])
        if counts.max() == 0:
            raise ValueError("every graph in X has no nodes: there is nothing to model")
        self.node_attr_ = _resolve("node", self.node_attr, graphs)
        self.edge_attr_ = _resolve("edge", self.edge_attr, graphs)
        categories = self._collect(
            "node",
            self.node_attr_,
            (
                (i, zip(G.nodes, self._attr_values(i, G, list(G.nodes)), strict=True))
                for i, G in enumerate(graphs)
            )
            if self.node_attr_ is not None
            else (),
        )
        edge_categories = self._collect(
            "edge",
            self.edge_attr_,
            ((i, zip(*self._edge_values(i, G), strict=True)) for i, G in enumerate(graphs))
            if self.edge_attr_ is not None
            else (),
        )
        if self.edge_attr_ is not None and not edge_categories:
            raise ValueError(
                f"edge_attr={self.edge_attr_!r}, but the graphs have no edges to learn its "
                "categories from; use edge_attr=None."
            )
        self.node_categories_ = categories
        self._index = {value: k for k, value in enumerate(categories)}
        self.edge_categories_ = edge_categories
        self._edge_index = {value: b + 1 for b, value in enumerate(edge_categories)}
        N = int(counts.max())
        self.max_nodes_ = N
        self.n_channels_ = max(len(categories), 1) + 1
        self.n_pairs_ = N * (N - 1) // 2
        self._n_levels = max(len(edge_categories), 1)
        self.n_nodes_counts_ = np.bincount(counts)
        self.max_degree_ = max(max((d for _, d in G.degree()), default=0) for G in graphs)
        self.n_latent_ = N * self.n_channels_ + self.n_pairs_
        self.n_packed_ = self.n_latent_
        self.has_discrete_ = True
        iu, ju = np.triu_indices(N, 1)
        pair_index = np.full((N, N), -1, dtype=np.int64)
        pair_index[iu, ju] = np.arange(self.n_pairs_)
        pair_index[ju, iu] = np.arange(self.n_pairs_)
        self._pair_index = pair_index
        self._fit_frequencies(graphs)
        return self

    def _fit_frequencies(self, graphs):
        """What the decoder's categorical heads read: each node position as a relaxed one-hot
        block with the node categories' frequencies over all positions (ABSENT included), and
        the adjacency entries as levels with their frequencies over all pairs, counted on the
        encoded training graphs. Both are position-free, so the heads keep a graph network's
        permutation equivariance; half a count is added to every level (a level never seen
        keeps a finite log-frequency)."""
        N, F = self.max_nodes_, self.n_channels_
        P = self.encode(graphs)[0]
        node_counts = P[:, : N * F].reshape(-1, F).sum(0) + 0.5
        levels = np.rint(P[:, N * F :] * self._n_levels).astype(np.int64).ravel()
        edge_counts = np.bincount(levels, minlength=self._n_levels + 1) + 0.5
        self.onehot_blocks_ = [(p * F, (p + 1) * F) for p in range(N)]
        self.onehot_frequencies_ = [node_counts / node_counts.sum()] * N
        self.level_entries_ = (
            N * F,
            self.n_latent_,
            self._n_levels,
            _EDGE_STD / self._n_levels,
            edge_counts / edge_counts.sum(),
        )

    # ----------------------------------------------------------------- encode
    def encode(self, X):
        """Graphs -> ``(P, offset)``: packed rows (n, ``n_packed_``) with one-hot node blocks
        and adjacency levels (0/1 without ``edge_attr``), and the per-row offset (0: scores
        are log-probabilities). A graph with more nodes than the ``N`` positions has
        probability zero: its row is the empty graph and its offset ``-inf``."""
        graphs = self._read(X)
        N, F = self.max_nodes_, self.n_channels_
        n = len(graphs)
        nodes_block = np.zeros((n, N, F))
        edges = np.zeros((n, self.n_pairs_))
        offset = np.zeros(n)
        absent = F - 1
        for i, G in enumerate(graphs):
            k = G.number_of_nodes()
            if k > N:
                nodes_block[i, :, absent] = 1.0
                offset[i] = -np.inf
                continue
            nodes = _node_order(G)
            if self.node_attr_ is None:
                cats = np.zeros(k, dtype=np.int64)
            else:
                values = self._attr_values(i, G, nodes)
                cats = self._codes(i, values, self.node_attr_, self._index, self.node_categories_)
            nodes_block[i, np.arange(k), cats] = 1.0
            nodes_block[i, k:, absent] = 1.0
            if G.number_of_edges():
                position = {node: p for p, node in enumerate(nodes)}
                if self.edge_attr_ is None:
                    pairs, levels = list(G.edges()), 1.0
                else:
                    pairs, values = self._edge_values(i, G)
                    codes = self._codes(
                        i, values, self.edge_attr_, self._edge_index, self.edge_categories_
                    )
                    levels = codes / self._n_levels
                ends = np.array([(position[u], position[v]) for u, v in pairs])
                edges[i, self._pair_index[ends[:, 0], ends[:, 1]]] = levels
        P = np.concatenate([nodes_block.reshape(n, N * F), edges], axis=1)
        return P, offset

    def perturb(self, P: torch.Tensor, u: torch.Tensor):
        """Dequantise packed rows with uniforms ``u`` (n, ``n_latent_``): ``(v, log q(v|x))``.

        Node blocks: argmax dequantisation; adjacency entries: :math:`N(e, s^2)` truncated to
        the values that round to ``e``'s level, drawn by inversion (float64 inside).
        """
        n = P.shape[0]
        NF = self.max_nodes_ * self.n_channels_
        F = self.n_channels_
        vn, lq = relaxed_onehot(P[:, :NF].reshape(-1, F), u[:, :NF].reshape(-1, F))
        lq = lq.reshape(n, -1).sum(1)
        B = self._n_levels
        e = P[:, NF:].double()
        level = torch.round(e * B)
        ue = u[:, NF:].double().clamp(1e-7, 1 - 1e-7)
        s = _EDGE_STD / B
        # z ~ N(0, 1) truncated to z < 2 (level 0), z > -2 (level B, drawn as -z with z < 2)
        # or |z| < 2 (levels in between); v = e + s z
        one_sided = torch.special.ndtri(ue * _PHI_Z)
        two_sided = torch.special.ndtri((1.0 - _PHI_Z) + ue * _PHI_MID)
        top, middle = level == B, (level > 0) & (level < B)
        z = torch.where(middle, two_sided, torch.where(top, -one_sided, one_sided))
        ve = e + s * z
        log_mass = torch.where(
            middle,
            torch.tensor(math.log(_PHI_MID), dtype=z.dtype, device=z.device),
            math.log(_PHI_Z),
        )
        log_norm = -0.5 * math.log(2 * math.pi) - math.log(s)
        lq = lq + (-0.5 * z**2 + log_norm - log_mass).sum(1)
        v = torch.cat([vn.reshape(n, NF), ve], dim=1)
        return v.to(P.dtype), lq.to(P.dtype)

    # ----------------------------------------------------------------- decode
    def decode(self, V, random_state=None):
        """Model vectors -> list of ``networkx.Graph`` (nodes ``0, ..., k-1``).

        A position is a node when its argmax is not ABSENT (its attribute is the argmax
        category); a pair of nodes is an edge when its entry rounds to a level above 0 (at
        least 1/2 without ``edge_attr``), with that level's category as edge attribute.
        """
        nx = import_networkx()
        N, F = self.max_nodes_, self.n_channels_
        V = np.asarray(V, dtype=np.float64).reshape(-1, self.n_latent_)
        nodes = V[:, : N * F].reshape(-1, N, F)
        cats = np.where(np.isnan(nodes), -np.inf, nodes).argmax(2)
        B = self._n_levels
        levels = np.floor(V[:, N * F :] * B + 0.5)
        # a non-finite entry (a diverged chain) is no edge
        levels = np.clip(np.where(np.isfinite(levels), levels, 0), 0, B).astype(np.int64)
        iu, ju = np.triu_indices(N, 1)
        out = []
        for row_cats, row_levels in zip(cats, levels, strict=True):
            present = row_cats != F - 1
            label = np.cumsum(present) - 1  # new label of each present position
            G = nx.Graph()
            if self.node_attr_ is None:
                G.add_nodes_from(range(int(present.sum())))
            else:
                G.add_nodes_from(
                    (int(label[p]), {self.node_attr_: self.node_categories_[row_cats[p]]})
                    for p in np.nonzero(present)[0]
                )
            keep = (row_levels > 0) & present[iu] & present[ju]
            ends = zip(label[iu[keep]].tolist(), label[ju[keep]].tolist(), strict=True)
            if self.edge_attr_ is None:
                G.add_edges_from(ends)
            else:
                cats_e = [self.edge_categories_[b - 1] for b in row_levels[keep]]
                G.add_edges_from(
                    (a, b, {self.edge_attr_: c}) for (a, b), c in zip(ends, cats_e, strict=True)
                )
            out.append(G)
        return out
