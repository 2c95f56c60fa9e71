"""``python -m skbridge``: the command line (see :mod:`skbridge.cli`); ``demo`` is defined here."""

from __future__ import annotations

import time
import warnings

import numpy as np


def demo(max_iter: int = 2000, seed: int = 0) -> None:
    from sklearn.mixture import GaussianMixture

    from skbridge import SBVAE, EncoderNotKeptWarning, ScoreSDE
    from skbridge.data import make_two_moons
    from skbridge.metrics import energy_distance

    X = make_two_moons(3000, noise=0.05, random_state=seed)
    X_train, X_test = X[:2000], X[2000:]
    print(f"two moons: {len(X_train)} training rows, {len(X_test)} held out, 2 features")
    print(f"noise level, energy distance train vs test: {energy_distance(X_train, X_test):.4f}")
    gmm = GaussianMixture(10, random_state=seed).fit(X_train)
    print(f"GaussianMixture(10): held-out mean log-likelihood {gmm.score(X_test):+.3f} nats")
    for model in (
        ScoreSDE(max_iter=max_iter, random_state=seed),
        SBVAE(max_iter=max_iter, random_state=seed),
    ):
        name = type(model).__name__
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # the demo says below what happened to the encoder
            warnings.simplefilter("ignore", EncoderNotKeptWarning)
            model.fit(X_train)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        S = model.sample(len(X_train), random_state=seed)
        sample_s = time.perf_counter() - t0
        print(
            f"\n{name}: fit {fit_s:.1f} s ({model.n_iter_} iterations), sampled "
            f"{len(S)} rows in {sample_s:.2f} s"
        )
        print(f"  energy distance sample vs test: {energy_distance(S, X_test):.4f}")
        print(f"  held-out mean ELBO (score):      {model.score(X_test):+.3f} nats")
        if name == "SBVAE":
            print(
                f"  encoder trained {model.encoder_stopped_iter_} steps, improved on the "
                f"reference: {model.encoder_improved_}"
            )
            if not model.encoder_improved_:
                print("  (the reference already carries the data to the prior here: SBVAE kept it")
                print("   and finished as a ScoreSDE with the same number of DSM steps)")
        print("  first samples:\n" + np.array2string(S[:3], precision=3))


def main(argv=None) -> int:
    """``python -m skbridge ...``: the same command line as the ``skbridge`` script."""
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
