"""DiscreteDiffusion: exact categories in samples, the posterior of marginal transitions,
the bound against the model's exact log-probability on small closed-form cases (graphs,
sequences, a table's numbers), the network's equivariance on one-hot graphs with repeated
eigenvalues, mixed tables, and bad input."""

import itertools

import numpy as np
import pytest
import torch

import skbridge
from skbridge import DiscreteDiffusion
from skbridge.data import GraphCodec, TabularCodec, make_community_small
from skbridge.models import _discrete
from skbridge.models._discrete import _bound, _kl, cosine_alpha_bar, marginal_posterior
from skbridge.nets._graph import GraphDriftNet

nx = pytest.importorskip("networkx")

FAST = dict(max_iter=30, n_steps=20, n_score_steps=5, hidden_layer_sizes=(16, 16))


def _molecule_like(n_graphs=40, seed=0):
    """Paths and rings of 3-6 nodes with a node category ``atom`` and an edge category
    ``bond`` (rings: alternating bond orders 1 and 2)."""
    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(n_graphs):
        k = int(rng.integers(3, 7))
        G = nx.cycle_graph(k) if rng.random() < 0.5 else nx.path_graph(k)
        for v in G.nodes:
            G.nodes[v]["atom"] = str(rng.choice(["C", "N", "O"], p=[0.7, 0.2, 0.1]))
        for i, (u, v) in enumerate(G.edges):
            G.edges[u, v]["bond"] = 1 + i % 2
        graphs.append(G)
    return graphs


def test_fit_sample_score_with_categories():
    graphs = _molecule_like()
    model = DiscreteDiffusion(random_state=0, **FAST).fit(graphs)
    assert isinstance(model.codec_, GraphCodec) and model.codec_.edge_attr_ == "bond"
    samples = model.sample(20, random_state=0)
    assert len(samples) == 20
    counts = {G.number_of_nodes() for G in graphs}
    for G in samples:
        assert type(G) is nx.Graph and nx.number_of_selfloops(G) == 0
        # node counts come from the training counts; every attribute is a training category
        assert G.number_of_nodes() in counts
        assert {d["atom"] for _, d in G.nodes(data=True)} <= {"C", "N", "O"}
        assert {d["bond"] for _, _, d in G.edges(data=True)} <= {1, 2}
    # reproducible for a seed, different across seeds
    again = model.sample(20, random_state=0)
    assert all(nx.utils.graphs_equal(a, b) for a, b in zip(samples, again, strict=True))
    other = model.sample(20, random_state=1)
    assert not all(nx.utils.graphs_equal(a, b) for a, b in zip(samples, other, strict=True))
    scores = model.score_samples(graphs[:4])
    assert scores.shape == (4,) and np.all(np.isfinite(scores)) and np.all(scores < 0)
    # deterministic, and a row's score does not depend on the other rows
    np.testing.assert_allclose(model.score_samples(graphs[2:3]), scores[2:3], rtol=1e-6)
    assert model.score(graphs[:4]) == pytest.approx(scores.mean())
    assert np.isfinite(model.history_[-1]["val_neg_log_lik"])
    # node counts: the training range only (3..6 nodes), one pseudo-count spread over it
    p = model.network_.count_log_probs.exp().numpy()
    assert p.sum() == pytest.approx(1.0)
    assert np.all(p[:3] == 0) and np.all(p[3:7] > 0)
    small = nx.path_graph(2)
    nx.set_node_attributes(small, "C", "atom")
    nx.set_edge_attributes(small, 1, "bond")
    assert model.score_samples([small])[0] == -np.inf


def test_marginal_posterior_is_bayes_rule():
    """With a one-hot x_0 the posterior equals q(x_t | x_s) q(x_s | x_0) / q(x_t | x_0),
    written with the transition matrices; with probabilities p0, the mixture
    sum_c p0(c) q(x_s | x_t, x_0 = c) (DiGress's reverse step)."""
    torch.manual_seed(0)
    K = 4
    m = torch.tensor([0.5, 0.2, 0.2, 0.1], dtype=torch.float64)
    ab_s, ab_t = 0.7, 0.3

    def Q(a):  # q(x_later = j | x_earlier = i) = Q[i, j]
        return a * torch.eye(K, dtype=torch.float64) + (1 - a) * m[None, :]

    Q_ts, Q_s = Q(ab_t / ab_s), Q(ab_s)
    p0 = torch.softmax(torch.randn(K, dtype=torch.float64), 0)
    for x0, xt in itertools.product(range(K), range(K)):
        want = Q_ts[:, xt] * Q_s[x0, :]
        want = want / want.sum()
        got = marginal_posterior(
            torch.eye(K, dtype=torch.float64)[x0], torch.tensor(xt), m, ab_t, ab_s
        )
        torch.testing.assert_close(got, want)
    for xt in range(K):
        mixture = sum(
            p0[c]
            * marginal_posterior(
                torch.eye(K, dtype=torch.float64)[c], torch.tensor(xt), m, ab_t, ab_s
            )
            for c in range(K)
        )
        got = marginal_posterior(p0, torch.tensor(xt), m, ab_t, ab_s)
        torch.testing.assert_close(got, mixture)


def _states(k, K, C, n_pairs):
    """Every (node categories, edge states) of a graph of ``k`` present nodes, as index
    tensors: nodes (S, N) and pairs (S, n_pairs) (absent positions and pairs 0)."""
    present_pairs = [p for p, (i, j) in enumerate(itertools.combinations(range(3), 2)) if j < k]
    out_x, out_e = [], []
    for xs in itertools.product(range(K), repeat=k):
        for es in itertools.product(range(C), repeat=len(present_pairs)):
            x = list(xs) + [0] * (3 - k)
            e = [0] * n_pairs
            for p, v in zip(present_pairs, es, strict=True):
                e[p] = v
            out_x.append(x)
            out_e.append(e)
    return torch.tensor(out_x), torch.tensor(out_e)


def test_bound_against_exact_log_probability():
    """On graphs of at most 3 nodes (2 node categories, edges without categories) the
    model's probability of a graph is a sum over the reverse chain's paths: the product of
    its T transition matrices over all 64 states. The bound, computed exactly by
    enumerating the noisy graph at every step, must not exceed it; ``score_samples``'s
    stratified Monte Carlo estimate must average to the exact bound."""
    rng = np.random.default_rng(0)
    graphs = []
    for _ in range(60):
        k = int(rng.integers(2, 4))
        G = nx.path_graph(k) if rng.random() < 0.6 else nx.empty_graph(k)
        nx.set_node_attributes(G, {v: str(rng.choice(["a", "b"])) for v in G.nodes}, "c")
        graphs.append(G)
    T = 6
    model = DiscreteDiffusion(
        data=GraphCodec(node_attr="c", edge_attr=None),
        n_steps=T,
        n_score_steps=T,
        max_iter=150,
        hidden_layer_sizes=(16, 16),
        random_state=0,
    ).fit(graphs)
    module = model.network_.double()
    mX, mE, ab = module.node_marginals, module.edge_marginals, module.alpha_bar
    K, C = mX.shape[0], mE.shape[0]
    G = nx.path_graph(3)
    nx.set_node_attributes(G, {0: "a", 1: "b", 2: "a"}, "c")
    P = torch.as_tensor(model.codec_.encode([G])[0])
    (xc0, ec0), (present, pairs), _ = module.parts(P)
    xs, es = _states(3, K, C, pairs.shape[1])
    n_states = xs.shape[0]
    pres = present.expand(n_states, -1)
    prs = pairs.expand(n_states, -1)
    # the exact probability: prior over the 64 states, then T transition matrices
    prob = mX[xs].prod(1) * mE[es].prod(1)
    with torch.no_grad():
        for t in range(T, 0, -1):
            lx, le = module.logits(torch.full((n_states,), t), [xs, es], [pres, prs])
            px = marginal_posterior(lx.softmax(-1), xs, mX, ab[t], ab[t - 1])
            pe = marginal_posterior(le.softmax(-1), es, mE, ab[t], ab[t - 1])
            # M[s, s'] = prod_i px[s, i, x'_i] * prod_p pe[s, p, e'_p]
            M = torch.ones(n_states, n_states, dtype=torch.float64)
            for i in range(3):
                M = M * px[:, i, :][:, xs[:, i]]
            for p in range(3):
                M = M * pe[:, p, :][:, es[:, p]]
            prob = prob @ M
    assert prob.sum() == pytest.approx(1.0, abs=1e-9)
    target = int(((xs == xc0).all(1) & (es == ec0).all(1)).nonzero())
    log_p = float(module.count_log_probs[3] + torch.log(prob[target]))

    # the bound with the expectation over x_t done exactly (every noisy graph, weighted)
    ox = torch.nn.functional.one_hot(xc0[0], K).double()
    oe = torch.nn.functional.one_hot(ec0[0], C).double()
    elbo = float(module.count_log_probs[3])
    elbo -= float(_kl(ab[T] * ox + (1 - ab[T]) * mX, mX.expand_as(ox)).sum())
    elbo -= float(_kl(ab[T] * oe + (1 - ab[T]) * mE, mE.expand_as(oe)).sum())
    with torch.no_grad():
        for t in range(1, T + 1):
            q = ((ab[t] * ox + (1 - ab[t]) * mX)[torch.arange(3), xs]).prod(1)
            q = q * ((ab[t] * oe + (1 - ab[t]) * mE)[torch.arange(3), es]).prod(1)
            lx, le = module.logits(torch.full((n_states,), t), [xs, es], [pres, prs])
            kl = _kl(
                marginal_posterior(ox.expand(n_states, 3, K), xs, mX, ab[t], ab[t - 1]),
                marginal_posterior(lx.softmax(-1), xs, mX, ab[t], ab[t - 1]),
            ).sum(1)
            kl = kl + _kl(
                marginal_posterior(oe.expand(n_states, 3, C), es, mE, ab[t], ab[t - 1]),
                marginal_posterior(le.softmax(-1), es, mE, ab[t], ab[t - 1]),
            ).sum(1)
            elbo -= float((q * kl).sum())
    assert elbo <= log_p + 1e-9
    assert log_p - elbo < 5.0  # a bound, not a vacuous one

    # the estimator: its mean over many draws is the exact bound, with one step in each
    # of T strata (every step) and in each of 3 strata of 2 steps
    n = 4000
    gen = torch.Generator().manual_seed(0)
    for S in (T, 3):
        draws = [
            torch.rand((n, *s), generator=gen, dtype=torch.float64) for s in ((S,), (S, 3), (S, 3))
        ]
        with torch.no_grad():
            est = _bound(module, P.expand(n, -1), draws).numpy()
        se = est.std() / np.sqrt(n)
        assert abs(est.mean() - elbo) < 4 * se + 1e-9, (S, est.mean(), elbo, se)
    # score_samples runs the same estimator on the fitted (float32) network
    model.network_ = module.float()
    model.set_params(n_score_steps=3)
    assert np.isfinite(model.score_samples([G])[0])


@pytest.mark.parametrize("scale", [None, 2.5])
def test_network_equivariant_on_one_hot_graphs_with_repeated_eigenvalues(scale):
    """One-hot graphs have exactly repeated eigenvalues (two disjoint triangles: the top
    eigenvalue 2 twice); the eigenspace features do not depend on the basis LAPACK picks,
    so the network stays permutation-equivariant (with a sparse graph's adjacency scale
    too)."""
    torch.manual_seed(0)
    N, F, C = 8, 3, 3
    net = GraphDriftNet(N, F, 16, edge_channels=C, spectral=3, adjacency_scale=scale).double()
    iu, ju = torch.triu_indices(N, N, 1)
    index = torch.full((N, N), -1)
    index[iu, ju] = index[ju, iu] = torch.arange(len(iu))
    graphs = [nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3)), nx.cycle_graph(8)]
    graphs.append(nx.complete_bipartite_graph(3, 3))
    xs, es = [], []
    for G in graphs:
        x = torch.zeros(N, dtype=torch.long)
        x[: G.number_of_nodes()] = torch.randint(0, F - 1, (G.number_of_nodes(),))
        x[G.number_of_nodes() :] = F - 1
        e = torch.zeros(len(iu), dtype=torch.long)
        for u, v in G.edges:
            e[index[u, v]] = 1 + (u + v) % 2
        xs.append(x)
        es.append(e)
    xs, es = torch.stack(xs), torch.stack(es)

    def flat(x, e):
        X = torch.nn.functional.one_hot(x, F).double()
        E = torch.nn.functional.one_hot(e, C).double()
        return torch.cat([X.reshape(len(x), -1), E.reshape(len(x), -1)], 1)

    t = torch.rand(len(xs), dtype=torch.float64)
    y = net(t, flat(xs, es))
    assert torch.isfinite(y).all()
    for seed in range(4):
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(seed))
        moved = index[perm[iu], perm[ju]]  # pair (i, j) of the permuted graph
        y_perm = net(t, flat(xs[:, perm], es[:, moved]))
        yX, yE = y[:, : N * F].reshape(-1, N, F), y[:, N * F :].reshape(-1, len(iu), C)
        want = torch.cat([yX[:, perm].reshape(len(xs), -1), yE[:, moved].reshape(len(xs), -1)], 1)
        torch.testing.assert_close(y_perm, want, atol=1e-8, rtol=0)


def test_sparse_graphs_scale_adjacency_sums_by_their_largest_degree(tmp_path):
    """Where the training graphs' largest degree is under a quarter of the node positions,
    the network divides its adjacency sums by four times that degree, not by N; denser
    graphs keep N. The scale is saved with the model, and a network pickled before it
    existed divides by N."""
    graphs = []
    for k in range(30, 41):
        G = nx.cycle_graph(k)
        G.add_edges_from((k - 1, v) for v in range(5, 25, 5))  # the last node: degree 6
        graphs.append(G)
    sparse = DiscreteDiffusion(random_state=0, **FAST).fit(graphs)
    net = sparse.network_.net
    assert net.n_nodes == 40 and net.adjacency_scale == 4 * 6
    dense = DiscreteDiffusion(random_state=0, **FAST).fit(make_community_small(random_state=0)[:20])
    # largest degree 8 of 20 positions
    assert dense.network_.net.adjacency_scale is None
    # the scale is what the network divides by, and it is kept by save and load
    path = tmp_path / "sparse.skb"
    skbridge.save(sparse, path)
    loaded = skbridge.load(path)
    assert loaded.network_.net.adjacency_scale == 24
    x = torch.rand(2, net.dim)
    t = torch.rand(2)
    with torch.no_grad():
        y = net(t, x)
        torch.testing.assert_close(loaded.network_.net(t, x), y)
        del net.__dict__["adjacency_scale"]  # as unpickled from an older version
        assert net._scale() == 40
        y_n = net(t, x)
        net.adjacency_scale = 40.0
        torch.testing.assert_close(net(t, x), y_n)
    assert not torch.allclose(y_n, y)


def test_monitoring_costs_at_most_a_quarter_of_training(monkeypatch):
    """A check scores no more rows than a quarter of the training between checks pays for
    (a row's S strata cost about S training rows), but at least 4 and at most 128. Grid's
    benchmark fit monitored all 80 training graphs: 41 s a check, 900 s of a 2200 s fit."""
    rows = []
    validator = DiscreteDiffusion._validator

    def counted(self, codec, P_val, seed):
        rows.append(P_val.shape[0])
        return validator(self, codec, P_val, seed)

    monkeypatch.setattr(DiscreteDiffusion, "_validator", counted)
    graphs = make_community_small(60, random_state=0)
    # a check every 4 steps of 8 graphs, 5 strata: 4 * 8 / 20 -> 1 -> at least 4
    DiscreteDiffusion(**{**FAST, "max_iter": 80, "batch_size": 8}, random_state=0).fit(graphs)
    # a check every 20 steps of 16 graphs: 20 * 16 / 20 = 16 of the 60
    DiscreteDiffusion(**{**FAST, "max_iter": 400, "batch_size": 16}, random_state=0).fit(graphs)
    assert rows == [4, 16]


def test_auto_sampling_steps_follow_the_categories():
    """sampling_steps="auto": 25 chain steps for graphs with plain edges (node categories or
    not), 100 where edges carry categories (or tokens), always at most n_steps."""
    plain = [nx.cycle_graph(k) for k in range(4, 9)] * 4
    params = dict(FAST, n_steps=200)
    calls = []

    def evaluations(model):
        calls.clear()
        hook = model.network_.net.register_forward_hook(lambda *a: calls.append(1))
        try:
            model.sample(2, random_state=0)
        finally:
            hook.remove()
        return len(calls)

    model = DiscreteDiffusion(random_state=0, **params)
    assert model.resolved_sampling_steps() == 100  # before fit: the general default
    model.fit(plain)
    assert model.resolved_sampling_steps() == 25 and evaluations(model) == 25
    # node categories alone (a node attribute, plain edges) keep the short chain
    labelled = [g.copy() for g in plain]
    for g in labelled:
        nx.set_node_attributes(g, {v: v % 2 for v in g}, "block")
    nodes = DiscreteDiffusion(random_state=0, **params).fit(labelled)
    assert nodes.network_.node_marginals.shape[-1] > 1  # the labels are modelled
    assert nodes.resolved_sampling_steps() == 25 and evaluations(nodes) == 25
    molecules = DiscreteDiffusion(random_state=0, **params).fit(_molecule_like(20))
    assert molecules.resolved_sampling_steps() == 100 and evaluations(molecules) == 100
    tokens = DiscreteDiffusion(random_state=0, **params).fit(["ACGT", "AC", "GGT"] * 5)
    assert tokens.resolved_sampling_steps() == 100
    # capped by the schedule's steps
    assert DiscreteDiffusion(random_state=0, **FAST).fit(plain).resolved_sampling_steps() == 20


def test_sampling_steps_and_evaluations(monkeypatch):
    graphs = _molecule_like(20)
    model = DiscreteDiffusion(random_state=0, **FAST).fit(graphs)
    calls = []
    hook = model.network_.net.register_forward_hook(lambda *a: calls.append(1))
    try:
        model.sample(3, random_state=0)
        assert len(calls) == 20 and model.resolved_sampling_steps() == 20
        calls.clear()
        model.set_params(sampling_steps=7)
        model.sample(3, random_state=0)
        assert len(calls) == 7
    finally:
        hook.remove()
    # the scores do not depend on the sampler's steps
    model.set_params(sampling_steps="auto")
    a = model.score_samples(graphs[:3])
    model.set_params(sampling_steps=5)
    np.testing.assert_array_equal(model.score_samples(graphs[:3]), a)
    # large batches are cut into chunks of rows: the same scores, every row sampled
    whole = model.score_samples(graphs[:7])
    monkeypatch.setattr(_discrete, "_CHUNK_VARIABLES", 3 * sum(model.network_.sizes()))
    np.testing.assert_allclose(model.score_samples(graphs[:7]), whole, rtol=1e-6)
    assert len(model.sample(7, random_state=0)) == 7


def test_bad_input_and_save_load(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="'data' parameter"):
        DiscreteDiffusion(data="tables", **FAST).fit(X)
    series = np.random.default_rng(0).normal(size=(20, 8, 2))
    with pytest.raises(ValueError, match="not real-valued series"):
        DiscreteDiffusion(**FAST).fit(series)
    with pytest.raises(ValueError, match="n_steps"):
        DiscreteDiffusion(n_steps=0).fit(make_community_small(4, random_state=0))
    graphs = make_community_small(12, random_state=0)
    model = DiscreteDiffusion(random_state=0, **FAST).fit(graphs)
    path = tmp_path / "m.skb"
    skbridge.save(model, path)
    loaded = skbridge.load(path)
    np.testing.assert_array_equal(loaded.score_samples(graphs[:3]), model.score_samples(graphs[:3]))
    a, b = model.sample(4, random_state=3), loaded.sample(4, random_state=3)
    assert all(nx.utils.graphs_equal(u, v) for u, v in zip(a, b, strict=True))


def test_cosine_schedule():
    ab = cosine_alpha_bar(100)
    assert ab[0] == 1.0 and ab[-1] == pytest.approx(1e-6) and np.all(np.diff(ab) < 0)


def test_token_sequences():
    """Variable-length strings: samples are strings over the training alphabet, no longer
    than the longest training string; scores are finite bounds, deterministic per row."""
    from skbridge.data import make_dna

    X = make_dna(60, length=(20, 26), random_state=0)
    model = DiscreteDiffusion(random_state=0, **FAST).fit(X)
    assert model.codec_.modality == "sequence"
    samples = model.sample(10, random_state=0)
    assert len(samples) == 10
    assert all(isinstance(x, str) and set(x) <= set("ACGT") and len(x) <= 26 for x in samples)
    scores = model.score_samples(X[:4])
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    np.testing.assert_allclose(model.score_samples(X[1:2]), scores[1:2], rtol=1e-6)


def test_sequence_bound_against_exact_log_probability():
    """Fixed-length sequences of 3 tokens over 2 letters: 8 states, so the model's exact
    probability of a sequence is the product of the reverse chain's transition matrices;
    the exact bound (expectation over x_t by enumeration) stays below it, and the stratified
    estimator averages to it."""
    rng = np.random.default_rng(0)
    X = ["".join(rng.choice(["a", "b"], p=[0.7, 0.3], size=3)) for _ in range(60)]
    T = 6
    model = DiscreteDiffusion(
        n_steps=T, n_score_steps=T, max_iter=150, hidden_layer_sizes=(16,), random_state=0
    ).fit(X)
    module = model.network_.double()
    (m,), ab = module.marginals(), module.alpha_bar
    states = torch.tensor(list(itertools.product(range(2), repeat=3)))
    mask = [torch.ones_like(states, dtype=torch.bool)]
    prob = m[torch.arange(3), states].prod(1)
    with torch.no_grad():
        for t in range(T, 0, -1):
            (lg,) = module.logits(torch.full((8,), t), [states], mask)
            post = marginal_posterior(lg.softmax(-1), states, m, ab[t], ab[t - 1])
            M = torch.ones(8, 8, dtype=torch.float64)
            for i in range(3):
                M = M * post[:, i, :][:, states[:, i]]
            prob = prob @ M
    assert prob.sum() == pytest.approx(1.0, abs=1e-9)
    P = torch.as_tensor(model.codec_.encode(["aba"])[0])
    (x0,), _, _ = module.parts(P)
    x0 = x0[0]
    target = int((states == x0).all(1).nonzero())
    log_p = float(torch.log(prob[target]))
    o = torch.nn.functional.one_hot(x0, 2).double()
    elbo = -float(_kl(ab[T] * o + (1 - ab[T]) * m, m).sum())
    with torch.no_grad():
        for t in range(1, T + 1):
            q = ((ab[t] * o + (1 - ab[t]) * m)[torch.arange(3), states]).prod(1)
            (lg,) = module.logits(torch.full((8,), t), [states], mask)
            kl = _kl(
                marginal_posterior(o.expand(8, 3, 2), states, m, ab[t], ab[t - 1]),
                marginal_posterior(lg.softmax(-1), states, m, ab[t], ab[t - 1]),
            ).sum(1)
            elbo -= float((q * kl).sum())
    assert elbo <= log_p + 1e-9 and log_p - elbo < 3.0
    n = 4000
    gen = torch.Generator().manual_seed(1)
    for S in (T, 2):
        u = [torch.rand((n, *s), generator=gen, dtype=torch.float64) for s in ((S,), (S, 3))]
        with torch.no_grad():
            est = _bound(module, P.expand(n, -1), u).numpy()
        assert abs(est.mean() - elbo) < 4 * est.std() / np.sqrt(n) + 1e-9, (S, est.mean(), elbo)


def _mixed_table(n=400, seed=0):
    """Categories with a deterministic pair (a wife is female, a husband male), an integer
    and a float column that depends on a category."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    rel = np.where(
        sex == "F", rng.choice(["Wife", "Other"], n), rng.choice(["Husband", "Other"], n)
    )
    return pd.DataFrame(
        {
            "sex": sex,
            "rel": rel,
            "age": rng.integers(18, 80, n),
            "income": np.round(rng.normal(3.0 + (sex == "M"), 1.0, n), 3),
        }
    )


def test_mixed_table_fit_sample_score():
    """Tables: categories stay exact levels of their column (the deterministic pair kept),
    numbers keep their dtype, range and dependence on a category, scores are finite and
    change with the units of the float column as a density's do."""
    df = _mixed_table()
    model = DiscreteDiffusion(max_iter=600, random_state=0).fit(df)
    s = model.sample(400, random_state=1)
    assert list(s.columns) == list(df.columns) and (s.dtypes == df.dtypes).all()
    assert set(s["sex"]) <= {"F", "M"} and set(s["rel"]) <= {"Wife", "Husband", "Other"}
    wrong = ((s.rel == "Wife") & (s.sex == "M")) | ((s.rel == "Husband") & (s.sex == "F"))
    assert wrong.mean() < 0.05  # independent columns would give about 0.25
    assert s["age"].between(df["age"].min(), df["age"].max()).all()
    gap = s.groupby("sex")["income"].mean()
    assert gap["M"] - gap["F"] == pytest.approx(1.0, abs=0.35)  # SE of the gap ~0.1
    scores = model.score_samples(df.iloc[:20])
    assert np.isfinite(scores).all()
    # a density in the user's units: income in thousandths scores log(1000) less per row
    scaled = df.assign(income=df["income"] * 1000)
    other = DiscreteDiffusion(max_iter=600, random_state=0).fit(scaled)
    shift = other.score_samples(scaled.iloc[:20]) - scores
    assert np.allclose(shift, -np.log(1000), atol=1e-3)
    # tables of categories only, and of numbers only
    assert len(DiscreteDiffusion(**FAST).fit(df[["sex", "rel"]]).sample(5)) == 5
    numbers = DiscreteDiffusion(**FAST).fit(df[["age", "income"]])
    assert np.isfinite(numbers.score_samples(df[["age", "income"]].iloc[:5])).all()


class _GaussianDenoiser(torch.nn.Module):
    """The exact noise prediction for standard normal data: E[eps | y_t] = sqrt(1 - ab_t) y_t."""

    def __init__(self, alpha_bar):
        super().__init__()
        self.alpha_bar = alpha_bar
        self.net = torch.nn.Sequential(torch.nn.Linear(1, 1).double())

    def forward(self, t, x):
        T = self.alpha_bar.shape[0] - 1
        ab = self.alpha_bar[torch.round(t * T).long()]
        return (1 - ab).sqrt()[:, None].to(x.dtype) * x


def test_table_bound_against_exact_log_density():
    """One float column with the exact denoiser of standard normal data: the reverse chain
    is linear-Gaussian, so the model's density of ``y_0`` is N(0, v_0) with v_0 propagated
    through the chain, and the bound's expectation is a sum of Gaussian expectations in
    closed form. The closed-form bound stays below the exact log-density (and within a nat
    of it: fixed posterior variances cost that much on the first steps), and the stratified
    estimator averages to it, with every step its own stratum and with 4 strata."""
    T = 12
    df = _mixed_table()[["income"]]
    # a density (not on the grid of its 0.001 step): y_0 is the coded value itself
    codec = TabularCodec(round_floats=False)
    model = DiscreteDiffusion(n_steps=T, max_iter=1, random_state=0, data=codec).fit(df)
    module = model.network_.double()
    ab = module.alpha_bar.numpy()
    module.net = _GaussianDenoiser(module.alpha_bar)
    P = torch.as_tensor(model.codec_.encode(df.iloc[:1])[0])
    y0 = float(P[0, 0])
    v = 1.0  # Var y_T under the prior, then down the chain: y_{t-1} = A y_t + N(0, var)
    bound = -0.5 * (ab[T] * y0**2 + (1 - ab[T]) - 1 - np.log(1 - ab[T]))
    for t in range(T, 0, -1):
        # y0 - y0_hat = (1 - ab_t) y0 - sqrt(ab_t (1 - ab_t)) z: its mean square
        sq = (1 - ab[t]) ** 2 * y0**2 + ab[t] * (1 - ab[t])
        if t == 1:
            v = ab[1] * v + (1 - ab[1])
            bound -= 0.5 * np.log(2 * np.pi * (1 - ab[1])) + sq / (2 * (1 - ab[1]))
            break
        a = ab[t] / ab[t - 1]
        coef0 = np.sqrt(ab[t - 1]) * (1 - a) / (1 - ab[t])
        var = (1 - ab[t - 1]) * (1 - a) / (1 - ab[t])
        A = coef0 * np.sqrt(ab[t]) + np.sqrt(a) * (1 - ab[t - 1]) / (1 - ab[t])
        v = A**2 * v + var
        bound -= coef0**2 * sq / (2 * var)
    exact = -0.5 * (np.log(2 * np.pi * v) + y0**2 / v)
    assert bound <= exact and exact - bound < 1.0, (bound, exact)
    n = 4000
    gen = torch.Generator().manual_seed(0)
    for S in (T, 4):
        draws = [
            (torch.randn if kind == "normal" else torch.rand)(
                (n, *shape), generator=gen, dtype=torch.float64
            )
            for kind, shape in _discrete._draw_shapes(module, S)
        ]
        with torch.no_grad():
            est = _bound(module, P.expand(n, -1), draws).numpy()
        se = est.std() / np.sqrt(n)
        assert abs(est.mean() - bound) < 4 * se, (S, est.mean(), bound, se)


def test_a_gradient_spike_is_clipped(monkeypatch):
    """Training steps on gradients of total norm at most 1 (a single step of norm 16,000
    undid a 6000-step fit on Community-small), however large the loss's gradient."""
    norms = []
    step = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        grads = [
            p.grad for group in self.param_groups for p in group["params"] if p.grad is not None
        ]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        return step(self, *args, **kwargs)

    loss = DiscreteDiffusion._loss
    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    monkeypatch.setattr(DiscreteDiffusion, "_loss", lambda *a: 1e4 * loss(*a))
    DiscreteDiffusion(random_state=0, **dict(FAST, max_iter=5)).fit(_molecule_like(20))
    assert len(norms) == 5 and max(norms) <= 1.0 + 1e-4
