"""Fit SBVAE and ScoreSDE on two moons, sample, score, and compare with a Gaussian mixture.

Run: python examples/quickstart.py
"""

from sklearn.mixture import GaussianMixture
from sklearn.model_selection import KFold, cross_val_score

from skbridge import SBVAE, ScoreSDE
from skbridge.data import make_two_moons
from skbridge.metrics import energy_distance

X = make_two_moons(3000, noise=0.05, random_state=0)
X_train, X_test = X[:2000], X[2000:]

model = SBVAE(max_iter=2000, random_state=0, verbose=1).fit(X_train)
samples = model.sample(2000, random_state=0)
print("energy distance, samples vs test:", round(energy_distance(samples, X_test), 4))
print("energy distance, train vs test (noise level):", round(energy_distance(X_train, X_test), 4))
print("held-out mean ELBO (nats):", round(model.score(X_test), 3))
print("encoder improved on the reference:", model.encoder_improved_)

# the history is a list of dicts: pandas.DataFrame(model.history_) makes it a table
for entry in model.history_[::5]:
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in entry.items()})

# compare generators by held-out log-likelihood (ELBO for the diffusion models) on the same folds
cv = KFold(3, shuffle=True, random_state=0)
for est in (ScoreSDE(max_iter=1000, random_state=0), GaussianMixture(10, random_state=0)):
    scores = cross_val_score(est, X_train, cv=cv)
    print(type(est).__name__, "CV mean score:", scores.round(3))
