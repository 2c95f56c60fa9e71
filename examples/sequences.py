"""Sequences with skbridge: fit, sample and score time series and DNA strings, and judge the
samples with the TimeGAN and k-mer metrics.

Run: ``python examples/sequences.py``. The budgets are cut far below the defaults so that it
finishes in about 10 minutes on 2 CPU cores (measured on one thread of a shared machine: the
sines part 3 min, the DNA part 7 min); with defaults (``max_iter=3000``, all 10,000
sines) the scores reach real-data level (``benchmarks/README.md``).
"""

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

# --- time series: TimeGAN's sines, (n, length, channels) ------------------------------
X = make_sines(1000, length=24, n_channels=5, random_state=0)
train, test = X[:800], X[800:]
model = ScoreSDE(max_iter=600, random_state=0, verbose=1).fit(train)
synth = model.sample(len(test), random_state=1)
print("sines: samples", synth.shape, f"in [{synth.min():.2f}, {synth.max():.2f}]")
print("  held-out score (nats per sequence):", round(model.score(test), 1))
print("  discriminative score (0 ideal):", round(discriminative_score(test, synth, n_iter=300), 3))
print(
    "  predictive MAE, synthetic vs real training data:",
    round(predictive_score(test, synth, n_iter=500), 4),
    round(predictive_score(test, train[: len(test)], n_iter=500), 4),
)
print("  autocorrelation error:", round(autocorrelation_error(test, synth), 4))

# --- tokens: variable-length DNA strings with planted motifs --------------------------
dna = make_dna(600, length=(24, 36), random_state=0)
train, test = dna[:480], dna[480:]
model = ScoreSDE(max_iter=1200, random_state=0, verbose=1).fit(train)
synth = model.sample(len(test), random_state=1)
print("dna: e.g.", synth[0], f"(lengths {min(map(len, synth))}..{max(map(len, synth))})")
print("  held-out score (nats per string):", round(model.score(test), 1))
print("  k-mer JSD to held-out (0 ideal):", round(kmer_jsd(test, synth), 4))
print("  same for the training strings:", round(kmer_jsd(test, train[: len(test)]), 4))
print("  nearest Hamming distance to training:", nearest_hamming(train, synth))
print("  TATAAT share, real vs synthetic:", np.mean(["TATAAT" in s for s in test]),
      np.mean(["TATAAT" in s for s in synth]))  # fmt: skip
