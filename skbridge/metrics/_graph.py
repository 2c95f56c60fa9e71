r"""Graph-generation metrics: MMD between graph statistics, GraphRNN / GRAN / GDSS protocol.

Each metric turns every graph into one vector (a degree, clustering or spectral histogram,
or the mean 4-node orbit counts), then compares the two sets of vectors with the biased
(V-statistic) squared MMD of GDSS (Jo et al., ICML 2022, ``evaluation/mmd.py``)

.. math::
    \mathrm{MMD}^2 = \overline{k(x, x')} + \overline{k(y, y')} - 2\,\overline{k(x, y)},

means over all pairs, diagonals included, so a set compared with itself gives exactly 0.
The kernels are Gaussians on a distance between the vectors (``sigma`` is the bandwidth):

* ``"gaussian_tv"`` (GRAN, GDSS): :math:`k = \exp(-\mathrm{TV}^2 / 2\sigma^2)` with the total
  variation :math:`\mathrm{TV}(x, y) = \tfrac12 \sum_i |x_i - y_i|`;
* ``"gaussian_emd"`` (GraphRNN): :math:`k = \exp(-\mathrm{EMD}^2 / 2\sigma^2)` with the 1-D
  earth mover's distance :math:`\sum_i |X_i - Y_i| \cdot w`, :math:`X, Y` the cumulative
  sums and :math:`w` the ground distance between neighbouring bins (1 for degree and
  spectral histograms, ``1 / bins`` for clustering histograms, as in GraphRNN / GDSS);
* ``"gaussian"`` (orbit counts): :math:`k = \exp(-\|x - y\|^2 / 2\sigma^2)`.

Histograms are normalised to sum to 1 and zero-padded to a common length. Neither kernel on
TV nor on EMD is positive definite in general, so MMD² can (rarely, slightly) be negative.
Unlike GDSS, graphs with no nodes are not dropped: their histograms and orbit vector are all
zeros (so they are far from every non-empty graph). Edgeless graphs need no special case.
networkx is imported lazily (``pip install 'skbridge[graphs]'``).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.spatial.distance import cdist

from ..data._checks import check_graphs, import_networkx

__all__ = [
    "clustering_mmd",
    "degree_mmd",
    "graph_mmd",
    "orbit_counts",
    "orbit_mmd",
    "spectral_mmd",
]

_KERNELS = ("gaussian_tv", "gaussian_emd", "gaussian")


# ---------------------------------------------------------------------------------- kernels


def _check_sigma(sigma):
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number, got {sigma!r}.")
    return float(sigma)


def _check_kernel(kernel):
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {_KERNELS}, got {kernel!r}.")
    return kernel


def _check_bins(bins):
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}.")
    return int(bins)


def _pad(vectors, length):
    out = np.zeros((len(vectors), length))
    for i, v in enumerate(vectors):
        out[i, : len(v)] = v
    return out


def _kernel_matrix(X, Y, kernel, sigma, bin_width=1.0):
    """Gram matrix ``k(X[i], Y[j])`` of one of the module's kernels (values in (0, 1])."""
    if kernel == "gaussian_tv":
        dist = 0.5 * cdist(X, Y, "cityblock")
    elif kernel == "gaussian_emd":
        dist = bin_width * cdist(np.cumsum(X, axis=1), np.cumsum(Y, axis=1), "cityblock")
    else:  # "gaussian"
        dist = cdist(X, Y, "euclidean")
    return np.exp(-(dist**2) / (2.0 * sigma**2))


def _mmd(ref_vectors, pred_vectors, kernel, sigma, bin_width=1.0):
    """Biased squared MMD between two lists of 1-D vectors (zero-padded to one length)."""
    length = max(1, *(len(v) for v in ref_vectors), *(len(v) for v in pred_vectors))
    X, Y = _pad(ref_vectors, length), _pad(pred_vectors, length)
    kxx = _kernel_matrix(X, X, kernel, sigma, bin_width).mean()
    kyy = _kernel_matrix(Y, Y, kernel, sigma, bin_width).mean()
    kxy = _kernel_matrix(X, Y, kernel, sigma, bin_width).mean()
    return float(kxx + kyy - 2.0 * kxy)


def _normalise(hist):
    hist = np.asarray(hist, dtype=np.float64)
    total = hist.sum()
    return hist / total if total > 0 else hist


# ------------------------------------------------------------------------------- statistics


def _degree_hist(G):
    """``nx.degree_histogram(G)`` normalised (``hist[d]`` = fraction of nodes of degree d)."""
    degrees = np.fromiter((d for _, d in G.degree()), dtype=np.int64, count=len(G))
    return _normalise(np.bincount(degrees)) if len(degrees) else np.zeros(0)


def _clustering_hist(G, bins):
    nx = import_networkx()
    coeffs = np.fromiter(nx.clustering(G).values(), dtype=np.float64, count=len(G))
    hist, _ = np.histogram(coeffs, bins=bins, range=(0.0, 1.0))
    return _normalise(hist)


def _spectral_hist(G, bins):
    """Histogram of the normalised-Laplacian eigenvalues on ``[-1e-5, 2]``, normalised.

    :math:`L = I' - D^{-1/2} A D^{-1/2}` with :math:`I'` the identity restricted to the
    non-isolated nodes (networkx's ``normalized_laplacian_matrix``), so each isolated node
    contributes an eigenvalue 0, like each connected component. Eigenvalues are clipped to
    ``[0, 2]`` first, so round-off cannot push the eigenvalue 2 of a bipartite component out
    of the last bin.
    """
    n = len(G)
    if n == 0:
        return np.zeros(bins)
    A = _adjacency(G).toarray().astype(np.float64)
    deg = A.sum(axis=1)
    inv_sqrt = np.zeros(n)
    inv_sqrt[deg > 0] = deg[deg > 0] ** -0.5
    L = np.diag((deg > 0).astype(np.float64)) - inv_sqrt[:, None] * A * inv_sqrt[None, :]
    eigs = np.clip(np.linalg.eigvalsh(L), 0.0, 2.0)
    hist, _ = np.histogram(eigs, bins=bins, range=(-1e-5, 2.0))
    return _normalise(hist)


def _adjacency(G):
    """CSR adjacency (int64, unweighted) in ``G``'s node order."""
    nx = import_networkx()
    return nx.to_scipy_sparse_array(G, nodelist=list(G), weight=None, dtype=np.int64, format="csr")


# Non-induced -> induced conversion for the 4-node orbits 4..14: entry [o, o'] is the number
# of (not necessarily induced) copies of orbit o's graphlet, with the node at orbit o, that
# span the induced graphlet of orbit o' with the node at orbit o'. Unit upper triangular.
_ORBIT_OVERLAP = {
    8: {4: 2, 5: 2},
    9: {4: 2, 6: 1},
    10: {4: 1, 5: 1, 6: 1},
    11: {5: 2, 7: 1},
    12: {4: 4, 5: 2, 6: 2, 8: 1, 9: 2, 10: 2},
    13: {4: 2, 5: 4, 6: 1, 7: 1, 8: 1, 10: 2, 11: 2},
    14: {4: 6, 5: 6, 6: 3, 7: 1, 8: 3, 9: 3, 10: 6, 11: 3, 12: 3, 13: 3},
}


def _k4_per_node(A, t):
    """Number of 4-cliques containing each node (set intersections; nodes with t < 3 skipped)."""
    n = A.shape[0]
    nbrs = [set(A.indices[A.indptr[v] : A.indptr[v + 1]].tolist()) for v in range(n)]
    out = np.zeros(n, dtype=np.int64)
    for v in np.flatnonzero(t >= 3):
        Nv, total = nbrs[v], 0
        for a in Nv:
            common = Nv & nbrs[a]  # the triangles (v, a, b)
            for b in common:
                if b > a:
                    total += len(common & nbrs[b])
        out[v] = total // 3  # each 4-clique {v, a, b, c} is seen from 3 pairs
    return out


def orbit_counts(G):
    """Node orbit counts of the graphlets with 2 to 4 nodes (15 orbits, ORCA numbering).

    ``counts[v, o]`` is the number of *induced* connected subgraphs with 2, 3 or 4 nodes
    that contain node ``v`` at orbit ``o`` (Hočevar & Demšar, "A combinatorial approach to
    graphlet counting", Bioinformatics 2014): 0 edge (= degree); 1 end and 2 middle of a
    path on 3 nodes; 3 triangle; 4 end and 5 inner node of a path on 4 nodes; 6 leaf and 7
    centre of a 3-star; 8 4-cycle; 9 pendant, 10 degree-2 and 11 degree-3 node of the paw
    (triangle with a pendant); 12 degree-2 and 13 degree-3 node of the diamond (K4 minus an
    edge); 14 K4.

    Computed exactly, without enumerating subgraphs: the *non*-induced counts of every
    orbit follow from sparse products of the adjacency matrix (walks, common neighbours,
    triangles per edge) and 4-cliques from neighbourhood intersections; the induced counts
    are then recovered with the (unit triangular) overlap matrix between the 4-node
    graphlets. Agrees with the ORCA program (and the ``orca-graphlets`` package) exactly.

    Parameters
    ----------
    G : networkx.Graph
        Simple undirected graph.

    Returns
    -------
    counts : ndarray of shape (n_nodes, 15), dtype int64
        Rows in ``G``'s node order.
    """
    (G,) = check_graphs(G, "G", single=True)
    n = len(G)
    out = np.zeros((n, 15), dtype=np.int64)
    if n == 0:
        return out
    A = _adjacency(G)
    d = np.asarray(A.sum(axis=1)).ravel()
    A2 = A @ A
    T = A.multiply(A2).tocsr()  # T[u, v] = common neighbours of the edge (u, v)
    t = np.asarray(T.sum(axis=1)).ravel() // 2  # triangles at each node
    S = A @ (d - 1)  # sum over neighbours of (their degree - 1)

    def row_sums(M, f):
        M = M.copy()
        M.data = f(M.data)
        return np.asarray(M.sum(axis=1)).ravel()

    def pairs(x):
        return x * (x - 1) // 2

    # 2- and 3-node orbits (already induced)
    out[:, 0] = d
    out[:, 1] = S - 2 * t
    out[:, 2] = pairs(d) - t
    out[:, 3] = t
    # non-induced counts of the 4-node orbits
    N = np.zeros((n, 15), dtype=np.int64)
    N[:, 4] = A @ S - d * (d - 1) - 2 * t
    N[:, 5] = (d - 1) * S - 2 * t
    N[:, 6] = A @ pairs(d - 1)
    N[:, 7] = d * (d - 1) * (d - 2) // 6
    N[:, 8] = row_sums(A2, pairs) - pairs(d)  # the diagonal w = v holds d_v
    N[:, 9] = A @ t - 2 * t
    N[:, 10] = T @ (d - 2)
    N[:, 11] = t * (d - 2)
    M = (T - A).tocsr()  # on each edge (a, b): common neighbours other than one
    N[:, 12] = np.asarray((A @ M).multiply(A).sum(axis=1)).ravel() // 2
    N[:, 13] = row_sums(T, pairs)
    N[:, 14] = _k4_per_node(A, t)
    # induced counts: back-substitution through the overlap matrix
    for o in range(14, 3, -1):
        out[:, o] = N[:, o]
        for big, coeffs in _ORBIT_OVERLAP.items():
            if big > o and o in coeffs:
                out[:, o] -= coeffs[o] * out[:, big]
    return out


def _mean_orbit_counts(G, backend):
    n = len(G)
    if n == 0:
        return np.zeros(15)
    if backend == "orca":
        from orca import orca_nodes

        index = {v: i for i, v in enumerate(G)}
        edges = np.array([(index[u], index[v]) for u, v in G.edges()], dtype=np.int64)
        counts = orca_nodes(edges.reshape(-1, 2), n, 4) if len(edges) else np.zeros((n, 15))
    else:
        counts = orbit_counts(G)
    return np.asarray(counts, dtype=np.float64).sum(axis=0) / n


# ---------------------------------------------------------------------------------- metrics


def degree_mmd(ref, pred, *, kernel="gaussian_tv", sigma=1.0):
    """MMD² between the degree distributions of two sets of graphs.

    Each graph gives its normalised degree histogram (``nx.degree_histogram``; an edgeless
    graph puts all its mass on degree 0). See the module notes for the kernels and the
    estimator.

    Parameters
    ----------
    ref, pred : list of networkx.Graph
        Reference (test) graphs and generated graphs; simple and undirected.
    kernel : {"gaussian_tv", "gaussian_emd", "gaussian"}, default="gaussian_tv"
        ``"gaussian_tv"`` as in GRAN/GDSS, ``"gaussian_emd"`` as in GraphRNN (unit bin
        spacing).
    sigma : float, default=1.0
        Kernel bandwidth.

    Returns
    -------
    float
        0 is ideal (exactly 0 for identical sets).
    """
    kernel, sigma = _check_kernel(kernel), _check_sigma(sigma)
    ref, pred = check_graphs(ref, "ref"), check_graphs(pred, "pred")
    return _mmd([_degree_hist(G) for G in ref], [_degree_hist(G) for G in pred], kernel, sigma)


def clustering_mmd(ref, pred, *, bins=100, kernel="gaussian_tv", sigma=0.1):
    """MMD² between the clustering-coefficient distributions of two sets of graphs.

    Each graph gives the histogram of its nodes' clustering coefficients (``nx.clustering``;
    0 for nodes of degree < 2) on ``[0, 1]`` with ``bins`` bins, normalised.

    Parameters
    ----------
    ref, pred : list of networkx.Graph
        Reference and generated graphs.
    bins : int, default=100
        Number of histogram bins.
    kernel : {"gaussian_tv", "gaussian_emd", "gaussian"}, default="gaussian_tv"
        With ``"gaussian_emd"`` the ground distance between neighbouring bins is
        ``1 / bins`` (GraphRNN/GDSS's ``distance_scaling=bins``).
    sigma : float, default=0.1
        Kernel bandwidth.

    Returns
    -------
    float
    """
    kernel, sigma, bins = _check_kernel(kernel), _check_sigma(sigma), _check_bins(bins)
    ref, pred = check_graphs(ref, "ref"), check_graphs(pred, "pred")
    X = [_clustering_hist(G, bins) for G in ref]
    Y = [_clustering_hist(G, bins) for G in pred]
    return _mmd(X, Y, kernel, sigma, bin_width=1.0 / bins)


def spectral_mmd(ref, pred, *, bins=200, kernel="gaussian_tv", sigma=1.0):
    """MMD² between the normalised-Laplacian spectra of two sets of graphs (GRAN/GDSS).

    Each graph gives the histogram of the eigenvalues of its normalised Laplacian on
    ``[-1e-5, 2]`` with ``bins`` bins, normalised. Isolated nodes count as eigenvalue 0
    (networkx's convention: :math:`L_{vv} = 0` for a node of degree 0).

    Parameters
    ----------
    ref, pred : list of networkx.Graph
        Reference and generated graphs.
    bins : int, default=200
        Number of histogram bins.
    kernel : {"gaussian_tv", "gaussian_emd", "gaussian"}, default="gaussian_tv"
        With ``"gaussian_emd"`` the bin spacing is 1 (as in GDSS).
    sigma : float, default=1.0
        Kernel bandwidth.

    Returns
    -------
    float

    Notes
    -----
    One dense eigendecomposition per graph, :math:`O(n^3)`: fine up to a few thousand nodes.
    """
    kernel, sigma, bins = _check_kernel(kernel), _check_sigma(sigma), _check_bins(bins)
    ref, pred = check_graphs(ref, "ref"), check_graphs(pred, "pred")
    X = [_spectral_hist(G, bins) for G in ref]
    Y = [_spectral_hist(G, bins) for G in pred]
    return _mmd(X, Y, kernel, sigma)


def orbit_mmd(ref, pred, *, sigma=30.0, backend="auto"):
    """MMD² between the 4-node graphlet orbit statistics of two sets of graphs (GraphRNN).

    Each graph gives its mean orbit-count vector: the 15 node orbit counts of
    :func:`orbit_counts` summed over nodes and divided by the number of nodes (not
    normalised further). The vectors are compared with the plain Gaussian kernel.

    Parameters
    ----------
    ref, pred : list of networkx.Graph
        Reference and generated graphs.
    sigma : float, default=30.0
        Kernel bandwidth (GraphRNN/GDSS's value).
    backend : {"auto", "numpy", "orca"}, default="auto"
        ``"numpy"``: :func:`orbit_counts` (exact, always available). ``"orca"``: the
        ``orca-graphlets`` package (``orca.orca_nodes``), same numbers. ``"auto"`` is
        ``"numpy"``, which is faster.

    Returns
    -------
    float
    """
    sigma = _check_sigma(sigma)
    if backend not in ("auto", "numpy", "orca"):
        raise ValueError(f"backend must be 'auto', 'numpy' or 'orca', got {backend!r}.")
    if backend == "orca":
        try:
            from orca import orca_nodes  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "backend='orca' needs the orca-graphlets package (pip install orca-graphlets); "
                "backend='numpy' gives the same counts without it."
            ) from exc
    ref, pred = check_graphs(ref, "ref"), check_graphs(pred, "pred")
    X = [_mean_orbit_counts(G, backend) for G in ref]
    Y = [_mean_orbit_counts(G, backend) for G in pred]
    return _mmd(X, Y, "gaussian", sigma)


def graph_mmd(ref, pred, *, kernel="gaussian_tv"):
    """The four GraphRNN/GDSS statistics at their default settings.

    Parameters
    ----------
    ref, pred : list of networkx.Graph
        Reference (test) graphs and generated graphs.
    kernel : {"gaussian_tv", "gaussian_emd"}, default="gaussian_tv"
        Kernel of the degree, clustering and spectral MMDs (orbit uses ``"gaussian"``).

    Returns
    -------
    dict
        ``{"degree": ..., "clustering": ..., "orbit": ..., "spectral": ...}``, floats, as
        returned by :func:`degree_mmd`, :func:`clustering_mmd` (``bins=100, sigma=0.1``),
        :func:`orbit_mmd` (``sigma=30``) and :func:`spectral_mmd` (``bins=200, sigma=1``).
    """
    return {
        "degree": degree_mmd(ref, pred, kernel=kernel),
        "clustering": clustering_mmd(ref, pred, kernel=kernel),
        "orbit": orbit_mmd(ref, pred),
        "spectral": spectral_mmd(ref, pred, kernel=kernel),
    }
