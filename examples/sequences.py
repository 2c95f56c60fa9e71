"""
Sequences: time series and DNA
==============================

Sequences with skbridge: fit, sample and score time series and DNA strings, and judge the
samples with the TimeGAN and k-mer metrics.

Run: ``python examples/sequences.py``. The budgets are cut far below the defaults so that it
finishes in about 10 minutes on 2 CPU cores (measured on one thread of a shared machine: the
sines part 3 min, the DNA part 7 min); with defaults (``max_iter=3000``, all 10,000
sines) the scores reach real-data level (``benchmarks/README.md``). ``SKBRIDGE_QUICK=1``
runs it on tiny sizes (seconds, as in the docs build and CI).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from skbridge import ScoreSDE
from skbridge.data import make_dna, make_sines
from skbridge.metrics import (
    autocorrelation_error,
    discriminative_score,
    kmer_jsd,
    nearest_hamming,
    predictive_score,
)

# SKBRIDGE_QUICK=1: tiny data and budgets (seconds; the docs build and CI run that)
QUICK = os.environ.get("SKBRIDGE_QUICK") == "1"
n_sines, sines_iter, metric_iter, n_dna, dna_iter = (
    (100, 30, 10, 100, 30) if QUICK else (1000, 600, 100, 600, 1200)
)
n_steps = 10 if QUICK else "auto"  # the chain's steps (sampling and scoring): the default

# --- time series: TimeGAN's sines, (n, length, channels) ------------------------------
X = make_sines(n_sines, length=24, n_channels=5, random_state=0)
n_train = int(0.8 * n_sines)
train, test = X[:n_train], X[n_train:]
model = ScoreSDE(max_iter=sines_iter, n_steps=n_steps, random_state=0, verbose=1).fit(train)
synth = model.sample(len(test), random_state=1)
print("sines: samples", synth.shape, f"in [{synth.min():.2f}, {synth.max():.2f}]")
print("  held-out score (nats per sequence):", round(model.score(test), 1))
print(
    "  discriminative score (0 ideal):",
    round(discriminative_score(test, synth, n_iter=3 * metric_iter), 3),
)
print(
    "  predictive MAE, synthetic vs real training data:",
    round(predictive_score(test, synth, n_iter=5 * metric_iter), 4),
    round(predictive_score(test, train[: len(test)], n_iter=5 * metric_iter), 4),
)
print("  autocorrelation error:", round(autocorrelation_error(test, synth), 4))

# the first channel of a few held-out and sampled series
fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharey=True)
for ax, series, title in ((axes[0], test, "held-out sines"), (axes[1], synth, "ScoreSDE samples")):
    ax.plot(series[:5, :, 0].T)
    ax.set_title(title)
    ax.set_xlabel("time step")
fig.tight_layout()

# --- tokens: variable-length DNA strings with planted motifs --------------------------
dna = make_dna(n_dna, length=(24, 36), random_state=0)
n_train = int(0.8 * n_dna)
train, test = dna[:n_train], dna[n_train:]
model = ScoreSDE(max_iter=dna_iter, n_steps=n_steps, random_state=0, verbose=1).fit(train)
synth = model.sample(len(test), random_state=1)
print("dna: e.g.", synth[0], f"(lengths {min(map(len, synth))}..{max(map(len, synth))})")
print("  held-out score (nats per string):", round(model.score(test), 1))
print("  k-mer JSD to held-out (0 ideal):", round(kmer_jsd(test, synth), 4))
print("  same for the training strings:", round(kmer_jsd(test, train[: len(test)]), 4))
print("  nearest Hamming distance to training:", nearest_hamming(train, synth))
print("  TATAAT share, real vs synthetic:", np.mean(["TATAAT" in s for s in test]),
      np.mean(["TATAAT" in s for s in synth]))  # fmt: skip

plt.show()
