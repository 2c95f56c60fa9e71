"""The ``skbridge`` command line: fit, sample, score, report, info and demo.

Entry points: the console script ``skbridge`` and ``python -m skbridge``. Exit codes:
0 success, 1 the fit failed (training diverged) or an unexpected error, 2 bad usage or bad
input (unreadable or missing file, missing columns, missing values, unsupported types).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

MODELS = {
    "scoresde": "ScoreSDE",
    "sbvae": "SBVAE",
    "vae": "VAE",
    "flow": "FlowMatching",
    "discrete": "DiscreteDiffusion",
}
TABLE_EXT = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}
GRAPH_EXT = {".graphml": "graphml", ".gml": "gml", ".edgelist": "edgelist", ".edges": "edgelist"}

DESCRIPTION = """\
Fit a generative model to a data file, draw synthetic data from it, score data under it,
and compare real with synthetic data.

Data files:
  tables     .csv, .tsv, .parquet  (text and bool columns are categories; numbers are
             numbers; use --categorical for integer-coded categories)
  series     .npy of shape (n, length, channels); a 2-D .npy is a numeric table
  tokens     .txt, one sequence per line, each character a token (e.g. DNA)
  graphs     a folder of .graphml, .gml or .edgelist files, one graph per file

A typical session:
  skbridge fit adult.csv -o adult.skb
  skbridge sample adult.skb -n 10000 -o synthetic.csv
  skbridge score adult.skb holdout.csv
  skbridge report holdout.csv synthetic.csv -o report.html
"""

EPILOG = """\
exit codes: 0 success; 1 the fit failed (training diverged) or an unexpected error;
2 bad usage or bad input (missing file or column, missing values, unsupported type).
Model files (.skb) are pickles inside a zip: open only files you trust.
"""


class CLIError(Exception):
    """Bad usage or bad input: printed as one line, exit code 2."""


def _info(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr)


def _split(text):
    return [c for c in (text or "").split(",") if c != ""]


# ------------------------------------------------------------------------------- reading
def data_kind(path: Path) -> str:
    """``"table"``, ``"array"`` (.npy), ``"tokens"`` (.txt) or ``"graphs"`` (a folder)."""
    if path.is_dir():
        return "graphs"
    ext = path.suffix.lower()
    if ext in TABLE_EXT:
        return "table"
    if ext == ".npy":
        return "array"
    if ext == ".txt":
        return "tokens"
    raise CLIError(
        f"{path}: unknown file type {ext or '(no extension)'!r}; use .csv, .tsv, .parquet "
        "(tables), .npy (arrays and series), .txt (token sequences) or a folder of graph files"
    )


def _pandas():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CLIError("tables need pandas: pip install 'skbridge[tabular]'") from exc
    return pd


def _parquet_engine():
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise CLIError("Parquet files need pyarrow: pip install pyarrow") from exc


def read_table(path: Path, *, categorical=(), drop=(), dropna=False, quiet=False):
    pd = _pandas()
    ext = path.suffix.lower()
    try:
        if ext in (".parquet", ".pq"):
            _parquet_engine()
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, sep=TABLE_EXT[ext])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CLIError(f"{path}: cannot be read as a table ({exc})") from exc
    missing = [c for c in list(categorical) + list(drop) if c not in df.columns]
    if missing:
        raise CLIError(f"{path} has no column(s) {missing}; its columns are {list(df.columns)}")
    df = df.drop(columns=list(drop))
    for c in categorical:
        df[c] = df[c].astype("category")
    if df.isna().any().any():
        bad = {c: int(n) for c, n in df.isna().sum().items() if n}
        if not dropna:
            raise CLIError(
                f"{path} has missing values (column: rows) {bad}. skbridge models complete "
                "rows: pass --dropna to drop those rows, or impute them before."
            )
        before = len(df)
        df = df.dropna().reset_index(drop=True)
        _info(f"--dropna: dropped {before - len(df)} of {before} rows with missing values", quiet)
    if len(df) == 0:
        raise CLIError(f"{path} has no rows")
    return df


def read_graphs(path: Path):
    try:
        import networkx as nx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CLIError("graphs need networkx: pip install 'skbridge[graphs]'") from exc
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in GRAPH_EXT)
    if not files:
        raise CLIError(
            f"{path} holds no graph files ({', '.join(sorted(GRAPH_EXT))}), one graph per file"
        )
    readers = {"graphml": nx.read_graphml, "gml": nx.read_gml, "edgelist": nx.read_edgelist}
    graphs = []
    for f in files:
        try:
            graphs.append(readers[GRAPH_EXT[f.suffix.lower()]](f))
        except Exception as exc:  # networkx raises many kinds for a malformed file
            raise CLIError(f"{f}: cannot be read as a graph ({exc})") from exc
    return graphs


def read_data(path, meta=None, *, dropna=False, quiet=False):
    """Read a data file as the command line does; ``meta`` replays how fit read its file."""
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file or folder")
    meta = meta or {}
    kind = data_kind(path)
    if meta.get("kind") and kind != meta["kind"]:
        raise CLIError(f"{path} is {kind} data, but the model was fitted on {meta['kind']} data")
    if kind == "table":
        X = read_table(
            path,
            categorical=meta.get("categorical", ()),
            drop=meta.get("drop", ()),
            dropna=dropna,
            quiet=quiet,
        )
        if meta.get("columns") is not None:
            missing = [c for c in meta["columns"] if c not in X.columns]
            if missing:
                raise CLIError(f"{path} lacks the column(s) {missing} the model was fitted on")
            X = X[meta["columns"]]
        return kind, X
    if kind == "array":
        try:
            X = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise CLIError(f"{path}: cannot be read as a numeric array ({exc})") from exc
        if X.ndim not in (2, 3) or X.dtype.kind not in "biuf":
            raise CLIError(
                f"{path} holds a {X.ndim}-D {X.dtype} array; skbridge reads 2-D numeric "
                "arrays (tables) and 3-D ones (n series, length, channels)"
            )
        return kind, X.astype(np.float64)
    if kind == "tokens":
        lines = path.read_text(encoding="utf-8").splitlines()
        X = [line for line in lines if line.strip() != ""]
        if not X:
            raise CLIError(f"{path} has no sequences (one per line)")
        return kind, X
    return kind, read_graphs(path)


# ------------------------------------------------------------------------------- writing
def _output_kind(out: str, kind: str, modality: str) -> str:
    if out == "-":
        if kind not in ("table", "array") or modality != "tabular":
            raise CLIError("only tables can be written to standard output; give -o FILE")
        return "csv"
    ext = Path(out).suffix.lower()
    if kind == "graphs":
        if ext:
            raise CLIError(f"graphs are written to a folder (one .graphml per graph), not {out}")
        return "graphs"
    if kind == "tokens":
        if ext != ".txt":
            raise CLIError(f"token sequences are written to a .txt file, not {out}")
        return "tokens"
    if ext == ".npy":
        return "npy"
    if modality == "tabular" and ext in TABLE_EXT:
        if ext in (".parquet", ".pq"):
            _parquet_engine()
        return {".csv": "csv", ".tsv": "tsv"}.get(ext, "parquet")
    allowed = ".csv, .tsv, .parquet or .npy" if modality == "tabular" else ".npy"
    raise CLIError(f"cannot write {modality} samples to {out}: use {allowed}")


def _as_frame(chunk):
    """Sampled rows as a DataFrame (columns ``x0, x1, ...`` for a model fitted on an array)."""
    if hasattr(chunk, "columns"):
        return chunk
    return _pandas().DataFrame(chunk, columns=[f"x{j}" for j in range(np.shape(chunk)[1])])


class _Writer:
    """Streams sample chunks to one output, so memory does not grow with ``n``."""

    def __init__(self, out: str, fmt: str, n: int):
        self.out, self.fmt, self.n = out, fmt, n
        self.done = 0
        self._handle = None

    def write(self, chunk) -> None:
        fmt = self.fmt
        if fmt in ("csv", "tsv"):
            frame = _as_frame(chunk)
            if self._handle is None:
                self._handle = (
                    sys.stdout
                    if self.out == "-"
                    else open(  # noqa: SIM115
                        self.out, "w", newline="", encoding="utf-8"
                    )
                )
            frame.to_csv(
                self._handle, sep="," if fmt == "csv" else "\t", index=False, header=self.done == 0
            )
        elif fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            frame = _as_frame(chunk)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._handle is None:
                self._handle = pq.ParquetWriter(self.out, table.schema)
            self._handle.write_table(table)
        elif fmt == "npy":
            A = np.asarray(chunk.to_numpy() if hasattr(chunk, "to_numpy") else chunk)
            if A.dtype == object:
                raise CLIError("samples with category columns cannot be written to .npy")
            if self._handle is None:
                self._handle = np.lib.format.open_memmap(
                    self.out, mode="w+", dtype=A.dtype, shape=(self.n,) + A.shape[1:]
                )
            self._handle[self.done : self.done + len(A)] = A
        elif fmt == "tokens":
            if self._handle is None:
                self._handle = open(self.out, "w", encoding="utf-8")  # noqa: SIM115
            for seq in chunk:
                self._handle.write((seq if isinstance(seq, str) else "".join(seq)) + "\n")
        elif fmt == "graphs":
            import networkx as nx

            os.makedirs(self.out, exist_ok=True)
            width = len(str(self.n - 1))
            for i, G in enumerate(chunk):
                nx.write_graphml(G, Path(self.out) / f"graph_{self.done + i:0{width}d}.graphml")
        self.done += len(chunk)

    def close(self) -> None:
        if self._handle is None or self._handle is sys.stdout:
            if self._handle is sys.stdout:
                sys.stdout.flush()
            return
        if self.fmt == "npy":
            self._handle.flush()
            del self._handle
        else:
            self._handle.close()
        self._handle = None


# -------------------------------------------------------------------------- commands
def _parse_param(text: str):
    if "=" not in text:
        raise CLIError(f"--param expects NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return name.strip(), parsed


def _load(path, trusted=False):
    from ._io import ModelFileError, load, read_metadata

    if not Path(path).exists():
        raise CLIError(f"{path}: no such file")
    try:
        meta = read_metadata(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = load(path, trusted=trusted)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from exc
    return model, meta


def cmd_fit(args) -> int:
    import skbridge

    path = Path(args.data)
    categorical, drop = _split(args.categorical), _split(args.drop)
    kind = data_kind(path) if path.exists() else None
    if (categorical or drop) and kind not in (None, "table"):
        raise CLIError("--categorical and --drop apply to tables (.csv, .tsv, .parquet)")
    meta = {"kind": kind, "categorical": categorical, "drop": drop}
    kind, X = read_data(path, meta, dropna=args.dropna, quiet=args.quiet)
    params = dict(_parse_param(p) for p in args.param or ())
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    if args.node_attr or args.edge_attr:
        if kind != "graphs":
            raise CLIError("--node-attr and --edge-attr apply to graph folders")
        from .data import GraphCodec

        named = {"node_attr": args.node_attr, "edge_attr": args.edge_attr}
        params["data"] = GraphCodec(**{k: v for k, v in named.items() if v})  # others "auto"
    elif kind == "tokens":
        params.setdefault("data", "sequence")
    Model = getattr(skbridge, MODELS[args.model])
    try:
        model = Model(random_state=args.seed, device=args.device, verbose=0 if args.quiet else 1)
        model.set_params(**params)
    except ValueError as exc:
        raise CLIError(f"{exc} (see the {Model.__name__} parameters in the API reference)") from exc
    described = {"table": f"{len(X)} rows x {X.shape[1] if hasattr(X, 'shape') else 0} columns"}
    what = described.get(kind, f"{len(X)} {kind if kind != 'array' else 'rows'}")
    if kind == "array":
        what = f"{len(X)} {'series' if X.ndim == 3 else 'rows'} of shape {X.shape[1:]}"
    _info(f"fitting {Model.__name__} on {path} ({what})", args.quiet)
    t0 = time.perf_counter()
    if args.checkpoint is not None and Path(args.checkpoint).exists():
        _info(f"resuming from the checkpoint {args.checkpoint}", args.quiet)
    model.fit(X, checkpoint=args.checkpoint)
    seconds = time.perf_counter() - t0
    _info(
        f"fitted in {seconds:.1f} s, {model.n_iter_} iterations on {model.device_}",
        args.quiet,
    )
    meta.update(
        kind=kind,
        source=str(path),
        n_rows=len(X),
        columns=list(map(str, X.columns)) if kind == "table" else None,
        fit_seconds=round(seconds, 2),
    )
    from ._io import save

    save(model, args.output, metadata=meta)
    _info(f"model written to {args.output}", args.quiet)
    return EXIT_OK


def cmd_sample(args) -> int:
    from ._base import Progress

    model, header = _load(args.model, args.trusted)
    meta = header.get("metadata", {})
    kind = meta.get("kind") or "table"
    if args.n < 1:
        raise CLIError(f"-n must be a positive integer, got {args.n}")
    if args.chunk_size < 1:
        raise CLIError(f"--chunk-size must be a positive integer, got {args.chunk_size}")
    fmt = _output_kind(args.output, kind, model.codec_.modality)
    codec = model.codec_
    if getattr(codec, "kind_", None) == "real" and getattr(codec, "variable_length_", False):
        raise CLIError(
            "the model was fitted on series of different lengths, which a .npy array cannot "
            "hold; sample them in Python (model.sample(n) returns a list of arrays)"
        )
    for name in ("n_steps", "sampler"):
        value = getattr(args, name)
        if value is not None:
            if name not in model.get_params():
                raise CLIError(
                    f"--{name.replace('_', '-')} does not apply to {type(model).__name__}"
                )
            model.set_params(**{name: value})
    writer = _Writer(args.output, fmt, args.n)
    progress = Progress(args.n, 0 if args.quiet else 1, "sampling")
    t0 = time.perf_counter()
    try:
        for chunk in model.iter_samples(args.n, args.chunk_size, random_state=args.seed):
            writer.write(chunk)
            progress.update(len(chunk), {"rows": writer.done})
    finally:
        writer.close()
        progress.close()
    _info(
        f"{args.n} samples written to {'standard output' if args.output == '-' else args.output}"
        f" in {time.perf_counter() - t0:.1f} s",
        args.quiet,
    )
    return EXIT_OK


def cmd_score(args) -> int:
    model, header = _load(args.model, args.trusted)
    meta = header.get("metadata", {})
    kind, X = read_data(args.data, meta, dropna=args.dropna, quiet=args.quiet)
    scores = np.asarray(model.score_samples(X), dtype=np.float64)
    n = len(scores)
    finite = np.isfinite(scores)
    se = scores[finite].std(ddof=1) / np.sqrt(finite.sum()) if finite.sum() > 1 else float("nan")
    print(
        f"{n} {'rows' if kind in ('table', 'array') else 'items'}: mean score "
        f"{scores.mean():.4f} nats (standard error {se:.4f}), min {scores.min():.4f}, "
        f"max {scores.max():.4f}"
    )
    if not finite.all():
        print(f"{int((~finite).sum())} item(s) have score -inf (impossible under the model)")
    if args.output:
        pd = _pandas()
        pd.DataFrame({"score": scores}).to_csv(args.output, index=False)
        _info(f"per-item scores written to {args.output}", args.quiet)
    return EXIT_OK


def cmd_info(args) -> int:
    import json

    from ._io import ModelFileError, read_metadata

    try:
        header = read_metadata(args.model)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from exc
    print(json.dumps(header, indent=2))
    return EXIT_OK


def cmd_report(args) -> int:
    from ._report import report

    categorical = _split(args.categorical)
    meta = {"categorical": categorical}
    kind, real = read_data(args.real, meta, dropna=args.dropna, quiet=args.quiet)
    kind_s, synthetic = read_data(args.synthetic, {**meta, "kind": kind}, dropna=args.dropna)
    train = None
    if args.train:
        _, train = read_data(args.train, {**meta, "kind": kind}, dropna=args.dropna)
    t0 = time.perf_counter()
    rep = report(real, synthetic, train=train, target=args.target, random_state=args.seed)
    rep.to_html(args.output)
    print(rep.summary())
    _info(f"report written to {args.output} in {time.perf_counter() - t0:.1f} s", args.quiet)
    return EXIT_OK


def demo(max_iter: int = 2000, seed: int = 0) -> None:
    """Fit ScoreSDE and SBVAE on two moons, sample, and compare with a GaussianMixture."""
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


def cmd_demo(args) -> int:
    demo(args.max_iter, args.seed)
    return EXIT_OK


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skbridge",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"skbridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help_text, description=None):
        p = sub.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("-q", "--quiet", action="store_true", help="no progress or messages")
        p.add_argument(
            "--threads",
            type=_positive_int,
            metavar="N",
            help="threads for torch and BLAS (default: torch's, one per core; use 1 on a "
            "busy machine or next to other jobs)",
        )
        return p

    p = command(
        "fit",
        "fit a model to a data file and write it to a model file",
        "Fit a generative model to DATA and write it to a model file (.skb).\n\n"
        "Example: skbridge fit adult.csv -o adult.skb --model scoresde --max-iter 3000",
    )
    p.add_argument("data", help="data file (.csv, .tsv, .parquet, .npy, .txt) or graph folder")
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.skb)")
    p.add_argument(
        "--model",
        choices=sorted(MODELS),
        default="scoresde",
        help="scoresde: score-based diffusion (default); sbvae: SB-VAE, a learned encoder on "
        "top; vae: a Gaussian-latent VAE; flow: flow matching (fast few-step sampling); "
        "discrete: categorical diffusion (graphs, token sequences, tables: categories as categories)",
    )
    p.add_argument("--max-iter", type=int, help="training iterations (default: the model's)")
    p.add_argument(
        "--categorical", metavar="COLS", help="comma-separated columns to treat as categories"
    )
    p.add_argument("--drop", metavar="COLS", help="comma-separated columns to leave out")
    p.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    p.add_argument(
        "--node-attr",
        help="graphs: categorical node attribute to model (default: the one every node has)",
    )
    p.add_argument(
        "--edge-attr",
        help="graphs: categorical edge attribute to model (default: the one every edge has)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--device", default="auto", help="auto (a CUDA GPU when there is one), cpu or cuda"
    )
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="any model parameter, e.g. --param hidden=256 --param beta_max=10 (repeatable)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="save the fit's state here at every check; run the same command again after a "
        "crash or a kill to resume (removed when the fit succeeds)",
    )
    p.set_defaults(func=cmd_fit)

    p = command(
        "sample",
        "draw synthetic data from a model file",
        "Draw N synthetic rows (series, sequences, graphs) from a model file and write them "
        "to a file whose extension gives the format (standard output as CSV with -o -).\n"
        "Rows are generated and written in chunks, so memory does not grow with N.\n\n"
        "Example: skbridge sample adult.skb -n 10000 -o synthetic.csv",
    )
    p.add_argument("model", help="model file written by `skbridge fit`")
    p.add_argument(
        "--trusted",
        action="store_true",
        help="open a model file of format version 1 (a pickle, which can run code): only "
        "for files you trust",
    )
    p.add_argument("-n", type=int, required=True, help="number of samples")
    p.add_argument(
        "-o",
        "--output",
        default="-",
        help=".csv, .tsv, .parquet or .npy for tables; .npy for series; .txt for tokens; a "
        "folder for graphs; - for standard output (default)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--chunk-size", type=int, default=10000, help="samples per chunk")
    p.add_argument("--n-steps", type=int, help="sampling steps (diffusion models)")
    p.add_argument("--sampler", help="sampler (diffusion models: sde, pc, ode, dpm, dpm-sde)")
    p.set_defaults(func=cmd_sample)

    p = command(
        "score",
        "score data under a model file (log-likelihood bound, nats)",
        "Print the mean per-item score (a lower bound on the log-likelihood, in nats) of DATA "
        "under the model; -o writes the per-item scores to a CSV file.\n\n"
        "Example: skbridge score adult.skb holdout.csv -o scores.csv",
    )
    p.add_argument("model", help="model file written by `skbridge fit`")
    p.add_argument(
        "--trusted",
        action="store_true",
        help="open a model file of format version 1 (a pickle, which can run code): only "
        "for files you trust",
    )
    p.add_argument("data", help="data of the kind the model was fitted on")
    p.add_argument("-o", "--output", help="CSV file for the per-item scores")
    p.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    p.set_defaults(func=cmd_score)

    p = command(
        "report",
        "compare real and synthetic data, write an HTML report",
        "Compute quality metrics of SYNTHETIC against REAL (held-out real rows are best) and "
        "write a self-contained HTML page with figures.\n\n"
        "Example: skbridge report holdout.csv synthetic.csv -o report.html --train train.csv "
        "--target income",
    )
    p.add_argument("real", help="real data (rows the model did not train on, ideally)")
    p.add_argument("synthetic", help="synthetic data of the same kind")
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.add_argument("--train", help="the model's training data: adds the memorisation check")
    p.add_argument("--target", help="tables: column to predict, adds ML efficiency (needs --train)")
    p.add_argument("--categorical", metavar="COLS", help="comma-separated category columns")
    p.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=cmd_report)

    p = command("info", "print a model file's header (class, parameters, versions, data)")
    p.add_argument("model", help="model file")
    p.set_defaults(func=cmd_info)

    p = command("demo", "fit ScoreSDE and SBVAE on bundled two-moons data, sample and score")
    p.add_argument("--max-iter", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv=None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    from ._base import TrainingError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.threads is None:
            return args.func(args)
        from threadpoolctl import threadpool_limits

        # torch's intra-op threads are OpenMP threads: threadpoolctl limits them
        with threadpool_limits(limits=args.threads):
            return args.func(args)
    except CLIError as exc:
        print(f"skbridge {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingError as exc:
        print(f"skbridge {args.command}: training failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, TypeError, ImportError) as exc:
        if os.environ.get("SKBRIDGE_DEBUG"):
            raise
        # the estimators' input checks: messages that name the problem and the fix
        print(f"skbridge {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        checkpoint = getattr(args, "checkpoint", None)
        hint = f" (run the same command again to resume from {checkpoint})" if checkpoint else ""
        print(f"skbridge {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


def console() -> None:  # pragma: no cover - the installed entry point
    sys.exit(main())
