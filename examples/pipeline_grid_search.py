"""A generator as the last step of a Pipeline, tuned by GridSearchCV on held-out ELBO.

Run: python examples/pipeline_grid_search.py
"""

from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbridge import SBVAE

X = load_wine().data  # 178 rows, 13 numeric features
pipe = Pipeline([("scale", StandardScaler()), ("gen", SBVAE(max_iter=500, random_state=0))])
search = GridSearchCV(pipe, {"gen__n_steps": [25, 50], "gen__beta_max": [5.0, 20.0]}, cv=3)
search.fit(X)
print("best parameters:", search.best_params_)
print("best mean held-out ELBO per row (nats):", round(search.best_score_, 2))

# sample in the scaled space, map back through the scaler
gen = search.best_estimator_.named_steps["gen"]
scaler = search.best_estimator_.named_steps["scale"]
print(scaler.inverse_transform(gen.sample(3, random_state=0)).round(2))
