"""Shared by the per-modality benchmarks: fitting and evaluating one generator, results
files and Markdown tables.

A results file holds ``runs`` (one entry per invocation: command, date, machine, wall time)
and ``rows`` (one per dataset × model × seed, each with ``run``, the index of the invocation
that produced it; a row without ``seed`` is seed 0). A later invocation on some datasets,
models or seeds replaces only those rows, so a table can be completed model by model and
every row still says where it came from. The Markdown tables show one line per dataset ×
model: the mean ± standard error over its seeds where it has several.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np
from core import machine_info


def save_rows(out: Path, rows: list[dict], script: str, t0: float, *, fresh=False, order=()):
    """Write ``rows`` into ``out``, replacing the earlier rows of the same (dataset, model).

    ``script`` is the benchmark's path as typed (``benchmarks/graphs.py``), ``t0`` the
    ``time.time()`` of the start, ``order`` the datasets' display order. Returns the merged
    rows.
    """
    run = {
        "command": f"python {script} " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "wall_s": time.time() - t0,
    }
    old = {"runs": [], "rows": []}
    if out.exists() and not fresh:
        old = json.loads(out.read_text())
    for r in rows:
        r["run"] = len(old["runs"])
    new = {_key(r) for r in rows}
    kept = [r for r in old["rows"] if _key(r) not in new]
    rank = {d: i for i, d in enumerate(order)}
    merged = sorted(  # by dataset, the real-data reference rows first, then by seed
        kept + rows,
        key=lambda r: (
            rank.get(r["dataset"], len(rank)),
            not r["model"].startswith("train rows"),
            r.get("seed", 0),
        ),
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"runs": old["runs"] + [run], "rows": merged}, indent=1, default=float)
    )
    return merged


def _key(row) -> tuple:
    return row["dataset"], row["model"], row.get("seed", 0)


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error (sample std / sqrt(n); NaN for a single value)."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    if len(x) == 0:
        return float("nan"), float("nan")
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return float(x.mean()), float(se)


def _cell(rows, key, fmt) -> str:
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    if not values:
        return ""
    if len(rows) == 1:
        return fmt.format(values[0])
    mean, se = mean_se(values)
    return f"{fmt.format(mean)} ± {fmt.format(se).lstrip('+')}"


def markdown_tables(rows: list[dict], columns, title=lambda dataset, rows: f"**{dataset}**"):
    """One Markdown table per dataset, a line per model: the mean ± standard error over the
    model's seeds where it has several (the number of seeds in the model column).

    ``columns`` is a list of ``(key, header, format)`` or a dict of such lists by dataset;
    ``title(dataset, rows)`` heads each table. A seed whose row has an ``error`` shows its
    last line.
    """
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == dataset]
        cols = columns[dataset] if isinstance(columns, dict) else columns
        lines += ["", title(dataset, sub), ""]
        lines.append("| model | " + " | ".join(h for _, h, _ in cols) + " |")
        lines.append("|---|" + "---|" * len(cols))
        for model in dict.fromkeys(r["model"] for r in sub):
            group = [r for r in sub if r["model"] == model]
            for r in group:
                if "error" in r:
                    error = r["error"].splitlines()[-1][:80]
                    lines.append(f"| {model} (seed {r.get('seed', 0)}) | failed: {error} |")
            good = [r for r in group if "error" not in r]
            if not good:
                continue
            name = model if len(good) == 1 else f"{model} ({len(good)} seeds)"
            cells = [_cell(good, k, f) for k, _, f in cols]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fit_and_evaluate(
    row, make, train, test, evaluate, *, samplers=(), steps=(), show=None, score=True
) -> list[dict]:
    """Fit ``make()`` on ``train`` and evaluate it; one row per way of sampling.

    ``row`` holds the dataset and model names; ``evaluate(gen)`` samples from the fitted
    generator and returns its columns (its own sampling time included). The first row is
    the generator as fitted; for a diffusion model its ``sampler`` column is the sampler its
    settings resolve to (``sampler="auto"`` depends on the data and on the kept encoder). For
    every other name in ``samplers`` the same fit is evaluated again with that sampler, in a
    row named ``"<model> + <sampler> sampler"`` whose fit columns repeat the fit's. An
    exception is recorded in the row being worked on and the benchmark goes on.
    For every number in ``steps``, the fit (with its own sampler) is evaluated again on that
    many sampling steps (``set_params(sampling_steps=...)``), in a row named ``"<model> on
    <steps> sampling steps"``. ``show(row)`` prints each finished row (default: ``print``). ``score=False`` leaves out
    the held-out score (``test`` is not held out).
    """
    show = show or (lambda r: print(r, flush=True))
    row = dict(row)
    rows, current = [row], row
    try:
        gen = make()
        t0 = time.perf_counter()
        gen.fit(train)
        row["fit_s"] = time.perf_counter() - t0
        if hasattr(gen, "n_iter_"):
            row["n_iter"] = int(gen.n_iter_)
        if score and hasattr(gen, "score_samples"):
            try:
                scores = np.asarray(gen.score_samples(test), dtype=np.float64)
            except ValueError as exc:  # a test row the model refuses
                row["held_out_error"] = f"{type(exc).__name__}: {exc}"[:200]
            else:
                # rows of probability zero (a test graph larger than every training graph)
                # are counted apart; the score is the mean over the others
                impossible = scores == -np.inf
                if impossible.any():
                    row["held_out_impossible"] = int(impossible.sum())
                if not impossible.all():
                    row["held_out_score"] = float(scores[~impossible].mean())
        elif score and hasattr(gen, "score"):
            row["held_out_score"] = float(gen.score(test))
        if hasattr(gen, "encoder_improved_"):
            row["encoder_improved"] = bool(gen.encoder_improved_)
        if hasattr(gen, "resolved_sampler"):  # a diffusion model: its settings resolve to
            row["sampler"] = gen.resolved_sampler()
            extra = [s for s in samplers if s != row["sampler"]]
            rows += [{**row, "model": f"{row['model']} + {s} sampler", "sampler": s} for s in extra]
        if steps and hasattr(gen, "resolved_sampling_steps"):
            row["sampling_steps"] = gen.resolved_sampling_steps()
            rows += [
                {**row, "model": f"{row['model']} on {k} sampling steps", "sampling_steps": k}
                for k in steps
            ]
        keys = ("sampler", "sampling_steps")
        # the fitted settings, restored before each row (a generator with no variants, such
        # as a floor without get_params, is evaluated once as it is)
        fitted = {k: v for k, v in gen.get_params().items() if k in keys} if rows[1:] else {}
        for current in rows:
            if fitted:
                gen.set_params(**fitted)
            if current is not row:  # a variant: its sampler or its steps
                gen.set_params(
                    **{k: current[k] for k in keys if current.get(k, row.get(k)) != row.get(k)}
                )
            current.update(evaluate(gen))
    except Exception:  # noqa: BLE001 - reported in the table, the run goes on
        current["error"] = traceback.format_exc(limit=3)
    for r in rows:
        show(r)
    return rows


def add_sampling_steps(parser: argparse.ArgumentParser) -> None:
    """``--sampling-steps K ...``: each fit is also sampled on these numbers of steps."""
    parser.add_argument(
        "--sampling-steps",
        type=int,
        nargs="+",
        default=[],
        help="also sample each fit on these numbers of steps (rows '<model> on <k> sampling steps')",
    )


def argument_parser(doc: str, datasets, models) -> argparse.ArgumentParser:
    """The options every benchmark takes; a script adds its own before parsing."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(datasets), choices=datasets)
    parser.add_argument("--models", nargs="+", default=list(models), choices=models)
    parser.add_argument("--quick", action="store_true", help="smoke run (CI-sized)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="several seeds (replaces --seed)"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--fresh", action="store_true", help="overwrite the results file instead of updating it"
    )
    return parser


def finish(args, rows, script: str, t0: float, *, order, markdown) -> None:
    """Merge ``rows`` into ``results/<name>.json`` (``<name>_quick.json`` with ``--quick``,
    or ``--out``) and print the tables."""
    name = Path(script).stem + ("_quick" if args.quick else "")
    out = args.out or Path(__file__).resolve().parent / "results" / f"{name}.json"
    merged = save_rows(out, rows, script, t0, fresh=args.fresh, order=order)
    print(markdown(merged))
    print(f"\nwritten to {out} in {time.time() - t0:.0f} s")
