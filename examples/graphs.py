"""Graphs with skbridge: fit a generator on a list of networkx graphs, sample new graphs,
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
0.114 / 0.013 and 0.046 / 0.130 / 0.027.
"""

import networkx as nx
import numpy as np

from skbridge import ScoreSDE
from skbridge.data import erdos_renyi_like, make_community_small, train_test_split_graphs
from skbridge.metrics import graph_mmd

# 100 two-community graphs of 12..20 nodes (the GDSS recipe), split 80/20 with a fixed seed
graphs = make_community_small(100, random_state=0)
train, test = train_test_split_graphs(graphs, test_size=0.2, random_state=0)

model = ScoreSDE(max_iter=10000, random_state=0, verbose=1).fit(train)  # data="auto": graphs
new = model.sample(len(test), random_state=1)  # a list of nx.Graph
print("sampled:", [g.number_of_nodes() for g in new][:10], "nodes;",
      np.mean([g.number_of_edges() for g in new]), "edges on average")  # fmt: skip
print("held-out score (nats per graph):", round(model.score(test), 1))
print("average clustering, test vs sampled:",
      round(np.mean([nx.average_clustering(g) for g in test]), 3),
      round(np.mean([nx.average_clustering(g) for g in new]), 3))  # fmt: skip


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
show("ScoreSDE samples", [new] + [model.sample(n, random_state=seed) for seed in range(2, 6)])
# on graphs the default sampler="auto" runs the predictor-corrector ("pc": a Langevin
# corrector step before each reverse step, twice the network evaluations); the plain
# reverse chain from the same fit, for comparison (the sampler needs no refit):
model.set_params(sampler="sde")
show("ScoreSDE, sampler='sde'", [model.sample(n, random_state=seed) for seed in range(1, 6)])
# what a perfect generator reaches: the four disjoint sets of 20 training graphs
show("training graphs (noise)", [train[i : i + n] for i in range(0, len(train), n)])
show("Erdős–Rényi (floor)", [erdos_renyi_like(train[:n], random_state=seed) for seed in range(5)])
