"""
Graphs: Community-small
=======================

Graphs with skbridge: fit a generator on a list of networkx graphs, sample new graphs,
score held-out ones, and judge the samples with the GraphRNN/GDSS MMD metrics.

Run: ``python examples/graphs.py`` (8.3 min of CPU on a 2-core machine, 2026-12-02, nearly
all of it the fit; 11.5 min wall next to other work). Graphs need a longer fit than the
3000-step default: this uses 10000 steps, the budget of ``benchmarks/graphs.py``, where
ScoreSDE's MMD² are below GraphRNN's published ones on all three GDSS statistics (see "How
good are the samples?" in docs/user_guide.md). The statistics of one set of 20 graphs are
noisy, so each line is the mean over five sets, ± its standard error. That run printed
degree / clustering / orbit MMD² 0.050 ± 0.015 / 0.124 ± 0.018 / 0.008 ± 0.002 for the
default sampler (on graphs the predictor-corrector, on a 300-step grid) and 0.069 / 0.147 /
0.036 for the plain reverse chain of the same fit (training graphs 0.029 / 0.040 / 0.006,
Erdős–Rényi 0.094 / 0.803 / 0.364); the benchmark's 20 sets of the same fit gave 0.048 /
0.114 / 0.013 and 0.046 / 0.130 / 0.027. Those numbers predate the node-category head
(2026-12-06, ``categorical="posterior"``, the default: each node position's presence
predicted through its probability); over three seeds the benchmark measured it at
clustering / orbit MMD² 0.128 ± 0.017 / 0.028 ± 0.009 with the default sampler (see
benchmarks/README.md for the decoder without it). Since then the default sampler runs the
predictor-corrector on 100 steps (``sampling_steps="auto"``; scores stay on the 300-step
grid): 3x faster, the same MMD² within noise (``benchmarks/graph_samplers.py``).
``SKBRIDGE_QUICK=1`` runs it on tiny
sizes (seconds, as in the docs build and CI).
"""

import os

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from skbridge import ScoreSDE
from skbridge.data import erdos_renyi_like, make_community_small, train_test_split_graphs
from skbridge.metrics import graph_mmd

# SKBRIDGE_QUICK=1: tiny data and budgets (seconds; the docs build and CI run that)
QUICK = os.environ.get("SKBRIDGE_QUICK") == "1"
n_graphs, max_iter, n_sets = (30, 50, 2) if QUICK else (100, 10000, 5)
n_steps = 20 if QUICK else "auto"  # the scoring grid's steps (and, if set, the sampler's)

# 100 two-community graphs of 12..20 nodes (the GDSS recipe), split 80/20 with a fixed seed
graphs = make_community_small(n_graphs, random_state=0)
train, test = train_test_split_graphs(graphs, test_size=0.2, random_state=0)

# data="auto": graphs
model = ScoreSDE(max_iter=max_iter, n_steps=n_steps, random_state=0, verbose=1).fit(train)
new = model.sample(len(test), random_state=1)  # a list of nx.Graph
print("sampled:", [g.number_of_nodes() for g in new][:10], "nodes;",
      np.mean([g.number_of_edges() for g in new]), "edges on average")  # fmt: skip
print("held-out score (nats per graph):", round(model.score(test), 1))
# (over graphs with nodes: a short fit, as SKBRIDGE_QUICK=1 runs, can sample empty ones)
print("average clustering, test vs sampled:",
      round(np.mean([nx.average_clustering(g) for g in test]), 3),
      round(np.mean([nx.average_clustering(g) for g in new if len(g)] or [np.nan]), 3))  # fmt: skip


def show(name, sets):
    """Mean MMD² (lower is better) over sets of len(test) graphs, ± its standard error: the
    statistics of one set of 20 graphs are noisy."""
    mmds = [graph_mmd(test, graphs_, kernel="gaussian_emd") for graphs_ in sets]
    cells = []
    for key in mmds[0]:
        values = [m[key] for m in mmds]
        cells.append(
            f"{key} {np.mean(values):.3f}±{np.std(values, ddof=1) / np.sqrt(len(values)):.3f}"
        )
    print(f"{name:>28}: " + "  ".join(cells))


n = len(test)
show(
    "ScoreSDE samples",
    [new] + [model.sample(n, random_state=seed) for seed in range(2, n_sets + 1)],
)
# on graphs the default sampler="auto" runs the predictor-corrector ("pc": a Langevin
# corrector step before each reverse step, twice the network evaluations); the plain
# reverse chain from the same fit, for comparison (the sampler needs no refit):
model.set_params(sampler="sde")
show(
    "ScoreSDE, sampler='sde'", [model.sample(n, random_state=seed) for seed in range(1, n_sets + 1)]
)
# what a perfect generator reaches: the four disjoint sets of 20 training graphs
show("training graphs (noise)", [train[i : i + n] for i in range(0, len(train), n)])
show(
    "Erdős–Rényi (floor)",
    [erdos_renyi_like(train[:n], random_state=seed) for seed in range(n_sets)],
)

# four held-out graphs (top) and four samples (bottom)
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for row, (label, shown) in zip(axes, (("held-out", test), ("sampled", new)), strict=True):
    for ax, g in zip(row, shown[:4], strict=False):
        nx.draw(g, pos=nx.spring_layout(g, seed=0), ax=ax, node_size=20, width=0.5)
        ax.set_title(f"{label}: {g.number_of_nodes()} nodes", fontsize=9)
fig.tight_layout()
plt.show()
