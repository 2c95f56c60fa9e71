"""Graph datasets (community-small, grids) and the GraphRNN/GDSS MMD metrics."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

nx = pytest.importorskip("networkx")

from scipy.stats import wasserstein_distance  # noqa: E402

from skbridge.data import (  # noqa: E402
    erdos_renyi_like,
    make_community_small,
    make_grid_graphs,
    train_test_split_graphs,
)
from skbridge.metrics import (  # noqa: E402
    clustering_mmd,
    degree_mmd,
    graph_mmd,
    orbit_counts,
    orbit_mmd,
    spectral_mmd,
)
from skbridge.metrics._graph import _kernel_matrix, _spectral_hist  # noqa: E402

METRICS = [degree_mmd, clustering_mmd, orbit_mmd, spectral_mmd]


@pytest.fixture(scope="module")
def comm_a():
    return make_community_small(40, random_state=0)


@pytest.fixture(scope="module")
def comm_b():
    return make_community_small(40, random_state=1)


# ------------------------------------------------------------------------------ orbit counts


def _row(**orbits):
    row = np.zeros(15, dtype=np.int64)
    for key, value in orbits.items():
        row[int(key[1:])] = value
    return row


PAW = nx.Graph([(0, 1), (0, 2), (0, 3), (1, 2)])  # 0: degree 3, 1-2: triangle, 3: pendant
DIAMOND = nx.Graph([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)])  # 0-1 the diagonal

# hand-computed: o0 degree, o1/o2 end/middle of P3, o3 triangle, o4/o5 P4 end/inner,
# o6/o7 star leaf/centre, o8 C4, o9/o10/o11 paw pendant/deg-2/deg-3, o12/o13 diamond
# deg-2/deg-3, o14 K4
HAND = {
    "path": (
        nx.path_graph(4),
        [
            _row(o0=1, o1=1, o4=1),
            _row(o0=2, o1=1, o2=1, o5=1),
            _row(o0=2, o1=1, o2=1, o5=1),
            _row(o0=1, o1=1, o4=1),
        ],
    ),
    "star": (
        nx.star_graph(3),
        [_row(o0=3, o2=3, o7=1)] + [_row(o0=1, o1=2, o6=1)] * 3,
    ),
    "cycle": (nx.cycle_graph(4), [_row(o0=2, o1=2, o2=1, o8=1)] * 4),
    "k4": (nx.complete_graph(4), [_row(o0=3, o3=3, o14=1)] * 4),
    "paw": (
        PAW,
        [
            _row(o0=3, o2=2, o3=1, o11=1),
            _row(o0=2, o1=1, o3=1, o10=1),
            _row(o0=2, o1=1, o3=1, o10=1),
            _row(o0=1, o1=2, o9=1),
        ],
    ),
    "diamond": (
        DIAMOND,
        [_row(o0=3, o2=1, o3=2, o13=1)] * 2 + [_row(o0=2, o1=2, o3=1, o12=1)] * 2,
    ),
    "triangle": (nx.complete_graph(3), [_row(o0=2, o3=1)] * 3),
    "edgeless": (nx.empty_graph(3), [_row()] * 3),
}


@pytest.mark.parametrize("name", list(HAND))
def test_orbit_counts_hand_computed(name):
    G, expected = HAND[name]
    np.testing.assert_array_equal(orbit_counts(G), np.array(expected))


def test_orbit_counts_node_order_and_labels():
    # rows follow G's node order, whatever the labels
    G = nx.relabel_nodes(PAW, {0: "c", 1: "a", 2: "b", 3: "z"})
    counts = orbit_counts(G)
    assert counts.shape == (4, 15) and counts.dtype == np.int64
    assert counts[list(G).index("z"), 9] == 1 and counts[list(G).index("c"), 11] == 1
    assert orbit_counts(nx.Graph()).shape == (0, 15)


# the orbit of a node in a connected 4-node graph: (n_edges, degree sequence, degree) -> orbit
def _orbit_4(sub, v):
    degs = sorted(d for _, d in sub.degree())
    key = (sub.number_of_edges(), tuple(degs), sub.degree(v))
    table = {
        (3, (1, 1, 2, 2), 1): 4,
        (3, (1, 1, 2, 2), 2): 5,
        (3, (1, 1, 1, 3), 1): 6,
        (3, (1, 1, 1, 3), 3): 7,
        (4, (2, 2, 2, 2), 2): 8,
        (4, (1, 2, 2, 3), 1): 9,
        (4, (1, 2, 2, 3), 2): 10,
        (4, (1, 2, 2, 3), 3): 11,
        (5, (2, 2, 3, 3), 2): 12,
        (5, (2, 2, 3, 3), 3): 13,
        (6, (3, 3, 3, 3), 3): 14,
    }
    return table[key]


def _brute_force_orbits(G):
    """Enumerate every connected induced subgraph on 2-4 nodes (reference implementation)."""
    nodes = list(G)
    index = {v: i for i, v in enumerate(nodes)}
    out = np.zeros((len(nodes), 15), dtype=np.int64)
    for u, v in G.edges():
        out[index[u], 0] += 1
        out[index[v], 0] += 1
    for trio in itertools.combinations(nodes, 3):
        sub = G.subgraph(trio)
        if sub.number_of_edges() == 3:
            for v in trio:
                out[index[v], 3] += 1
        elif sub.number_of_edges() == 2:
            for v in trio:
                out[index[v], 2 if sub.degree(v) == 2 else 1] += 1
    for quad in itertools.combinations(nodes, 4):
        sub = G.subgraph(quad)
        if sub.number_of_edges() >= 3 and nx.is_connected(sub):
            for v in quad:
                out[index[v], _orbit_4(sub, v)] += 1
    return out


def test_orbit_counts_match_brute_force():
    rng = np.random.default_rng(0)
    graphs = [
        nx.gnp_random_graph(int(rng.integers(4, 11)), p, seed=int(rng.integers(2**31)))
        for p in np.linspace(0.1, 0.95, 16)
    ]
    graphs += [nx.petersen_graph(), nx.wheel_graph(7), nx.complete_bipartite_graph(3, 4)]
    for G in graphs:
        np.testing.assert_array_equal(orbit_counts(G), _brute_force_orbits(G))


def test_orbit_counts_match_orca(comm_a):
    orca = pytest.importorskip("orca")
    if not hasattr(orca, "orca_nodes"):
        pytest.skip("the installed 'orca' is not the orca-graphlets package")
    rng = np.random.default_rng(1)
    graphs = [
        nx.gnp_random_graph(int(rng.integers(5, 30)), p, seed=int(rng.integers(2**31)))
        for p in np.linspace(0.05, 0.9, 12)
    ]
    graphs += comm_a[:10] + make_grid_graphs(min_side=3, max_side=5)
    for G in graphs:
        edges = np.array(list(G.edges()), dtype=np.int64).reshape(-1, 2)
        expected = orca.orca_nodes(edges, len(G), 4) if len(edges) else np.zeros((len(G), 15))
        np.testing.assert_array_equal(orbit_counts(G), expected)
    assert orbit_mmd(comm_a, graphs[:12], backend="orca") == pytest.approx(
        orbit_mmd(comm_a, graphs[:12], backend="numpy"), abs=1e-12
    )


# ------------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("kernel", ["gaussian_tv", "gaussian_emd", "gaussian"])
def test_kernel_symmetric_in_unit_interval(kernel):
    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(12), size=15)
    K = _kernel_matrix(X, X, kernel, sigma=0.3)
    np.testing.assert_allclose(K, K.T)
    np.testing.assert_allclose(np.diag(K), 1.0)
    assert np.all((K > 0) & (K <= 1))


def test_kernels_match_definitions():
    rng = np.random.default_rng(1)
    x, y = rng.dirichlet(np.ones(8), size=2)
    sigma = 0.7
    tv = 0.5 * np.abs(x - y).sum()
    emd = wasserstein_distance(np.arange(8), np.arange(8), x, y)
    l2 = np.linalg.norm(x - y)
    for kernel, dist in [("gaussian_tv", tv), ("gaussian_emd", emd), ("gaussian", l2)]:
        value = _kernel_matrix(x[None], y[None], kernel, sigma)[0, 0]
        assert value == pytest.approx(np.exp(-(dist**2) / (2 * sigma**2)))
    # bin spacing 1/8: the EMD scales with it
    value = _kernel_matrix(x[None], y[None], "gaussian_emd", sigma, bin_width=1 / 8)[0, 0]
    assert value == pytest.approx(np.exp(-((emd / 8) ** 2) / (2 * sigma**2)))


# ------------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("metric", METRICS)
def test_mmd_of_a_set_with_itself_is_zero(metric, comm_a):
    assert metric(comm_a, comm_a) == 0.0
    assert metric(comm_a, list(comm_a)) == 0.0


@pytest.mark.parametrize("kernel", ["gaussian_tv", "gaussian_emd"])
def test_community_vs_er_larger_than_community_vs_community(kernel, comm_a, comm_b):
    rng = np.random.default_rng(2)
    er = [nx.gnp_random_graph(int(rng.integers(12, 21)), 0.4, seed=i) for i in range(40)]
    same = graph_mmd(comm_a, comm_b, kernel=kernel)
    other = graph_mmd(comm_a, er, kernel=kernel)
    assert set(same) == {"degree", "clustering", "orbit", "spectral"}
    for key in same:
        assert 0 <= same[key] < 0.5 * other[key], key
    # the matched-density ER baseline loses the community structure
    baseline = graph_mmd(comm_a, erdos_renyi_like(comm_a, random_state=0), kernel=kernel)
    for key in ("clustering", "orbit", "spectral"):
        assert baseline[key] > 2 * same[key], key


def test_mmd_symmetric_and_reference_values(comm_a, comm_b):
    for metric in METRICS:
        assert metric(comm_a, comm_b) == pytest.approx(metric(comm_b, comm_a), abs=1e-12)
    # the data inventory's numbers on 100 vs 100 graphs are 0.003 / 0.029 / 0.003 / 0.006;
    # these 40 vs 40 are of the same order
    res = graph_mmd(comm_a, comm_b)
    assert res["degree"] < 0.02 and res["orbit"] < 0.02 and res["spectral"] < 0.03
    assert res["clustering"] < 0.1


def test_degree_and_spectral_statistics():
    G = nx.path_graph(5)
    # same degree histogram (two degree-1, three degree-2 nodes), different graph -> 0
    H = nx.union(nx.path_graph(2), nx.cycle_graph(3), rename=("a", "b"))
    assert degree_mmd([G], [H]) == 0.0
    assert degree_mmd([G], [nx.star_graph(4)]) > 0
    # spectral histogram: eigenvalues of networkx's normalised Laplacian
    eigs = np.linalg.eigvalsh(nx.normalized_laplacian_matrix(G).toarray())
    hist, _ = np.histogram(np.clip(eigs, 0, 2), bins=200, range=(-1e-5, 2))
    np.testing.assert_allclose(_spectral_hist(G, 200), hist / hist.sum())
    # bipartite: eigenvalue 2 is kept in the last bin
    assert _spectral_hist(nx.cycle_graph(6), 200)[-1] > 0


def test_edgeless_and_empty_graphs():
    edgeless = [nx.empty_graph(5), nx.empty_graph(1)]
    null = [nx.Graph()]
    ref = [nx.complete_graph(4), nx.path_graph(4)]
    for metric in METRICS:
        for pred in (edgeless, null, edgeless + null):
            value = metric(ref, pred)
            assert np.isfinite(value) and value > 0
        assert metric(edgeless, edgeless) == 0.0
    # isolated nodes: eigenvalue 0, clustering 0, degree 0
    assert _spectral_hist(nx.empty_graph(4), 200)[0] == 1.0
    assert spectral_mmd([nx.empty_graph(3)], [nx.empty_graph(7)]) == 0.0
    assert orbit_mmd(null, [nx.empty_graph(3)]) == 0.0  # both all-zero orbit vectors


@pytest.mark.parametrize("metric", METRICS)
def test_bad_input(metric):
    good = [nx.path_graph(4)]
    with pytest.raises(ValueError, match="empty"):
        metric([], good)
    with pytest.raises(TypeError, match="list"):
        metric(nx.path_graph(4), good)
    with pytest.raises(TypeError, match="list"):
        metric(np.eye(3), good)
    with pytest.raises(TypeError, match=r"pred\[1\] is a ndarray"):
        metric(good, [nx.path_graph(3), np.eye(3)])
    with pytest.raises(ValueError, match="to_undirected"):
        metric(good, [nx.DiGraph([(0, 1)])])
    with pytest.raises(ValueError, match="multigraph"):
        metric([nx.MultiGraph([(0, 1), (0, 1)])], good)
    with pytest.raises(ValueError, match="self-loops"):
        metric([nx.Graph([(0, 0), (0, 1)])], good)
    with pytest.raises(ValueError, match="sigma"):
        metric(good, good, sigma=0)


def test_bad_parameters():
    good = [nx.path_graph(4)]
    with pytest.raises(ValueError, match="kernel"):
        degree_mmd(good, good, kernel="rbf")
    with pytest.raises(ValueError, match="bins"):
        clustering_mmd(good, good, bins=0)
    with pytest.raises(ValueError, match="bins"):
        spectral_mmd(good, good, bins=2.5)
    with pytest.raises(ValueError, match="backend"):
        orbit_mmd(good, good, backend="fast")
    with pytest.raises(TypeError, match="not a networkx Graph"):
        orbit_counts(np.eye(3))


def test_import_without_networkx():
    code = (
        "import sys; sys.modules['networkx'] = None\n"
        "import skbridge, skbridge.data, skbridge.metrics\n"
        "try:\n"
        "    skbridge.data.make_grid_graphs()\n"
        "except ImportError as e:\n"
        "    assert 'skbridge[graphs]' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ------------------------------------------------------------------------------- datasets


def test_community_small_recipe():
    graphs = make_community_small(60, random_state=0)
    assert len(graphs) == 60
    sizes = {G.number_of_nodes() for G in graphs}
    assert sizes <= {12, 14, 16, 18, 20} and len(sizes) >= 4
    for G in graphs:
        n = G.number_of_nodes()
        k = n // 2
        assert sorted(G) == list(range(n)) and nx.is_connected(G)
        assert not G.is_directed() and nx.number_of_selfloops(G) == 0
        intra = sum((u < k) == (v < k) for u, v in G.edges())
        inter = G.number_of_edges() - intra
        assert inter >= 1
        # intra-block density ~0.7, inter-block density ~0.1 / k
        intra_density, inter_density = intra / (k * (k - 1)), inter / (k * k)
        assert intra_density > 0.5 and inter_density < 0.2
        assert intra_density > 3 * inter_density
        # published recipe: the communities are gnp_random_graph(k, 0.7, seed=c)
        first = nx.gnp_random_graph(k, 0.7, seed=0)
        assert set(map(frozenset, G.subgraph(range(k)).edges())) == set(
            map(frozenset, first.edges())
        )
    assert 30 < np.mean([G.number_of_edges() for G in graphs]) < 45


def test_community_small_determinism_and_random_communities():
    def edges(graphs):
        return [sorted(G.edges()) for G in graphs]

    assert edges(make_community_small(10, random_state=3)) == edges(
        make_community_small(10, random_state=3)
    )
    assert edges(make_community_small(10, random_state=3)) != edges(
        make_community_small(10, random_state=4)
    )
    rand = make_community_small(30, fixed_communities=False, random_state=0)
    firsts = {frozenset(G.subgraph(range(G.number_of_nodes() // 2)).edges()) for G in rand}
    assert len(firsts) == 30  # no longer one fixed graph per size
    with pytest.raises(ValueError, match="n_graphs"):
        make_community_small(0)


def test_grid_graphs():
    graphs = make_grid_graphs()
    assert len(graphs) == 100
    sizes = [G.number_of_nodes() for G in graphs]
    assert min(sizes) == 100 and max(sizes) == 361
    assert sizes[:3] == [100, 110, 120]
    G = graphs[1]  # 10 x 11
    assert sorted(G) == list(range(110)) and G.number_of_edges() == 10 * 10 + 9 * 11
    assert len(make_grid_graphs(min_side=2, max_side=3)) == 4
    with pytest.raises(ValueError, match="min_side"):
        make_grid_graphs(min_side=5, max_side=4)


def test_train_test_split_graphs():
    graphs = make_community_small(100, random_state=0)
    train, test = train_test_split_graphs(graphs)
    assert len(train) == 80 and len(test) == 20
    assert {id(G) for G in train + test} == {id(G) for G in graphs}
    again = train_test_split_graphs(graphs)
    assert [id(G) for G in again[1]] == [id(G) for G in test]
    # GDSS: no shuffle, the first 20% are the test set
    train, test = train_test_split_graphs(graphs, shuffle=False)
    assert test == graphs[:20] and train == graphs[20:]
    for bad in (0, 1, 1.5, "0.2"):
        with pytest.raises(ValueError, match="test_size"):
            train_test_split_graphs(graphs, test_size=bad)
    with pytest.raises(ValueError, match="empty"):
        train_test_split_graphs(graphs[:3], test_size=0.2)


def test_erdos_renyi_like():
    ref = make_community_small(50, random_state=0) + [nx.Graph(), nx.empty_graph(1)]
    fake = erdos_renyi_like(ref, random_state=0)
    assert [G.number_of_nodes() for G in fake] == [G.number_of_nodes() for G in ref]
    m_ref = sum(G.number_of_edges() for G in ref)
    m_fake = sum(G.number_of_edges() for G in fake)
    assert abs(m_fake - m_ref) < 0.1 * m_ref
    again = erdos_renyi_like(ref, random_state=0)
    assert [sorted(G.edges()) for G in again] == [sorted(G.edges()) for G in fake]
    with pytest.raises(TypeError, match="graphs"):
        erdos_renyi_like("graphs")
