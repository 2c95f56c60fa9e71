"""
Missing values
==============

Impute a table column by column, keeping every column's dtype, then fit a generator.

skbridge models complete rows, so ``fit`` refuses missing values and names the columns.
Gaps change dtypes before any imputer runs: ``pd.read_csv`` reads an integer column with
gaps as floats and a bool column with gaps as objects, and one ``SimpleImputer`` over the
whole table turns every column into ``object``. The generator would then model counts as a
continuous density, or numbers as categories. Below, a ``ColumnTransformer`` imputes floats
by the median and every other column by its most frequent value, and ``astype`` restores
the integer and bool columns; the generator then models integers as integers and
categories as categories, and its samples have the table's dtypes.

Run: ``python examples/missing_values.py`` (``SKBRIDGE_QUICK=1`` for a quick run on tiny
budgets, as in the docs build and CI)
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer

from skbridge import ScoreSDE

QUICK = os.environ.get("SKBRIDGE_QUICK") == "1"
n, max_iter = (200, 40) if QUICK else (1500, 1500)

rng = np.random.default_rng(0)
table = pd.DataFrame(
    {
        "body_mass_kg": rng.normal(4.2, 0.6, n),
        "eggs": rng.poisson(2.0, n),
        "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n),
        "female": rng.random(n) < 0.5,
    }
)
# knock out 10% of each column's values
# with gaps, integers are floats and bools are objects (what pd.read_csv gives)
holes = table.astype({"eggs": "float64", "female": object})
for column in holes:
    holes.loc[rng.random(n) < 0.1, column] = None
print("missing values per column:", holes.isna().sum().to_dict())

try:
    ScoreSDE(max_iter=max_iter, random_state=0).fit(holes)
except ValueError as err:
    print("fit refuses them:", str(err)[:100], "...")

# one imputer for the whole table loses the dtypes
naive = SimpleImputer(strategy="most_frequent").set_output(transform="pandas")
print("one SimpleImputer:", naive.fit_transform(holes).dtypes.astype(str).to_dict())

# per dtype: floats by the median, everything else (integers, categories, bools) by its mode;
# then the dtypes the gaps changed back: integers (floats with gaps) and bools
imputer = make_column_transformer(
    (SimpleImputer(strategy="median"), make_column_selector(dtype_include="floating")),
    (SimpleImputer(strategy="most_frequent"), make_column_selector(dtype_exclude="floating")),
    verbose_feature_names_out=False,
).set_output(transform="pandas")
complete = imputer.fit_transform(holes)[list(holes.columns)]
complete = complete.astype({"eggs": "int64", "female": "bool"})
print("per dtype + astype:", complete.dtypes.astype(str).to_dict())

model = ScoreSDE(max_iter=max_iter, random_state=0).fit(complete)
print("column kinds the model sees:", model.codec_.kinds_)
synthetic = model.sample(n, random_state=0)
print("sample dtypes:", synthetic.dtypes.astype(str).to_dict())
print(synthetic.head())

# egg counts: the original table, the imputed one, the synthetic one
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.arange(-0.5, table["eggs"].max() + 1.5)
for frame, label in ((table, "complete data"), (complete, "imputed"), (synthetic, "synthetic")):
    ax.hist(frame["eggs"].astype(float), bins=bins, histtype="step", density=True, label=label)
ax.set_xlabel("eggs (an integer column with 10% missing)")
ax.set_ylabel("frequency")
ax.legend()
fig.tight_layout()
plt.show()
