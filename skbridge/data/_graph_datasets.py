"""Offline graph datasets (community-small, grids), a train/test split and an ER baseline.

Everything is generated in code; nothing is downloaded. networkx is an optional dependency
(``pip install 'skbridge[graphs]'``): it is imported inside the functions, so
``import skbridge`` works without it.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_graphs, import_networkx
from ._sequence_datasets import _check_positive_int, _default_rng

__all__ = [
    "erdos_renyi_like",
    "make_community_small",
    "make_grid_graphs",
    "train_test_split_graphs",
]


def make_community_small(n_graphs=100, *, fixed_communities=True, random_state=None):
    """Two-community graphs, the "community-small" benchmark of EDP-GNN and GDSS.

    The recipe is ``n_community`` of Niu et al., "Permutation Invariant Graph Generation via
    Score-Based Generative Modeling" (EDP-GNN, AISTATS 2020), as used (and shipped as
    ``community_small.pkl``) by Jo et al., "Score-based Generative Modeling of Graphs via the
    System of Stochastic Differential Equations" (GDSS, ICML 2022); it goes back to the
    ``n_community`` generator of GraphRNN (You et al., ICML 2018). Each graph is drawn
    independently:

    1. ``max_nodes`` is uniform on ``{12, ..., 20}``; each of the 2 communities has
       ``k = max_nodes // 2`` nodes, so the graph has ``n = 2k`` nodes, an even number in
       ``{12, 14, 16, 18, 20}`` (12, 14, 16, 18 with probability 2/9 each, 20 with 1/9).
    2. Community ``c`` (``c = 0, 1``) is the Erdős–Rényi graph ``nx.gnp_random_graph(k, 0.7,
       seed=c)`` on nodes ``c*k, ..., c*k + k - 1``. **As in the original code, the seed is
       the community index**, so every graph of a given size has the same two communities
       (all ten are connected) and graphs differ only in size and bridges. With
       ``fixed_communities=False`` each community is instead an independent G(k, 0.7) draw
       from ``random_state``.
    3. Bridges: each of the ``k*k`` cross pairs becomes an edge independently with
       probability ``p_inter * 2 / ((n_communities - 1) * k) = 0.1 / k`` (``p_inter=0.05``),
       about ``0.1 k`` bridges on average; if none was drawn, the edge ``(0, k)`` (the
       first node of each community) is added, so every graph is connected.

    With the published recipe the graphs have about 36 edges on average (at least 21, at
    most about 63). The only
    departure from the original is the random source: an explicit
    ``numpy.random.default_rng`` instead of the global ``np.random`` state.

    Parameters
    ----------
    n_graphs : int, default=100
        Number of graphs (GDSS uses 100, split 80/20, see :func:`train_test_split_graphs`).
    fixed_communities : bool, default=True
        Use the published recipe (communities ``gnp_random_graph(k, 0.7, seed=c)``); False
        draws the communities at random too (a harder, more varied dataset).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=None
        Seed, handled as in :func:`make_sines`; an int gives reproducible output. Per graph,
        ``max_nodes`` is drawn first, then (with ``fixed_communities=False``) the two
        communities' upper triangles, then a ``(k, k)`` array of bridge uniforms.

    Returns
    -------
    graphs : list of networkx.Graph
        ``n_graphs`` simple undirected graphs with integer nodes ``0, ..., n - 1``; nodes
        ``0, ..., k - 1`` form the first community.

    Examples
    --------
    >>> from skbridge.data import make_community_small
    >>> graphs = make_community_small(5, random_state=0)
    >>> all(g.number_of_nodes() in (12, 14, 16, 18, 20) for g in graphs)
    True
    """
    nx = import_networkx()
    n_graphs = _check_positive_int(n_graphs, "n_graphs")
    rng = _default_rng(random_state)
    graphs = []
    for _ in range(n_graphs):
        k = int(rng.integers(12, 21)) // 2
        G = nx.empty_graph(2 * k)
        for c in range(2):
            if fixed_communities:
                community = nx.gnp_random_graph(k, 0.7, seed=c)
                G.add_edges_from((u + c * k, v + c * k) for u, v in community.edges())
            else:
                iu, ju = np.triu_indices(k, 1)
                keep = rng.random(iu.size) < 0.7
                G.add_edges_from(
                    zip((iu[keep] + c * k).tolist(), (ju[keep] + c * k).tolist(), strict=True)
                )
        bridges = np.argwhere(rng.random((k, k)) < 0.05 * 2 / k)
        if len(bridges):
            G.add_edges_from((int(a), int(b) + k) for a, b in bridges)
        else:
            G.add_edge(0, k)
        graphs.append(G)
    return graphs


def make_grid_graphs(*, min_side=10, max_side=19):
    """2-D grid graphs of every shape, the "grid" benchmark of GraphRNN.

    ``[nx.grid_2d_graph(i, j) for i in sides for j in sides]`` with ``sides = min_side, ...,
    max_side``, each relabelled to integer nodes ``0, ..., i*j - 1`` in row-major order
    (``nx.convert_node_labels_to_integers``). The defaults give GraphRNN's (You et al., ICML
    2018) 100 graphs with 100 to 361 nodes (both shapes ``i x j`` and ``j x i`` are kept).
    GDSS instead draws 100 shapes ``(i, j)`` at random with replacement from the same range.
    Deterministic: there is no ``random_state``.

    Parameters
    ----------
    min_side, max_side : int, default=10 and 19
        Smallest and largest side length (both inclusive), ``1 <= min_side <= max_side``.

    Returns
    -------
    graphs : list of networkx.Graph
        ``(max_side - min_side + 1) ** 2`` graphs.
    """
    nx = import_networkx()
    min_side = _check_positive_int(min_side, "min_side")
    max_side = _check_positive_int(max_side, "max_side")
    if min_side > max_side:
        raise ValueError(f"min_side ({min_side}) must not exceed max_side ({max_side}).")
    sides = range(min_side, max_side + 1)
    return [
        nx.convert_node_labels_to_integers(nx.grid_2d_graph(i, j)) for i in sides for j in sides
    ]


def train_test_split_graphs(graphs, test_size=0.2, *, shuffle=True, random_state=0):
    """Split a list of graphs into train and test lists, GDSS style.

    ``n_test = int(test_size * len(graphs))`` (rounded down, as GDSS does). With
    ``shuffle=False`` this is exactly GDSS's split: the *first* ``n_test`` graphs are the
    test set and the rest the training set (fine for i.i.d. generated lists such as
    :func:`make_community_small`; not for ordered lists such as :func:`make_grid_graphs`).
    With ``shuffle=True`` (default) the order is first permuted with
    ``numpy.random.default_rng(random_state)``, with a fixed seed by default, so the split is
    reproducible.

    Parameters
    ----------
    graphs : list
        The graphs (any items; they are not copied).
    test_size : float, default=0.2
        Fraction of graphs in the test set, in ``(0, 1)``.
    shuffle : bool, default=True
        Permute before splitting.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=0
        Seed of the permutation (ignored when ``shuffle=False``).

    Returns
    -------
    train, test : list
        Both non-empty.
    """
    if not isinstance(graphs, list | tuple):
        raise TypeError(f"graphs must be a list, got {type(graphs).__name__}.")
    if not (
        isinstance(test_size, numbers.Real)
        and not isinstance(test_size, bool)
        and 0 < test_size < 1
    ):
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}.")
    n_test = int(test_size * len(graphs))
    if n_test < 1 or n_test >= len(graphs):
        raise ValueError(
            f"test_size={test_size} on {len(graphs)} graphs gives an empty train or test set."
        )
    order = np.arange(len(graphs))
    if shuffle:
        order = _default_rng(random_state).permutation(len(graphs))
    items = [graphs[i] for i in order]
    return items[n_test:], items[:n_test]


def erdos_renyi_like(graphs, *, random_state=None):
    """Erdős–Rényi baseline: one G(n, p) graph per reference graph, with matched density.

    For each reference graph with ``n`` nodes and ``m`` edges, a G(n, p) graph with
    ``p = m / (n (n - 1) / 2)`` (its own edge density; ``p = 0`` when ``n < 2``) is drawn, so
    node counts and expected edge counts match graph by graph while all other structure
    (communities, degree spread, clustering) is lost. A floor for graph generators: a model
    that does not beat this on :func:`skbridge.metrics.graph_mmd` has learned little beyond
    sizes and densities.

    Parameters
    ----------
    graphs : list of networkx.Graph
        Reference graphs (simple, undirected).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=None
        Seed, handled as in :func:`make_sines`; per graph, one uniform per node pair of the
        upper triangle (row-major) is drawn.

    Returns
    -------
    list of networkx.Graph
        Same length as ``graphs``; integer nodes ``0, ..., n - 1``.
    """
    nx = import_networkx()
    graphs = check_graphs(graphs)
    rng = _default_rng(random_state)
    out = []
    for G in graphs:
        n, m = G.number_of_nodes(), G.number_of_edges()
        H = nx.empty_graph(n)
        if n >= 2:
            p = m / (n * (n - 1) / 2)
            iu, ju = np.triu_indices(n, 1)
            keep = rng.random(iu.size) < p
            H.add_edges_from(zip(iu[keep].tolist(), ju[keep].tolist(), strict=True))
        out.append(H)
    return out
