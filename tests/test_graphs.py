"""Graphs: the codec (round trip, dequantisation, node attributes), the equivariant drift
network, every model on graph data, and bad input."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import truncnorm

from skbridge import SBVAE, VAE, FlowMatching, ScoreSDE
from skbridge.data import GraphCodec, make_community_small
from skbridge.data._dequantize import dequantize, relaxed_onehot
from skbridge.models._diffusion import auto_n_steps, auto_sampler, auto_sampling_steps
from skbridge.nets import _graph as graph_nets
from skbridge.nets import drift_network
from skbridge.nets._graph import GraphDriftNet

nx = pytest.importorskip("networkx")

FAST = {
    ScoreSDE: dict(max_iter=20, n_steps=5, hidden_layer_sizes=(16,), n_elbo_samples=1),
    SBVAE: dict(
        max_iter=20, n_steps=5, hidden_layer_sizes=(16,), n_elbo_samples=1, encoder_max_iter=2
    ),
    FlowMatching: dict(max_iter=20, n_steps=4, hidden_layer_sizes=(16,)),
    VAE: dict(max_iter=20, hidden_layer_sizes=(16,), n_importance_samples=4),
}
MODELS = [pytest.param(cls, id=cls.__name__) for cls in FAST]


@pytest.fixture(scope="module")
def community():
    return make_community_small(30, random_state=0)


def _labelled_graphs():
    """Small graphs of different sizes with a node attribute, isolated nodes and string
    node labels (sortable) and mixed labels (not sortable)."""
    G0 = nx.Graph()
    G0.add_nodes_from([("c", {"kind": "x"}), ("a", {"kind": "y"}), ("b", {"kind": "x"})])
    G0.add_nodes_from([("d", {"kind": "z"})])  # isolated
    G0.add_edges_from([("a", "b"), ("b", "c")])
    G1 = nx.Graph()
    G1.add_node(0, kind="z")  # a single isolated node
    G2 = nx.Graph()
    G2.add_nodes_from([(1, {"kind": "y"}), ("q", {"kind": "x"}), (2, {"kind": "x"})])
    G2.add_edges_from([(1, "q"), ("q", 2), (1, 2)])
    G3 = nx.path_graph(6)
    nx.set_node_attributes(G3, "y", "kind")
    G3.add_node(6, kind="x")  # isolated, last
    return [G0, G1, G2, G3]


def _canonical(G):
    """``G`` relabelled 0..k-1 in the codec's node order (sorted when sortable)."""
    try:
        order = sorted(G.nodes)
    except TypeError:
        order = list(G.nodes)
    return nx.relabel_nodes(G, {node: i for i, node in enumerate(order)})


def _same(A, B):
    return (
        sorted(A.nodes(data=True)) == sorted(B.nodes(data=True))
        and {frozenset(e) for e in A.edges()} == {frozenset(e) for e in B.edges()}
        and isinstance(B, nx.Graph)
        and not B.is_directed()
        and not B.is_multigraph()
    )


# ------------------------------------------------------------------------- codec
def test_round_trip_structure(community):
    codec = GraphCodec().fit(community)
    N = max(G.number_of_nodes() for G in community)
    assert codec.max_nodes_ == N and codec.n_channels_ == 2
    assert codec.n_latent_ == codec.n_packed_ == N * 2 + N * (N - 1) // 2
    assert codec.has_discrete_ and codec.validates_input
    assert codec.n_nodes_counts_.sum() == 30
    assert codec.n_nodes_counts_[12] == sum(G.number_of_nodes() == 12 for G in community)
    P, offset = codec.encode(community)
    assert P.shape == (30, codec.n_packed_) and np.all(offset == 0)
    assert set(np.unique(P)) == {0.0, 1.0}
    out = codec.decode(P)
    assert all(nx.utils.graphs_equal(G, H) for G, H in zip(community, out, strict=True))
    assert any(G.number_of_nodes() < N for G in community)  # padding is exercised


def test_round_trip_attributes_isolated_nodes_and_labels():
    graphs = _labelled_graphs()
    codec = GraphCodec(node_attr="kind").fit(graphs)
    assert codec.node_categories_ == ["x", "y", "z"]
    assert codec.max_nodes_ == 7 and codec.n_channels_ == 4
    P, _ = codec.encode(graphs)
    out = codec.decode(P)
    for G, H in zip(graphs, out, strict=True):
        assert list(H.nodes) == list(range(G.number_of_nodes()))
        assert _same(_canonical(G), H)
    # every dequantisation draw decodes back, with a finite log q
    Pt = torch.as_tensor(np.repeat(P, 25, axis=0), dtype=torch.float32)
    v, log_q = dequantize(codec, Pt, generator=torch.Generator().manual_seed(0))
    assert v.shape == Pt.shape and torch.isfinite(log_q).all()
    for k, H in enumerate(codec.decode(v.numpy())):
        assert _same(_canonical(graphs[k // 25]), H)


def test_dequantisation_log_q_is_exact(community):
    codec = GraphCodec().fit(community[:5])
    P, _ = codec.encode(community[:5])
    Pt = torch.as_tensor(P, dtype=torch.float64)
    u = torch.rand(Pt.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    v, log_q = codec.perturb(Pt, u)
    NF, F = codec.max_nodes_ * codec.n_channels_, codec.n_channels_
    _, lq_nodes = relaxed_onehot(Pt[:, :NF].reshape(-1, F), u[:, :NF].reshape(-1, F))
    e, ve = P[:, NF:], v[:, NF:].numpy()
    s = 0.25
    lo = np.where(e == 1, (0.5 - 1.0) / s, -np.inf)
    hi = np.where(e == 1, np.inf, 0.5 / s)
    lq_edges = truncnorm.logpdf(ve, lo, hi, loc=e, scale=s).sum(1)
    expected = lq_nodes.reshape(5, -1).sum(1).numpy() + lq_edges
    np.testing.assert_allclose(log_q.numpy(), expected, rtol=1e-8)
    assert np.all((ve >= 0.5) == (e == 1))


def test_codec_pickled_before_edge_attributes_still_works(community):
    import pickle

    codec = GraphCodec().fit(community)
    state = codec.__getstate__()
    for key in ("edge_attr", "edge_categories_", "_edge_index", "_n_levels"):
        state.pop(key)  # what a codec pickled by an earlier version holds
    old = GraphCodec.__new__(GraphCodec)
    old.__setstate__(state)
    P, _ = codec.encode(community)
    np.testing.assert_array_equal(old.encode(community)[0], P)
    assert all(nx.utils.graphs_equal(G, H) for G, H in zip(community, old.decode(P), strict=True))
    assert pickle.loads(pickle.dumps(codec)).get_params() == codec.get_params()


def test_single_node_graphs():
    graphs = [nx.empty_graph(1), nx.empty_graph(1)]
    codec = GraphCodec().fit(graphs)
    assert codec.n_latent_ == 2 and codec.n_pairs_ == 0
    P, _ = codec.encode(graphs)
    v, log_q = dequantize(codec, torch.as_tensor(P, dtype=torch.float32))
    assert all(_same(G, H) for G, H in zip(graphs, codec.decode(v.numpy()), strict=True))


def test_graphs_without_nodes_round_trip():
    """Every node position ABSENT is a graph the model can sample: score_samples and fit
    accept it (both refused it), and a set of only empty graphs is refused."""
    graphs = [nx.cycle_graph(3), nx.path_graph(4), nx.empty_graph(0)]
    codec = GraphCodec().fit(graphs)
    P, _ = codec.encode([nx.empty_graph(0)])
    (H,) = codec.decode(P)
    assert H.number_of_nodes() == 0
    model = ScoreSDE(**FAST[ScoreSDE], random_state=0).fit(graphs)
    scores = model.score_samples([nx.empty_graph(0), nx.cycle_graph(3)])
    assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="no nodes: there is nothing to model"):
        GraphCodec().fit([nx.empty_graph(0)] * 2)


def test_decode_drops_absent_nodes_and_their_edges():
    codec = GraphCodec().fit([nx.path_graph(4)])
    P, _ = codec.encode([nx.path_graph(4)])
    V = P.copy()
    V[0, 2 * 2 : 2 * 2 + 2] = [0.0, 1.0]  # position 2 becomes ABSENT
    (H,) = codec.decode(V)
    # path 0-1-2-3 without position 2: nodes 0, 1, 3 -> 0, 1, 2; only the edge 0-1 is left
    assert list(H.nodes) == [0, 1, 2] and sorted(H.edges) == [(0, 1)]


def test_import_without_networkx():
    code = (
        "import sys; sys.modules['networkx'] = None\n"
        "import skbridge, skbridge.data\n"
        "c = skbridge.data.GraphCodec()\n"
        "try:\n    c.fit([1])\nexcept ImportError as e:\n    print('ok', 'networkx' in str(e))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok True", out.stderr


# ----------------------------------------------------------------------- network
def _permute_flat(x, perm, N, F):
    """Permute the node positions of flat graph vectors: new position p is old perm[p]."""
    n = x.shape[0]
    X = x[:, : N * F].reshape(n, N, F)[:, perm]
    iu, ju = torch.triu_indices(N, N, 1)
    A = torch.zeros(n, N, N, dtype=x.dtype)
    A[:, iu, ju] = x[:, N * F :]
    A[:, ju, iu] = x[:, N * F :]
    A = A[:, perm][:, :, perm]
    return torch.cat([X.reshape(n, -1), A[:, iu, ju]], dim=1)


def _edge_matrix(y, N, F):
    """The full edge output of the network, rebuilt from the flat output."""
    iu, ju = torch.triu_indices(N, N, 1)
    A = torch.zeros(y.shape[0], N, N, dtype=y.dtype)
    A[:, iu, ju] = y[:, N * F :]
    return A


@pytest.mark.parametrize(
    "N, F, powers, spectral", [(7, 3, 2, 3), (12, 2, 1, 0), (9, 2, 4, 2), (3, 2, 2, 5)]
)
@pytest.mark.parametrize("dense", [True, False], ids=["incidence", "index"])
def test_network_permutation_equivariance(N, F, powers, spectral, dense, monkeypatch):
    # both ways of moving features between nodes and pairs (small N: incidence products);
    # eigenprojector features are equivariant when the eigenvalues are distinct (a.s. here)
    monkeypatch.setattr(graph_nets, "_DENSE_INCIDENCE_MAX_NODES", 64 if dense else 0)
    torch.manual_seed(0)
    net = GraphDriftNet(N, F, 32, adjacency_powers=powers, spectral=spectral).double()
    d = N * F + N * (N - 1) // 2
    x = torch.randn(4, d, dtype=torch.float64)
    t = torch.rand(4, dtype=torch.float64)
    y = net(t, x)
    assert y.shape == x.shape
    for seed in range(3):
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(seed))
        y_perm = net(t, _permute_flat(x, perm, N, F))
        torch.testing.assert_close(y_perm, _permute_flat(y, perm, N, F), atol=1e-5, rtol=0)
        assert not torch.allclose(y_perm, y)  # the output does depend on the positions
    # the edge output is symmetric: swapping nodes 0 and 1 turns pair (0, 1) into (1, 0),
    # stored as the same flat entry, whose output must not change
    swap = torch.arange(N)
    swap[[0, 1]] = swap[[1, 0]]
    y_swap = net(t, _permute_flat(x, swap, N, F))
    E, E_swap = _edge_matrix(y, N, F), _edge_matrix(y_swap, N, F)
    torch.testing.assert_close(E[:, 0, 1], E_swap[:, 0, 1], atol=1e-5, rtol=0)
    # without autograd (sampling) the pair products are computed node by node: same output
    with torch.no_grad():
        torch.testing.assert_close(net(t, x), y, atol=1e-10, rtol=0)
    # a scalar time works too, and zero_init starts from the zero function
    assert net(torch.tensor(0.5, dtype=torch.float64), x).shape == x.shape
    zero = GraphDriftNet(N, F, 32, zero_init=True)
    assert torch.count_nonzero(zero(t.float(), x.float())) == 0
    # the two ways agree
    monkeypatch.setattr(graph_nets, "_DENSE_INCIDENCE_MAX_NODES", 0 if dense else 64)
    other = GraphDriftNet(N, F, 32, adjacency_powers=powers, spectral=spectral).double()
    other.load_state_dict(net.state_dict())
    assert (other.inc is None) == dense
    torch.testing.assert_close(other(t, x), y, atol=1e-10, rtol=0)


def test_network_adjacency_powers_checked_and_used():
    with pytest.raises(ValueError, match="adjacency_powers"):
        GraphDriftNet(5, 2, adjacency_powers=0)
    torch.manual_seed(0)
    N, F = 6, 2
    x = torch.randn(3, N * F + N * (N - 1) // 2)
    t = torch.rand(3)
    one = GraphDriftNet(N, F, 16, adjacency_powers=1, spectral=0)
    two = GraphDriftNet(N, F, 16, spectral=0)
    assert one.node_in.in_features == F + 1 and two.node_in.in_features == F + 2
    assert two.edge_in.in_features == 2
    # the A^2 channel carries signal: zeroing its input weights changes the output
    y = two(t, x)
    with torch.no_grad():
        two.edge_in.weight[:, 1] = 0
        two.node_in.weight[:, F + 1] = 0
    assert not torch.allclose(two(t, x), y)


def test_network_spectral_features_checked_and_used():
    with pytest.raises(ValueError, match="spectral"):
        GraphDriftNet(5, 2, spectral=-1)
    torch.manual_seed(0)
    N, F = 6, 2
    x = torch.randn(3, N * F + N * (N - 1) // 2, dtype=torch.float64)
    t = torch.rand(3, dtype=torch.float64)
    net = GraphDriftNet(N, F, 16, spectral=3).double()
    # per node: X, 2 power diagonals, 3 projector diagonals, 3 eigenvalues; per pair: 2 + 3
    assert net.node_in.in_features == F + 2 + 6 and net.edge_in.in_features == 5
    assert GraphDriftNet(2, F, spectral=3).spectral == 2  # at most N eigenpairs
    y = net(t, x)
    with torch.no_grad():
        net.edge_in.weight[:, 2:] = 0
        net.node_in.weight[:, F + 2 :] = 0
    assert not torch.allclose(net(t, x), y)


def test_eigh_gradient_matches_torch_and_stays_finite():
    """The damped eigendecomposition backward equals torch's away from ties and is finite
    at ties (a zero matrix: all eigenvalues equal), where torch's is not."""
    torch.manual_seed(0)
    A = torch.randn(3, 6, 6, dtype=torch.float64)
    A = (A + A.transpose(1, 2)).requires_grad_(True)
    w = torch.randn(6, 2, dtype=torch.float64)

    def loss(eigh, M):
        lam, U = eigh(M)
        return (lam[:, -2:] ** 2).sum() + ((U[:, :, -2:] ** 2) * w[: M.shape[-1]]).sum()

    (g_ours,) = torch.autograd.grad(loss(graph_nets._Eigh.apply, A), A)
    (g_torch,) = torch.autograd.grad(loss(torch.linalg.eigh, A), A)
    # the damping changes 1/d by a factor 1/(1 + eps/d^2): relative 1e-4 at gaps d ~ 0.1
    torch.testing.assert_close(g_ours, 0.5 * (g_torch + g_torch.mT), atol=1e-5, rtol=1e-3)
    # twice differentiable (SB-VAE's Stein form differentiates a divergence)
    (g,) = torch.autograd.grad(loss(graph_nets._Eigh.apply, A), A, create_graph=True)
    assert torch.isfinite(torch.autograd.grad(g.square().sum(), A)[0]).all()
    Z = torch.zeros(1, 4, 4, dtype=torch.float64, requires_grad=True)
    (g_tie,) = torch.autograd.grad(loss(graph_nets._Eigh.apply, Z), Z)
    assert torch.isfinite(g_tie).all()


def test_network_tiny_graphs():
    """One node (no pairs) and two nodes (one pair): shapes and gradients."""
    for N in (1, 2):
        net = GraphDriftNet(N, 2, 8)
        x = torch.randn(3, 2 * N + N * (N - 1) // 2, requires_grad=True)
        y = net(torch.rand(3), x)
        y.sum().backward()
        assert y.shape == x.shape and torch.isfinite(x.grad).all()


def test_graph_codec_gets_the_graph_network(community):
    codec = GraphCodec().fit(community[:4])
    net = drift_network(codec, (16, 24), T=2.0)
    assert isinstance(net, GraphDriftNet) and net.node_in.out_features == 24
    net = drift_network(codec, "auto", zero_init=True)
    assert net.node_in.out_features == 64
    x = torch.randn(3, codec.n_latent_)
    assert torch.count_nonzero(net(torch.rand(3), x)) == 0


# ------------------------------------------------------------------------ models
@pytest.mark.parametrize("cls", MODELS)
def test_models_fit_sample_score(cls, community):
    model = cls(random_state=0, **FAST[cls]).fit(community)
    codec = model.codec_
    assert isinstance(codec, GraphCodec) and codec.max_nodes_ == 20
    samples = model.sample(5, random_state=0)
    assert len(samples) == 5
    for G in samples:
        assert type(G) is nx.Graph and not G.is_directed() and not G.is_multigraph()
        assert nx.number_of_selfloops(G) == 0
        assert G.number_of_nodes() <= codec.max_nodes_
        assert list(G.nodes) == list(range(G.number_of_nodes()))
    scores = model.score_samples(community[:3])
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    # deterministic, and a row's score does not depend on the other rows
    np.testing.assert_allclose(model.score_samples(community[1:2]), scores[1:2], rtol=1e-5)


def test_auto_sampler_on_graphs(community):
    """sampler="auto" (the default) is the predictor-corrector for a score-matching decoder
    on graphs without edge attributes, and the plain reverse chain for an SBVAE that kept
    its encoder."""
    model = ScoreSDE(random_state=0, **FAST[ScoreSDE]).fit(community)
    assert model.sampler == "auto" and model.resolved_sampler() == "pc"
    auto = model.sample(4, random_state=0)
    model.set_params(sampler="pc")
    pc = model.sample(4, random_state=0)
    assert [sorted(G.edges) for G in auto] == [sorted(G.edges) for G in pc]
    kept = SBVAE(random_state=0, encoder="joint", **FAST[SBVAE]).fit(community)
    assert kept.encoder_kept_ and kept.resolved_sampler() == "sde"
    # with edge attributes (molecules) "auto" is the plain chain
    assert auto_sampler(GraphCodec(), score_matching=True) == "pc"
    assert auto_sampler(GraphCodec(edge_attr="bond"), score_matching=True) == "sde"
    assert auto_sampler(GraphCodec(), score_matching=False) == "sde"


def test_auto_n_steps_on_graphs(community):
    """n_steps="auto" (the default) is 300 steps for graphs without edge attributes, 100
    with them and on tables; an integer overrides it, and changing it after fit changes
    the sampling grid without a refit."""
    assert auto_n_steps(GraphCodec()) == 300
    assert auto_n_steps(GraphCodec(edge_attr="bond")) == 100
    model = ScoreSDE(random_state=0, **FAST[ScoreSDE]).fit(community[:8])
    assert model.resolved_n_steps() == 5
    model.set_params(n_steps="auto")
    assert model.resolved_n_steps() == 300
    assert len(model.sample(2, random_state=0)) == 2
    assert ScoreSDE().resolved_n_steps(GraphCodec()) == 300
    assert ScoreSDE().resolved_n_steps(GraphCodec(edge_attr="bond")) == 100
    assert ScoreSDE(n_steps=50).resolved_n_steps(GraphCodec()) == 50
    table = ScoreSDE(random_state=0, **FAST[ScoreSDE]).set_params(n_steps="auto")
    table.fit(np.random.default_rng(0).normal(size=(40, 2)))
    assert table.resolved_n_steps() == 100


def test_monitoring_costs_at_most_a_quarter_of_training(community, monkeypatch):
    """The rows of the monitored -ELBO: a check's K-step chains cost at most a quarter of
    the training evaluations between checks (3 per row and step), but at least 4 rows. A
    small graph set, whose batch is all of it, used to be monitored on up to 16384 /
    dimension rows (71 of 80 Community-small graphs: 90 s of a 153 s fit)."""
    import skbridge.models._decoder as decoder_module

    rows = []
    chain_elbo = decoder_module.chain_elbo

    def counted(sde, h, ema, x, grid, **kw):
        rows.append(x.shape[0])
        return chain_elbo(sde, h, ema, x, grid, **kw)

    monkeypatch.setattr(decoder_module, "chain_elbo", counted)
    train = community[:24]
    # check_every 3 steps of a 24-graph batch on 20 steps: 3 * 3 * 24 / (4 * 20) = 2 -> 4
    params = dict(max_iter=60, n_steps=20, hidden_layer_sizes=(16,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ScoreSDE(**params).fit(train)
        assert rows and set(rows) == {4}
        # rarer checks (every 10 steps) afford more rows: 3 * 10 * 24 / 80 = 9
        rows.clear()
        ScoreSDE(**{**params, "max_iter": 200}).fit(train)
    assert set(rows) == {9}


def test_auto_sampling_steps_on_graphs(community):
    """sampling_steps="auto" (the default) runs the predictor-corrector on 100 steps when
    the grid is n_steps="auto" (300 on graphs), every other sampler on the grid; an explicit
    n_steps or sampling_steps is honoured; score_samples keeps the n_steps grid."""
    model = ScoreSDE(random_state=0, **FAST[ScoreSDE]).fit(community[:8])
    calls = []
    model.decoder_.register_forward_hook(lambda *args: calls.append(1))

    def evaluations(**params):
        model.set_params(**params)
        calls.clear()
        model.sample(2, random_state=0)
        return len(calls)

    assert evaluations(n_steps="auto") == 2 * 100  # "pc": two evaluations a step
    assert model.resolved_n_steps() == 300 and model.resolved_sampling_steps() == 100
    assert evaluations(sampler="sde") == 300  # the plain chain stays on the grid
    assert evaluations(sampler="pc", n_steps=50) == 2 * 50  # an explicit grid is the sampler's
    assert evaluations(sampling_steps=7) == 2 * 7
    assert evaluations(sampler="dpm-sde") == 7
    model.set_params(sampler="auto", sampling_steps="auto", n_steps=5)
    scores = model.score_samples(community[:3])
    model.set_params(sampling_steps=2)
    np.testing.assert_array_equal(model.score_samples(community[:3]), scores)
    with pytest.raises(ValueError, match="sampling_steps"):
        ScoreSDE(sampling_steps=0).fit(community[:8])
    # a kept encoder's drift-matching decoder samples on its grid, corrector or not
    assert auto_sampling_steps("auto", 300, "pc", score_matching=False) == 300
    assert auto_sampling_steps("auto", 300, "pc") == 100


def test_model_with_node_attribute():
    graphs = _labelled_graphs() * 4
    model = FlowMatching(data=GraphCodec(node_attr="kind"), random_state=0, **FAST[FlowMatching])
    model.fit(graphs)
    for G in model.sample(4, random_state=1):
        assert G.number_of_nodes() <= 7
        assert all(kind in ("x", "y", "z") for _, kind in G.nodes(data="kind"))
    assert np.all(np.isfinite(model.score_samples(graphs[:4])))


def _bonded_pair():
    """A 3-node path a-b-a with bonds 1 and 2, and a 2-node graph b-b with bond 1."""
    G = nx.Graph()
    G.add_nodes_from([(0, {"kind": "a"}), (1, {"kind": "b"}), (2, {"kind": "a"})])
    G.add_edges_from([(0, 1, {"bond": 1}), (1, 2, {"bond": 2})])
    H = nx.Graph()
    H.add_nodes_from([(0, {"kind": "b"}), (1, {"kind": "b"})])
    H.add_edge(0, 1, bond=1)
    return [G, H]


def test_codec_names_its_heads():
    """The decoder's categorical heads read every node position as a one-hot block with
    the node categories' frequencies over all positions (ABSENT included) and the adjacency
    entries as levels with their frequencies over all pairs, each count plus a half:
    by hand for two graphs of 3 and 2 nodes (6 positions, 6 pairs)."""
    codec = GraphCodec(node_attr="kind", edge_attr="bond").fit(_bonded_pair())
    F = 3  # a, b, ABSENT
    assert codec.onehot_blocks_ == [(0, 3), (3, 6), (6, 9)]
    nodes = np.array([2, 3, 1]) + 0.5
    for freq in codec.onehot_frequencies_:
        np.testing.assert_allclose(freq, nodes / nodes.sum())
    start, stop, B, std, freq = codec.level_entries_
    assert (start, stop, B) == (3 * F, 3 * F + 3, 2) and std == pytest.approx(0.125)
    edges = np.array([3, 2, 1]) + 0.5  # no edge, bond 1, bond 2
    np.testing.assert_allclose(freq, edges / edges.sum())
    plain = GraphCodec(node_attr=None, edge_attr=None).fit(_bonded_pair())
    np.testing.assert_allclose(plain.level_entries_[4], np.array([3.5, 3.5]) / 7)
    np.testing.assert_allclose(plain.onehot_frequencies_[0], np.array([5.5, 1.5]) / 7)


@pytest.mark.parametrize("categorical", ["posterior", "free"])
def test_decoder_with_heads_is_permutation_equivariant(categorical):
    """The fitted decoder, heads included (their frequencies are position-free): permuting
    the node positions of the input permutes its output the same way."""
    graphs = _bonded_pair() * 3
    codec = GraphCodec(node_attr="kind", edge_attr="bond")
    model = ScoreSDE(data=codec, categorical=categorical, random_state=0, **FAST[ScoreSDE])
    decoder = model.fit(graphs).decoder_.double()
    assert (decoder.blocks is not None) == (categorical == "posterior")
    N, F = model.codec_.max_nodes_, model.codec_.n_channels_
    x = torch.randn(5, model.codec_.n_latent_, dtype=torch.float64)
    t = torch.linspace(0.05, 0.95, 5, dtype=torch.float64)
    y = decoder(t, x)
    for seed in range(3):
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(seed))
        y_perm = decoder(t, _permute_flat(x, perm, N, F))
        torch.testing.assert_close(y_perm, _permute_flat(y, perm, N, F), atol=1e-8, rtol=0)


def test_heads_sample_the_training_edge_density(community):
    """A short fit (150 iterations), where the heads matter most, on Community-small graphs
    whose edges say whether they bridge the two communities (an edge attribute, so the
    adjacency is predicted through its levels too): the samples' mean node and edge counts
    near the training ones (15.8 and 37.4), and few bridges (1.3). Measured on 40 samples:
    16.3 nodes (sd 1.9), 27.4 edges (sd 7.2) and 0.7 bridges with the heads; with
    categorical="free" every sample was the complete graph on 20 nodes, every edge a bridge.
    The bounds (1.5 nodes, 15 edges) are over 4 standard errors of the mean from the
    measurement."""
    graphs = [G.copy() for G in community]
    for G in graphs:
        k = G.number_of_nodes() // 2
        for u, v in G.edges:
            G.edges[u, v]["bridge"] = (u < k) != (v < k)
    model = ScoreSDE(max_iter=150, n_steps=50, random_state=0).fit(graphs)
    assert model.codec_.edge_attr_ == "bridge"
    samples = model.sample(40, random_state=1)
    edges = np.mean([G.number_of_edges() for G in samples])
    nodes = np.mean([G.number_of_nodes() for G in samples])
    bridges = np.mean([sum(b for *_, b in G.edges(data="bridge")) for G in samples])
    train_e = np.mean([G.number_of_edges() for G in graphs])
    train_n = np.mean([G.number_of_nodes() for G in graphs])
    assert abs(nodes - train_n) < 1.5, (nodes, train_n)
    assert abs(edges - train_e) < 15, (edges, train_e)
    assert bridges < 5, bridges


def _karate_variants(n):
    """Karate-club graphs with a few edges dropped: node attribute "club" (2 values), edge
    attribute "weight" (integers 1-7)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        G = nx.karate_club_graph()
        edges = list(G.edges)
        G.remove_edges_from([edges[i] for i in rng.choice(len(edges), 5, replace=False)])
        out.append(G)
    return out


def test_attributes_are_found_and_kept_by_default():
    """A categorical node attribute and an integer edge attribute that every node and edge
    carries are modelled without being named, silently, and come back in samples."""
    graphs = _karate_variants(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        codec = GraphCodec().fit(graphs)
    assert (codec.node_attr_, codec.edge_attr_) == ("club", "weight")
    assert codec.node_categories_ == ["Mr. Hi", "Officer"]
    back = codec.decode(codec.encode(graphs[:2])[0])
    for G, H in zip(graphs[:2], back, strict=True):
        assert [d for _, d in G.nodes(data="club")] == [d for _, d in H.nodes(data="club")]
        assert sorted(w for *_, w in G.edges(data="weight")) == sorted(
            w for *_, w in H.edges(data="weight")
        )
    model = ScoreSDE(random_state=0, **FAST[ScoreSDE]).fit(graphs)
    G = model.sample(1, random_state=0)[0]
    assert all(club in ("Mr. Hi", "Officer") for _, club in G.nodes(data="club"))
    assert all(w in range(1, 8) for *_, w in G.edges(data="weight"))


def test_attributes_left_out_are_named_in_a_warning(community):
    """Attributes "auto" cannot model are named with the reason and how to keep them: a
    real-valued one, one missing on some nodes, several categorical ones; None is silent."""
    graphs = [G.copy() for G in community[:6]]
    for G in graphs:
        for node in G.nodes:
            G.nodes[node]["kind"] = "ab"[node % 2]
            G.nodes[node]["size"] = 0.5 * node
        for u, v in G.edges:
            G.edges[u, v]["w"] = 1.5
        G.nodes[0]["note"] = "first"
    with pytest.warns(UserWarning) as record:
        codec = GraphCodec().fit(graphs)
    text = " ".join(str(w.message) for w in record)
    assert codec.node_attr_ == "kind" and codec.edge_attr_ is None
    assert "'size' (not a category: real numbers" in text
    assert "'note' (on 6 of" in text and "node_attr='kind' is modelled" in text
    assert "'w' (not a category" in text and "GraphCodec(edge_attr=None)" in text
    for G in graphs:
        for node in G.nodes:
            G.nodes[node]["shape"] = "xy"[node % 2]
    with pytest.warns(UserWarning, match="'kind' \\(one of several categorical"):
        assert GraphCodec(edge_attr=None).fit(graphs).node_attr_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        GraphCodec(node_attr="shape", edge_attr=None).fit(graphs)
        GraphCodec(node_attr=None, edge_attr=None).fit(graphs)


# --------------------------------------------------------------------- bad input
def test_bad_input_errors(community):
    codec = GraphCodec()
    with pytest.raises(ValueError, match="to_undirected"):
        codec.fit([nx.Graph(community[0]), nx.DiGraph(community[1])])
    with pytest.raises(ValueError, match=r"nx\.Graph\(G\)"):
        codec.fit([nx.MultiGraph(community[0])])
    with pytest.raises(TypeError, match=r"X\[1\] is a ndarray"):
        codec.fit([community[0], np.zeros((3, 3)), "x"])
    with pytest.raises(TypeError, match="single graph"):
        codec.fit(community[0])
    with pytest.raises(ValueError, match="every graph in X has no nodes"):
        codec.fit([nx.Graph(), nx.Graph()])
    with pytest.raises(ValueError, match="empty"):
        codec.fit([])
    loop = nx.path_graph(3)
    loop.add_edge(1, 1)
    with pytest.raises(ValueError, match="self-loops"):
        codec.fit([loop])
    # more nodes than the model's positions: probability zero at score time (the other
    # graphs keep their scores), and no warm start trains on them
    small = [nx.path_graph(4), nx.cycle_graph(5)]
    model = VAE(random_state=0, **{**FAST[VAE], "max_iter": 2}).fit(small)
    scores = model.score_samples([nx.path_graph(6), small[1], nx.path_graph(5)])
    assert scores[0] == -np.inf and np.isfinite(scores[1:]).all()
    np.testing.assert_allclose(scores[1], model.score_samples(small[1:])[0])
    model.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"rows \[1\] of X have probability zero.*warm_start"):
        model.fit([small[0], nx.path_graph(7)])
    with pytest.raises(ValueError, match="to_undirected"):
        model.score_samples([nx.DiGraph(nx.path_graph(3))])
    # node attributes: missing in fit, missing and unseen at score time
    graphs = _labelled_graphs()
    bare = nx.path_graph(3)
    nx.set_node_attributes(bare, {0: "x", 1: "y"}, "kind")
    with pytest.raises(ValueError, match="node 2 of graph 4 has no attribute 'kind'"):
        GraphCodec(node_attr="kind").fit(graphs + [bare])
    codec = GraphCodec(node_attr="kind").fit(graphs)
    with pytest.raises(ValueError, match="node 2 of graph 0 has no attribute"):
        codec.encode([bare])
    nx.set_node_attributes(bare, {2: "w"}, "kind")
    with pytest.raises(ValueError, match="not seen in fit: 'w'; the categories"):
        codec.encode([bare])


# ------------------------------------------------------------------------ quality
def _bisection(G):
    """Spectral bisection (Fiedler vector, median split): (within-side density, number of
    edges across)."""
    A = nx.to_numpy_array(G)
    fiedler = np.linalg.eigh(np.diag(A.sum(1)) - A)[1][:, 1]
    side = fiedler > np.median(fiedler)
    k1, k2 = side.sum(), (~side).sum()
    within = A[np.ix_(side, side)].sum() / 2 + A[np.ix_(~side, ~side)].sum() / 2
    return within / (k1 * (k1 - 1) / 2 + k2 * (k2 - 1) / 2), A[np.ix_(side, ~side)].sum()


@pytest.mark.slow
def test_score_sde_samples_have_two_communities():
    """ScoreSDE at the default budget (3000 steps, about 2-3 min) on the 80 Community-small
    training graphs must produce two dense communities joined by few bridges. Training
    graphs: within-community density 0.65, 1.2 bridges. Measured on 60 samples: 0.55 and
    6.3 bridges with the eigenprojector features, 0.49 and 10.7 without them (an
    Erdős–Rényi graph of the same density has about half its ~38 edges across). The per-graph
    bridge count has a spread of about 4, so the mean of 60 has a standard error near 0.5
    and the bound 8.5 is over 4 of them from both measurements."""
    from skbridge.data import train_test_split_graphs

    train, _ = train_test_split_graphs(make_community_small(100, random_state=0))
    model = ScoreSDE(random_state=0).fit(train)
    samples = [G for G in model.sample(60, random_state=1) if G.number_of_nodes() >= 4]
    within, bridges = np.array([_bisection(G) for G in samples]).T
    assert len(samples) >= 55
    assert bridges.mean() < 8.5, bridges.mean()
    assert within.mean() > 0.5, within.mean()
