"""Graph benchmark: skbridge's generators on Community-small under the GDSS protocol.

Protocol (Jo, Lee, Hwang, "Score-based Generative Modeling of Graphs via the System of
Stochastic Differential Equations", ICML 2022, which follows GraphRNN and EDP-GNN):

* data: ``make_community_small(100)`` (the GDSS recipe, 12–20 nodes), split 80/20 with a
  fixed seed (``train_test_split_graphs``);
* each generator is fitted on the 80 training graphs with default parameters except
  ``max_iter`` (``--max-iter``, default 10000: graphs need longer training than the
  3000-step default; GDSS trains 5000 epochs) and ``random_state=0``, then samples as many
  graphs as the test set (20);
* metrics (``skbridge.metrics``): MMD² of degree and clustering histograms (Gaussian-EMD
  kernel, GDSS's choice), of mean 4-node orbit counts (Gaussian kernel, σ = 30) and of the
  normalised-Laplacian spectrum (Gaussian-EMD), each generated set against the test set;
  the JSON rows add the spectrum's MMD² under GRAN's Gaussian-TV kernel (``spectral_tv``),
  which, unlike the EMD kernel with its unit bin spacing, does not saturate at a few percent
  of misplaced edges, and the mean diameter of the samples' largest components
  (``diameter_mean``: global shape, ``k + m - 2`` for a k x m grid).

With 20 graphs per side the MMDs are noisy, so each fitted model draws ``--draws`` (default
20; 5 before 2026-12-02, see each row's ``draws``) independent sets of 20 and the table gives
their mean (± standard deviation in the JSON, so the standard error of a mean is that over
the square root of ``draws``); GDSS reports the mean over 3 sampling runs. The draws measure
sampling noise only, not the spread between training seeds. Two reference rows frame the numbers:

* ``train graphs (noise level)``: the four disjoint sets of 20 training graphs against the
  test set, what a perfect generator would score;
* ``Erdős–Rényi (floor)``: per training graph a G(n, p) graph of the same size and edge
  density (``erdos_renyi_like``), the floor a generator must beat.

The diffusion models (SBVAE, ScoreSDE) are sampled twice from the same fit: with the
sampler their default ``sampler="auto"`` resolves to (column ``sampler``: ``"pc"``, a
Langevin corrector step before each reverse step, for a score-matching decoder on graphs;
``"sde"``, the plain reverse chain, for an SBVAE that kept its encoder), and with the other
one (row ``<model> + <sampler> sampler``, whose fit columns repeat the fit's).

``ScoreSDE (beta_max=1)`` and ``SBVAE (beta_max=1)`` use GDSS's own noise schedule (VP,
beta from 0.1 to 1.0), under which the reference leaves the data far from N(0, I) at T.

The published rows (GraphRNN, GDSS; Table 1 of the GDSS paper) are printed for comparison;
they were not run here. Also recorded per model: fit and sampling time, the held-out mean
score (chain ELBO, nats per graph), node counts, the share of connected samples, and
uniqueness and novelty (share of samples not isomorphic to another sample / to a training
graph; exact isomorphism tests).

Usage::

    python benchmarks/graphs.py                        # -> results/graphs.json
    python benchmarks/graphs.py --models ScoreSDE "Erdős–Rényi (floor)"
    python benchmarks/graphs.py --quick                # smoke run (CI-sized)
    python benchmarks/graphs.py --datasets grid        # Grid on a CPU budget (about 1 h)
    python benchmarks/graphs.py --save-samples samples/  # also pickle each fit's samples

``community_small_labelled`` (run only when asked for) is the same graphs with each node's
community as the node category ``block``, as ``networkx.planted_partition_graph`` labels its
nodes: does a model keep node categories consistent with the structure? Its rows add the
share of sampled edges that join two nodes of one block (about 0.96 in real graphs: the
rest are the bridges) and the mean ``|share of block-0 nodes - 0.5|`` per graph (0 in real
graphs). ``python benchmarks/graphs.py --datasets community_small_labelled --models
DiscreteDiffusion --max-iter 3000 --sampling-steps 100`` compares its 25-step default chain
with 100 steps.

Grid (``make_grid_graphs``: GraphRNN's 100 grids, 100 to 361 nodes, the same 80/20 split)
runs only when asked for, on a CPU budget: ScoreSDE with ``batch_size=8``, 1500 steps (a fit
of about 30 min on one thread: 600 steps took 12 min, monitoring included), a one-path
held-out bound (``n_elbo_samples=1``), one sample set of 20 graphs (2.5 min with the plain
sampler, 4.5 min with the corrector), and the floor; DiscreteDiffusion with ``batch_size=8``,
1500 steps and a network of width 64 (``GRID_DISCRETE``: 0.84 s a step on one thread, 3.5 s
at the default width 128) on its default chain. At 361 nodes a graph vector has 65,702
coordinates; SBVAE's encoder phase (backpropagation through 25-step paths) and the MLP
models are left out.
"""

from __future__ import annotations

import pickle
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import add_sampling_steps, argument_parser, finish, fit_and_evaluate, markdown_tables  # noqa: E402

DATASETS = ("community_small", "community_small_labelled", "grid")
# Grid (100 2-D grids, 100-361 nodes: 65,341 node pairs at 19 x 19) is run only when asked
# for (--datasets grid), on a CPU budget: small batches, 1500 steps (about 30 min on one
# thread), one sample set, a one-path held-out bound; ScoreSDE and the floor only (an SBVAE
# encoder phase backpropagates through 25-step paths of 65,702-dimensional vectors)
DEFAULT_DATASETS = ("community_small",)
GRID_PARAMS = {"batch_size": 8, "max_iter": 1500, "n_elbo_samples": 1, "n_steps": 100}
# DiscreteDiffusion on Grid: its own schedule and sampler, and a network of width 64 (width
# 128: 3.5 s a step of 8 grids on one thread, 0.84 s at 64)
GRID_DISCRETE = {"batch_size": 8, "max_iter": 1500, "hidden_layer_sizes": (64, 64, 64, 64)}
GRID_MODELS = ("ScoreSDE", "DiscreteDiffusion", "Erdős–Rényi (floor)")
SKBRIDGE = ("SBVAE", "ScoreSDE", "DiscreteDiffusion", "FlowMatching", "VAE")
# GDSS's own noise schedule on Community-small: VP with beta from 0.1 to 1.0, which leaves
# the adjacency far from N(0, I) at T (signal level 0.76): the regime SB-VAE's learned
# encoder is for
WEAK = {"ScoreSDE (beta_max=1)": "ScoreSDE", "SBVAE (beta_max=1)": "SBVAE"}
# the decoder predicting node and edge noise freely, as before the categorical heads
FREE = {"ScoreSDE (categorical=free)": "ScoreSDE", "SBVAE (categorical=free)": "SBVAE"}
MODELS = (*SKBRIDGE, *WEAK, *FREE, "Erdős–Rényi (floor)")
# each diffusion fit is sampled with both samplers (its default, sampler="auto", is one of them)
SAMPLERS = ("sde", "pc")
MAX_ITER = 10000  # training steps of every skbridge model (the estimators' default is 3000)
STATS = ("degree", "clustering", "orbit", "spectral")
# published MMD² (Gaussian-EMD / Gaussian kernels). Community-small: GDSS paper, Table 1.
# Grid: GraphRNN paper, Table 1 (degree checked against a public results listing; clustering
# and orbit not re-checked here)
PUBLISHED = {
    "community_small": {
        "GraphRNN (published)": {"degree": 0.080, "clustering": 0.120, "orbit": 0.040},
        "GDSS (published)": {"degree": 0.045, "clustering": 0.086, "orbit": 0.007},
    },
    "grid": {"GraphRNN (published)": {"degree": 0.064, "clustering": 0.043, "orbit": 0.021}},
}


def load(name: str, seed: int = 0):
    """``(train, test)`` lists of graphs."""
    from skbridge.data import make_community_small, make_grid_graphs, train_test_split_graphs

    if name in ("community_small", "community_small_labelled"):
        graphs = make_community_small(100, random_state=seed)
        if name == "community_small_labelled":
            graphs = [_label_blocks(g) for g in graphs]
    elif name == "grid":
        graphs = make_grid_graphs()
    else:
        raise ValueError(f"unknown dataset {name!r}")
    return train_test_split_graphs(graphs, test_size=0.2, random_state=seed)


class _ErdosRenyi:
    """Density-matched G(n, p) copies of training graphs drawn with replacement."""

    def fit(self, graphs):
        self.graphs = list(graphs)
        return self

    def sample(self, n, random_state=None):
        from skbridge.data import erdos_renyi_like

        rng = np.random.default_rng(random_state)
        picked = [self.graphs[i] for i in rng.integers(len(self.graphs), size=n)]
        return erdos_renyi_like(picked, random_state=rng)


def make_generator(
    name: str, quick: bool, seed: int, max_iter: int = MAX_ITER, dataset="community_small"
):
    if name in SKBRIDGE or name in WEAK or name in FREE:
        import skbridge

        params = {"random_state": seed, "max_iter": max_iter}
        if dataset == "grid":
            params.update(GRID_DISCRETE if name == "DiscreteDiffusion" else GRID_PARAMS)
        if quick:
            params["max_iter"] = 60
        if name in WEAK:
            name, params["beta_max"] = WEAK[name], 1.0
        if name in FREE:
            name, params["categorical"] = FREE[name], "free"
        return getattr(skbridge, name)(**params)
    if name == "Erdős–Rényi (floor)":
        return _ErdosRenyi()
    raise ValueError(f"unknown model {name!r}")


def _label_blocks(g):
    """``g`` with each node's community as the node category ``block`` (0 for the first
    ``n // 2`` nodes, 1 for the rest), as ``networkx.planted_partition_graph`` labels."""
    g = g.copy()
    k = g.number_of_nodes() // 2
    for v in g.nodes:
        g.nodes[v]["block"] = int(v >= k)
    return g


def block_stats(graphs) -> dict:
    """For graphs with a ``block`` node category: the mean share of each graph's edges that
    join two nodes of the same block, and the mean of ``|share of block-0 nodes - 0.5|``."""
    within, imbalance = [], []
    for g in graphs:
        b = np.array([g.nodes[v]["block"] for v in g.nodes])
        imbalance.append(abs(b.mean() - 0.5) if len(b) else 0.0)
        if g.number_of_edges():
            within.append(np.mean([g.nodes[u]["block"] == g.nodes[v]["block"] for u, v in g.edges]))
    return {"block_within": float(np.mean(within)), "block_imbalance": float(np.mean(imbalance))}


def mmd_draws(test, sets) -> dict:
    """GDSS-protocol MMDs of each generated set against ``test``: mean and std per statistic."""
    from skbridge.metrics import graph_mmd, spectral_mmd

    values = [graph_mmd(test, s, kernel="gaussian_emd") for s in sets]
    for d, s in zip(values, sets, strict=True):
        d["spectral_tv"] = spectral_mmd(test, s, kernel="gaussian_tv")  # GRAN's kernel
    out = {}
    for stat in (*STATS, "spectral_tv"):
        v = np.array([d[stat] for d in values])
        out[stat], out[stat + "_std"] = float(v.mean()), float(v.std(ddof=1) if len(v) > 1 else 0)
    out["draws"] = len(values)
    return out


def _distinct(graphs, others=()):
    """Share of ``graphs`` isomorphic to no other graph in ``graphs`` and none in ``others``."""
    import networkx as nx

    def h(g):
        return nx.weisfeiler_lehman_graph_hash(g, iterations=3)

    pool = {}
    for g in others:
        pool.setdefault(h(g), []).append(g)
    own = {}
    for i, g in enumerate(graphs):
        own.setdefault(h(g), []).append(i)
    count = 0
    for i, g in enumerate(graphs):
        key = h(g)
        same = [graphs[j] for j in own[key] if j != i] + pool.get(key, [])
        count += not any(nx.is_isomorphic(g, o) for o in same)
    return count / max(len(graphs), 1)


def _diameter(g) -> int:
    """The diameter of ``g``'s largest connected component (0 without nodes)."""
    import networkx as nx

    if g.number_of_nodes() == 0:
        return 0
    return nx.diameter(g.subgraph(max(nx.connected_components(g), key=len)))


def describe(sets, train) -> dict:
    """Sizes, connectedness, uniqueness (within each set) and novelty of the samples."""
    import networkx as nx

    flat = [g for s in sets for g in s]
    nodes = [g.number_of_nodes() for g in flat]
    labelled = all("block" in d for g in flat for _, d in g.nodes(data=True))
    return {
        **(block_stats(flat) if labelled else {}),
        "nodes_min": int(min(nodes)),
        "nodes_max": int(max(nodes)),
        "nodes_mean": float(np.mean(nodes)),
        "edges_mean": float(np.mean([g.number_of_edges() for g in flat])),
        "connected": float(np.mean([g.number_of_nodes() > 0 and nx.is_connected(g) for g in flat])),
        # global shape: the diameter of the largest component (a k x m grid: k + m - 2)
        "diameter_mean": float(np.mean([_diameter(g) for g in flat])),
        "unique": float(np.mean([_distinct(s) for s in sets])),
        "novel": float(np.mean([_distinct(s, train) for s in sets])),
    }


def run(
    datasets,
    models,
    quick=False,
    seed=0,
    draws=20,
    max_iter=MAX_ITER,
    steps=(),
    save_samples=None,
):
    rows = []
    for dataset in datasets:
        train, test = load(dataset, seed)
        n = len(test)
        chunks = [train[i : i + n] for i in range(0, len(train) - n + 1, n)]
        ref = {"dataset": dataset, "model": "train graphs (noise level)", "seed": seed}
        ref.update(mmd_draws(test, chunks))
        ref.update(describe(chunks, []))
        ref.pop("novel")
        rows.append(ref)
        print(f"{dataset}: {len(train)} train / {n} test", ref, flush=True)
        for name, published in PUBLISHED.get(dataset, {}).items():
            rows.append({"dataset": dataset, "model": name, "seed": seed, **published})
        n_draws = 1 if dataset == "grid" else draws

        def evaluate(gen, train=train, test=test, n=n, n_draws=n_draws, dataset=dataset):
            t0 = time.perf_counter()
            sets = [gen.sample(n, random_state=seed + 1 + k) for k in range(n_draws)]
            out = {"sample_s": (time.perf_counter() - t0) / n_draws}
            out.update(mmd_draws(test, sets))
            out.update(describe(sets, train))
            if save_samples is not None:  # for analyses after the run
                name = f"{dataset}_{type(gen).__name__}_seed{seed}.pkl"
                save_samples.mkdir(parents=True, exist_ok=True)
                (save_samples / name).write_bytes(pickle.dumps(sets))
            return out

        for model in models:
            if dataset == "grid" and model not in GRID_MODELS:
                continue
            rows += fit_and_evaluate(
                {"dataset": dataset, "model": model, "seed": seed},
                lambda model=model, dataset=dataset: make_generator(
                    model, quick, seed, max_iter, dataset
                ),
                train,
                test,
                evaluate,
                samplers=SAMPLERS,
                steps=steps,
            )
    return rows


COLUMNS = [
    ("sampler", "sampler", "{}"),
    ("degree", "degree", "{:.3f}"),
    ("clustering", "clustering", "{:.3f}"),
    ("orbit", "orbit", "{:.3f}"),
    ("spectral", "spectral", "{:.3f}"),
    ("fit_s", "fit s", "{:.0f}"),
    ("sample_s", "sample 20 s", "{:.2f}"),
    ("held_out_score", "held-out score", "{:.1f}"),
    ("nodes_min", "nodes min", "{}"),
    ("nodes_max", "nodes max", "{}"),
    ("connected", "connected", "{:.2f}"),
    ("unique", "unique", "{:.2f}"),
    ("novel", "novel", "{:.2f}"),
]


# the labelled dataset adds whether the sampled node categories follow the structure
BLOCK_COLUMNS = [
    ("block_within", "edges within a block", "{:.3f}"),
    ("block_imbalance", "block imbalance", "{:.4f}"),
]


def markdown(rows) -> str:
    columns = {d: COLUMNS for d in DATASETS}
    columns["community_small_labelled"] = COLUMNS + BLOCK_COLUMNS
    return markdown_tables(rows, columns)


def main(argv=None):
    parser = argument_parser(__doc__, DATASETS, MODELS)
    parser.set_defaults(datasets=list(DEFAULT_DATASETS))
    parser.add_argument("--draws", type=int, default=20, help="sets of test-size samples")
    parser.add_argument(
        "--max-iter", type=int, default=MAX_ITER, help="training steps of skbridge models"
    )
    parser.add_argument(
        "--save-samples",
        type=Path,
        default=None,
        help="a folder where each fit's sampled sets are pickled (<dataset>_<class>_seed<s>.pkl)",
    )
    add_sampling_steps(parser)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    rows = []
    for seed in args.seeds if args.seeds is not None else [args.seed]:
        rows += run(
            args.datasets,
            args.models,
            quick=args.quick,
            seed=seed,
            draws=2 if args.quick else args.draws,
            max_iter=args.max_iter,
            steps=args.sampling_steps,
            save_samples=args.save_samples,
        )
    finish(args, rows, "benchmarks/graphs.py", t0, order=DATASETS, markdown=markdown)


if __name__ == "__main__":
    main()
