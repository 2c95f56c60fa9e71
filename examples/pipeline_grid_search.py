"""
Pipeline and grid search
========================

A generator as the last step of a Pipeline, tuned by GridSearchCV on held-out ELBO.

Run: ``python examples/pipeline_grid_search.py`` (``SKBRIDGE_QUICK=1`` for a quick run on
tiny budgets, as in the docs build and CI)
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbridge import SBVAE

# SKBRIDGE_QUICK=1: tiny budgets (seconds; the docs build and CI run that)
QUICK = os.environ.get("SKBRIDGE_QUICK") == "1"
max_iter, n_folds = (20, 2) if QUICK else (500, 3)

X = load_wine().data  # 178 rows, 13 numeric features
pipe = Pipeline([("scale", StandardScaler()), ("gen", SBVAE(max_iter=max_iter, random_state=0))])
search = GridSearchCV(pipe, {"gen__n_steps": [25, 50], "gen__beta_max": [5.0, 20.0]}, cv=n_folds)
search.fit(X)
print("best parameters:", search.best_params_)
print("best mean held-out ELBO per row (nats):", round(search.best_score_, 2))

# sample in the scaled space, map back through the scaler
gen = search.best_estimator_.named_steps["gen"]
scaler = search.best_estimator_.named_steps["scale"]
print(scaler.inverse_transform(gen.sample(3, random_state=0)).round(2))

# the mean held-out ELBO of each grid point, ± its standard deviation over the folds
results = search.cv_results_
labels = [
    f"n_steps={p['gen__n_steps']}\nbeta_max={p['gen__beta_max']:g}" for p in results["params"]
]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(np.arange(len(labels)), results["mean_test_score"], yerr=results["std_test_score"])
ax.set_xticks(np.arange(len(labels)), labels, fontsize=8)
ax.set_ylabel("held-out ELBO per row (nats)")
ax.set_title("GridSearchCV over the generator's parameters")
fig.tight_layout()
plt.show()
