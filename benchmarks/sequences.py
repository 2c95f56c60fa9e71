"""Sequence benchmark: skbridge's generators on time series and token sequences.

Datasets (offline, ``skbridge.data``), split 80/20 with a fixed seed:

* ``sines``: TimeGAN's sines, 10,000 × 24 steps × 5 channels (values in [0, 1], so MAEs
  compare with the published ones);
* ``stock``: TimeGAN's Google stock series (``--stock-csv``, default the shared data folder;
  3,685 days × 6 columns, Apache-2.0), each column min-max scaled to [0, 1], all 3,662
  windows of 24 days (stride 1). TimeGAN's protocol, which Diffusion-TS's published scores
  follow: the generators fit all windows and the metrics compare as many synthetic windows
  with all of them; overlapping windows leave nothing to hold out by a random split, so there
  is no held-out score, and the ``train rows`` reference is TimeGAN's "original data" row
  (the predictive score of a GRU trained and tested on the real windows);
* ``dna``: 2,000 variable-length (24–36) ACGT strings from a Markov chain with planted
  motifs (``make_dna``).

Generators, default parameters, ``random_state`` the seed: ``SBVAE``, ``ScoreSDE``,
``FlowMatching``, ``VAE``; SDV's ``PARSynthesizer`` on sines (benchmark-only extra,
``benchmarks/requirements-peers.txt``; 10 epochs on 2,000 training sequences, see ``_PAR``); floors: ``resampled + noise`` (training sequences
drawn with replacement plus N(0, 0.05²) noise; on dna: resampled strings) and, on dna,
``unigram`` (i.i.d. letters with the training frequencies, lengths from the training set).

Metrics (``skbridge.metrics``), against the test split with a test-sized synthetic set:

* series: TimeGAN's discriminative score (|0.5 − accuracy| of a post-hoc GRU, 0 ideal;
  ``--metric-repeats R`` averages R classifiers, as TimeGAN's protocol averages 10: one
  classifier's score varies a lot from run to run),
  predictive score (GRU trained on synthetic predicts the next step of real; MAE, compare
  with the ``train rows`` reference), autocorrelation error;
* tokens: k-mer spectrum Jensen–Shannon divergence (k = 1..4, base 2) to the test set,
  nearest-neighbour normalised Hamming distance to the training set (memorisation: the
  ``train rows`` reference is the test set's own distance), mean length.

Usage::

    python benchmarks/sequences.py                       # everything -> results/sequences.json
    python benchmarks/sequences.py --datasets dna --models SBVAE unigram
    python benchmarks/sequences.py --datasets stock --seeds 0 1 2   # one row per seed
    python benchmarks/sequences.py --datasets stock --models ScoreSDE --max-iter 12000
    python benchmarks/sequences.py --quick               # smoke run (CI-sized)
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import add_sampling_steps, argument_parser, finish, fit_and_evaluate, markdown_tables  # noqa: E402
from steps import DEFAULT_STOCK_CSV, stock_windows  # noqa: E402

DATASETS = ("sines", "stock", "dna")
SERIES = ("sines", "stock")
SKBRIDGE = ("SBVAE", "ScoreSDE", "DiscreteDiffusion", "FlowMatching", "VAE")
MODELS = (*SKBRIDGE, "PAR", "resampled + noise", "unigram")


def load(name: str, quick: bool, seed: int = 0, stock_csv: Path = DEFAULT_STOCK_CSV):
    """``(train, test)`` of a dataset; for ``stock`` both are all the windows (TimeGAN's
    protocol), None when the file is missing."""
    from skbridge.data import make_dna, make_sines

    if name == "stock":
        X = stock_windows(stock_csv)
        if X is not None and quick:
            X = X[np.random.default_rng(seed).choice(len(X), 300, replace=False)]
        return None if X is None else (X, X)
    if name == "sines":
        X = make_sines(1000 if quick else 10_000, random_state=seed)
    elif name == "dna":
        X = make_dna(300 if quick else 2000, length=(24, 36), random_state=seed)
    else:
        raise ValueError(f"unknown dataset {name!r}")
    perm = np.random.default_rng(seed).permutation(len(X))
    n_test = len(X) // 5
    pick = (lambda idx: X[idx]) if isinstance(X, np.ndarray) else (lambda idx: [X[i] for i in idx])
    return pick(perm[n_test:]), pick(perm[:n_test])


class _Resample:
    """Training sequences drawn with replacement (plus Gaussian noise for series)."""

    def __init__(self, noise: float, seed: int):
        self.noise, self.seed = noise, seed

    def fit(self, X):
        self.X = X
        return self

    def sample(self, n, random_state=None):
        rng = np.random.default_rng(random_state)
        idx = rng.integers(0, len(self.X), n)
        if isinstance(self.X, np.ndarray):
            return self.X[idx] + self.noise * rng.standard_normal((n, *self.X.shape[1:]))
        return [self.X[i] for i in idx]


class _Unigram:
    """I.i.d. tokens with the training frequencies; lengths drawn from the training set."""

    def fit(self, X):
        letters = np.array(list("".join(X)))
        self.alphabet, counts = np.unique(letters, return_counts=True)
        self.p = counts / counts.sum()
        self.lengths = np.array([len(s) for s in X])
        return self

    def sample(self, n, random_state=None):
        rng = np.random.default_rng(random_state)
        lengths = rng.choice(self.lengths, n)
        return ["".join(rng.choice(self.alphabet, size=k, p=self.p)) for k in lengths]


class _PAR:
    """SDV's PARSynthesizer on the long format (one row per sequence and step).

    Budget-limited, not default: 10 epochs (default 128) on 2,000 of the training sequences.
    A quick run (5 epochs, 800 sequences) took 64 s here, so the defaults on all 8,000
    would take hours on 2 cores.
    """

    EPOCHS, MAX_SEQUENCES = 10, 2000

    def __init__(self, quick: bool, seed: int):
        self.quick, self.seed = quick, seed

    def fit(self, X):
        import pandas as pd
        from sdv.metadata import Metadata
        from sdv.sequential import PARSynthesizer

        if not self.quick and len(X) > self.MAX_SEQUENCES:
            keep = np.random.default_rng(self.seed).choice(len(X), self.MAX_SEQUENCES, False)
            X = X[np.sort(keep)]
        n, L, C = X.shape
        self.shape = (L, C)
        frame = pd.DataFrame(X.reshape(n * L, C), columns=[f"c{j}" for j in range(C)])
        frame.insert(0, "step", np.tile(np.arange(L), n))
        frame.insert(0, "sid", np.repeat(np.arange(n), L).astype(str))
        meta = Metadata.detect_from_dataframes({"t": frame}, infer_keys=None)
        meta.update_column("sid", sdtype="id", table_name="t")
        meta.set_sequence_key("sid", table_name="t")
        meta.set_sequence_index("step", table_name="t")
        kw = {"epochs": 5 if self.quick else self.EPOCHS}
        self.model = PARSynthesizer(meta, enforce_min_max_values=True, **kw)
        self.model.fit({"t": frame})  # SDV 2 takes {table name: frame}
        return self

    def sample(self, n, random_state=None):
        L, C = self.shape
        out = self.model.sample_sequences(num_sequences=n, sequence_length=L)
        if isinstance(out, dict):
            out = out["t"]
        cols = [f"c{j}" for j in range(C)]
        seqs = [g[cols].to_numpy(dtype=float) for _, g in out.groupby("sid", sort=False)]
        return np.stack(seqs)


def make_generator(name: str, dataset: str, quick: bool, seed: int, max_iter=None):
    if name in SKBRIDGE:
        import skbridge

        params = {"random_state": seed}
        if max_iter is not None:
            params["max_iter"] = max_iter
        if quick:
            params["max_iter"] = 100
        return getattr(skbridge, name)(**params)
    if name == "resampled + noise":
        return _Resample(0.05, seed)
    if name == "unigram":
        return _Unigram()
    if name == "PAR":
        return _PAR(quick, seed)
    raise ValueError(f"unknown model {name!r}")


def applies(model: str, dataset: str) -> bool:
    if model == "PAR":  # 434 s for 10 epochs on 2,000 sines; not run on the stock windows
        return dataset == "sines"
    if model in ("unigram", "DiscreteDiffusion"):  # DiscreteDiffusion: tokens, not series
        return dataset == "dna"
    return True


def evaluate(
    dataset: str, train, test, synth, quick: bool, seed: int = 0, repeats: int = 1, real=False
) -> dict:
    """Metrics of ``synth`` against ``test``. On series, the discriminative score is the
    mean of ``repeats`` classifiers (seeds ``seed + 1000 r``; TimeGAN's protocol averages
    10), with their spread; ``real``: the real windows themselves, predictive score only."""
    from skbridge import metrics

    if dataset in SERIES:
        it = dict(n_iter=200) if quick else {}
        pit = dict(n_iter=300) if quick else {}
        out = {"predictive": metrics.predictive_score(test, synth, random_state=seed, **pit)}
        if real:
            return out
        runs = [
            metrics.discriminative_score(test, synth, random_state=seed + 1000 * r, **it)
            for r in range(repeats)
        ]
        out["discriminative"] = float(np.mean(runs))
        if repeats > 1:
            out["discriminative_runs"] = runs
            out["discriminative_sd"] = float(np.std(runs, ddof=1))
        out["acf_error"] = metrics.autocorrelation_error(test, synth)
        return out
    near = metrics.nearest_hamming(train, synth)
    return {
        "kmer_jsd": metrics.kmer_jsd(test, synth),
        "kmer_jsd_per_k": metrics.kmer_jsd(test, synth, return_per_k=True),
        "nn_hamming": near["mean"],
        "exact_copies": near["exact_copies"],
        "mean_length": float(np.mean([len(s) for s in synth])),
    }


def run(
    datasets,
    models,
    quick=False,
    seed=0,
    stock_csv=DEFAULT_STOCK_CSV,
    steps=(),
    repeats=1,
    max_iter=None,
):
    rows = []
    for dataset in datasets:
        data = load(dataset, quick, seed, stock_csv)
        if data is None:
            print(f"{dataset}: {stock_csv} not found, skipped", flush=True)
            continue
        train, test = data
        # on the stock windows, the same windows on both sides: only the predictive score
        # (TimeGAN's original data row) means something; a memorising GRU makes the
        # discriminative score meaningless there
        stock = dataset == "stock"
        ref = evaluate(dataset, train, test, train[: len(test)], quick, seed, repeats, stock)
        if dataset == "dna":  # memorisation reference: held-out strings' distance to training
            from skbridge.metrics import nearest_hamming

            near = nearest_hamming(train, test)
            ref["nn_hamming"], ref["exact_copies"] = near["mean"], near["exact_copies"]
        rows.append({"dataset": dataset, "model": "train rows (reference)", "seed": seed, **ref})
        print(f"{dataset}: {len(train)} train / {len(test)} test", json.dumps(ref), flush=True)
        for model in models:
            if not applies(model, dataset):
                continue

            def sample_and_evaluate(gen, dataset=dataset, train=train, test=test):
                t0 = time.perf_counter()
                synth = gen.sample(len(test), random_state=seed + 1)
                out = {"sample_s": time.perf_counter() - t0, "sample_n": len(test)}
                out.update(evaluate(dataset, train, test, synth, quick, seed, repeats))
                return out

            rows += fit_and_evaluate(
                {"dataset": dataset, "model": model, "seed": seed},
                lambda model=model, dataset=dataset: make_generator(
                    model, dataset, quick, seed, max_iter
                ),
                train,
                test,
                sample_and_evaluate,
                show=lambda r: print(json.dumps(r, default=float), flush=True),
                score=dataset != "stock",  # the windows it fitted: in-sample
                steps=steps,
            )
    return rows


COLUMNS = {
    "sines": [
        ("fit_s", "fit s", "{:.1f}"),
        ("sample_s", "sample 2k s", "{:.1f}"),
        ("discriminative", "discriminative", "{:.3f}"),
        ("predictive", "predictive MAE", "{:.4f}"),
        ("acf_error", "ACF error", "{:.4f}"),
        ("held_out_score", "held-out score", "{:.1f}"),
    ],
    "dna": [
        ("fit_s", "fit s", "{:.1f}"),
        ("sample_s", "sample 400 s", "{:.1f}"),
        ("kmer_jsd", "k-mer JSD", "{:.4f}"),
        ("nn_hamming", "NN Hamming", "{:.3f}"),
        ("exact_copies", "copies", "{:.3f}"),
        ("mean_length", "mean length", "{:.1f}"),
        ("held_out_score", "held-out score", "{:.1f}"),
    ],
}


COLUMNS["stock"] = [c if c[0] != "sample_s" else ("sample_s", "sample 3662 s", "{:.1f}")
                    for c in COLUMNS["sines"] if c[0] != "held_out_score"]  # fmt: skip


def markdown(rows) -> str:
    return markdown_tables(rows, COLUMNS)


def main(argv=None):
    parser = argument_parser(__doc__, DATASETS, MODELS)
    parser.add_argument("--stock-csv", type=Path, default=DEFAULT_STOCK_CSV)
    parser.add_argument(
        "--metric-repeats",
        type=int,
        default=1,
        metavar="R",
        help="series: average the discriminative score over R classifiers (TimeGAN: 10)",
    )
    parser.add_argument(
        "--max-iter",
        type=int,
        default=None,
        help="training steps of skbridge models (default: the estimators' own, 'auto')",
    )
    add_sampling_steps(parser)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    rows = []
    for seed in args.seeds if args.seeds is not None else [args.seed]:
        rows += run(
            args.datasets,
            args.models,
            args.quick,
            seed,
            args.stock_csv,
            args.sampling_steps,
            args.metric_repeats,
            args.max_iter,
        )
    finish(args, rows, "benchmarks/sequences.py", t0, order=DATASETS, markdown=markdown)


if __name__ == "__main__":
    main()
