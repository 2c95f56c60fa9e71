"""
Quickstart: two moons
=====================

Fit SBVAE and ScoreSDE on two moons, sample, score, and compare with a Gaussian mixture.

Run: ``python examples/quickstart.py`` (``SKBRIDGE_QUICK=1`` for a quick run on tiny sizes,
as in the docs build and CI).
"""

import os

import matplotlib.pyplot as plt
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import KFold, cross_val_score

from skbridge import SBVAE, ScoreSDE
from skbridge.data import make_two_moons
from skbridge.metrics import energy_distance

# SKBRIDGE_QUICK=1: tiny data and budgets (seconds; the docs build and CI run that)
QUICK = os.environ.get("SKBRIDGE_QUICK") == "1"
n_train, n_test, max_iter, cv_iter = (400, 200, 600, 100) if QUICK else (2000, 1000, 2000, 1000)

X = make_two_moons(n_train + n_test, noise=0.05, random_state=0)
X_train, X_test = X[:n_train], X[n_train:]

model = SBVAE(max_iter=max_iter, random_state=0, verbose=1).fit(X_train)
samples = model.sample(n_train, random_state=0)
print("energy distance, samples vs test:", round(energy_distance(samples, X_test), 4))
print("energy distance, train vs test (noise level):", round(energy_distance(X_train, X_test), 4))
print("held-out mean ELBO (nats):", round(model.score(X_test), 3))
print("encoder improved on the reference:", model.encoder_improved_)

# the history is a list of dicts: pandas.DataFrame(model.history_) makes it a table
for entry in model.history_[::5]:
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in entry.items()})

# compare generators by held-out log-likelihood (ELBO for the diffusion models) on the same folds
cv = KFold(3, shuffle=True, random_state=0)
for est in (ScoreSDE(max_iter=cv_iter, random_state=0), GaussianMixture(10, random_state=0)):
    scores = cross_val_score(est, X_train, cv=cv)
    print(type(est).__name__, "CV mean score:", scores.round(3))

# samples against held-out data
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(*X_test.T, s=3, alpha=0.5, label="held-out data")
ax.scatter(*samples[: len(X_test)].T, s=3, alpha=0.5, label="SBVAE samples")
ax.set_title("Two moons: data and samples")
ax.legend(markerscale=4)
plt.show()
