"""
Synthetic tables
================

Fit the generators on a mixed DataFrame, sample, score, compare.

The table is the penguins-like data made below (numeric, integer, categorical, string and
bool columns). Every generator takes the DataFrame as it is and gives a DataFrame with the
same columns and dtypes back; ``skbridge.metrics`` says how close the samples are to
held-out rows; ``cross_val_score`` compares held-out log-likelihoods on the same folds.

Run: ``python examples/tabular.py``   (about 5 minutes on 2 CPU cores; ``SKBRIDGE_QUICK=1``
for a quick run on tiny sizes, as in the docs build and CI)
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, cross_val_score, train_test_split

from skbridge import SBVAE, VAE, DiscreteDiffusion, FlowMatching, ScoreSDE, metrics

# SKBRIDGE_QUICK=1: tiny data and budgets (seconds; the docs build and CI run that)
QUICK = os.environ.get("SKBRIDGE_QUICK") == "1"
max_iter, cv_max_iter = (40, 20) if QUICK else (1500, 800)
# steps of the chain (diffusion) and of the ODE (FlowMatching) for scoring: the defaults
chain_steps, flow_steps = (20, 10) if QUICK else ("auto", 100)

rng = np.random.default_rng(0)
n = 200 if QUICK else 1500
species = rng.choice(["Adelie", "Gentoo", "Chinstrap"], n, p=[0.45, 0.35, 0.2])
size = {"Adelie": 3.7, "Gentoo": 5.1, "Chinstrap": 3.7}
body_mass = np.array([size[s] for s in species]) + rng.normal(0, 0.35, n)
table = pd.DataFrame(
    {
        "species": pd.Categorical(species),
        "island": np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], n)),
        "body_mass_kg": body_mass,
        "flipper_mm": (170 + 8 * body_mass + rng.normal(0, 4, n)).round(0).astype("int64"),
        "female": rng.random(n) < 0.5,
    }
)
train, test = train_test_split(table, test_size=0.3, random_state=0)

models = {
    "SBVAE": SBVAE(max_iter=max_iter, n_steps=chain_steps, random_state=0),
    "ScoreSDE": ScoreSDE(max_iter=max_iter, n_steps=chain_steps, random_state=0),
    "VAE": VAE(max_iter=max_iter, random_state=0),
    "FlowMatching": FlowMatching(max_iter=max_iter, n_steps=flow_steps, random_state=0),
    # categories stay categories; numbers diffuse beside them
    "DiscreteDiffusion": DiscreteDiffusion(
        max_iter=max_iter, n_steps=20 if QUICK else 500, random_state=0
    ),
}
samples = {}
for name, model in models.items():
    model.fit(train)
    synthetic = samples[name] = model.sample(len(test), random_state=0)
    print(
        f"{name:13s} held-out score {model.score(test):7.3f} nats/row | "
        f"C2ST AUC {metrics.c2st(test, synthetic):.3f} (0.5 ideal) | "
        f"column shapes {metrics.column_shapes(test, synthetic)['mean']:.3f} (1 ideal) | "
        f"DCR share {metrics.dcr(train, test, synthetic)['share']:.3f} "
        f"(ideal {len(train) / len(table):.2f}) | "
        # every Gentoo lives on Biscoe in the data: how often does a sample agree?
        f"Gentoo on Biscoe {np.mean(synthetic.island[synthetic.species == 'Gentoo'] == 'Biscoe'):.2f}"
    )

print("\nA sample keeps the columns and dtypes:")
print(models["SBVAE"].sample(5, random_state=1))
print(models["SBVAE"].sample(5, random_state=1).dtypes.to_dict())

print("\nHeld-out log-likelihood on the same 3 folds (nats/row, higher is better):")
folds = KFold(3, shuffle=True, random_state=0)
for name in ("ScoreSDE", "FlowMatching"):
    model = models[name].set_params(max_iter=cv_max_iter)
    scores = cross_val_score(model, table, cv=folds)
    print(f"{name:13s} {scores.mean():.3f} ± {scores.std():.3f}")

# model selection on sample quality instead of likelihood: a scorer from skbridge.metrics
scorer = metrics.make_sample_scorer("c2st")
print(
    "\nScoreSDE, -C2ST AUC per fold:",
    cross_val_score(models["ScoreSDE"], table, cv=folds, scoring=scorer).round(3),
)

# two numeric columns of the held-out rows and of each generator's samples
fig, axes = plt.subplots(1, len(samples), figsize=(15, 3), sharex=True, sharey=True)
for ax, (name, synthetic) in zip(axes, samples.items(), strict=True):
    ax.scatter(test["body_mass_kg"], test["flipper_mm"], s=3, alpha=0.4, label="held-out")
    ax.scatter(synthetic["body_mass_kg"], synthetic["flipper_mm"], s=3, alpha=0.4, label=name)
    ax.set_title(name)
    ax.set_xlabel("body_mass_kg")
axes[0].set_ylabel("flipper_mm")
axes[0].legend(markerscale=4)
fig.tight_layout()
plt.show()
