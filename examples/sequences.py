"""Sequences with skbridge: fit, sample and score time series and DNA strings, and judge the
samples with the TimeGAN and k-mer metrics.

Run: ``python examples/sequences.py`` (a few minutes on 2 CPU cores; the budgets are cut
down from the defaults so that it finishes quickly).
"""

import numpy as np

from skbridge import SBVAE, ScoreSDE
from skbridge.data import make_dna, make_sines
from skbridge.metrics import (
    autocorrelation_error,
    discriminative_score,
    kmer_jsd,
    nearest_hamming,
    predictive_score,
)

# --- time series: TimeGAN's sines, (n, length, channels) ------------------------------
X = make_sines(3000, length=24, n_channels=5, random_state=0)
train, test = X[:2400], X[2400:]
model = ScoreSDE(max_iter=1500, random_state=0).fit(train)
synth = model.sample(len(test), random_state=1)
print("sines: samples", synth.shape, "in [%.2f, %.2f]" % (synth.min(), synth.max()))
print("  held-out score (nats per sequence):", round(model.score(test), 1))
print("  discriminative score (0 ideal):", round(discriminative_score(test, synth, n_iter=500), 3))
print(
    "  predictive MAE, synthetic vs real training data:",
    round(predictive_score(test, synth, n_iter=1000), 4),
    round(predictive_score(test, train[: len(test)], n_iter=1000), 4),
)
print("  autocorrelation error:", round(autocorrelation_error(test, synth), 4))

# --- tokens: variable-length DNA strings with planted motifs --------------------------
dna = make_dna(1500, length=(24, 36), random_state=0)
train, test = dna[:1200], dna[1200:]
model = SBVAE(max_iter=1000, random_state=0).fit(train)
synth = model.sample(len(test), random_state=1)
print("dna: e.g.", synth[0], f"(lengths {min(map(len, synth))}..{max(map(len, synth))})")
print("  held-out score (nats per string):", round(model.score(test), 1))
print("  k-mer JSD to held-out (0 ideal):", round(kmer_jsd(test, synth), 4))
print("  same for the training strings:", round(kmer_jsd(test, train[: len(test)]), 4))
print("  nearest Hamming distance to training:", nearest_hamming(train, synth))
print("  TATAAT share, real vs synthetic:", np.mean(["TATAAT" in s for s in test]),
      np.mean(["TATAAT" in s for s in synth]))  # fmt: skip
