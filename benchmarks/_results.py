"""Shared by the per-modality benchmarks: fitting and evaluating one generator, results
files and Markdown tables.

A results file holds ``runs`` (one entry per invocation: command, date, machine, wall time)
and ``rows`` (one per dataset × model, each with ``run``, the index of the invocation that
produced it). A later invocation on some datasets or models replaces only those rows, so a
table can be completed model by model and every row still says where it came from.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import traceback
from pathlib import Path

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
    new = {(r["dataset"], r["model"]) for r in rows}
    kept = [r for r in old["rows"] if (r["dataset"], r["model"]) not in new]
    rank = {d: i for i, d in enumerate(order)}
    merged = sorted(  # by dataset, the real-data reference rows first
        kept + rows,
        key=lambda r: (rank.get(r["dataset"], len(rank)), not r["model"].startswith("train rows")),
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"runs": old["runs"] + [run], "rows": merged}, indent=1, default=float)
    )
    return merged


def markdown_tables(rows: list[dict], columns, title=lambda dataset, rows: f"**{dataset}**"):
    """One Markdown table per dataset, a row per model.

    ``columns`` is a list of ``(key, header, format)`` or a dict of such lists by dataset;
    ``title(dataset, rows)`` heads each table. Rows with an ``error`` show its last line.
    """
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == dataset]
        cols = columns[dataset] if isinstance(columns, dict) else columns
        lines += ["", title(dataset, sub), ""]
        lines.append("| model | " + " | ".join(h for _, h, _ in cols) + " |")
        lines.append("|---|" + "---|" * len(cols))
        for r in sub:
            if "error" in r:
                lines.append(f"| {r['model']} | failed: {r['error'].splitlines()[-1][:80]} |")
                continue
            cells = ["" if r.get(k) is None else f.format(r[k]) for k, _, f in cols]
            lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fit_and_evaluate(row, make, train, test, evaluate, *, samplers=(), show=None) -> list[dict]:
    """Fit ``make()`` on ``train`` and evaluate it; one row per way of sampling.

    ``row`` holds the dataset and model names; ``evaluate(gen)`` samples from the fitted
    generator and returns its columns (its own sampling time included). The first row is
    the generator as fitted; for a diffusion model its ``sampler`` column is the sampler its
    settings resolve to (``sampler="auto"`` depends on the data and on the kept encoder). For
    every other name in ``samplers`` the same fit is evaluated again with that sampler, in a
    row named ``"<model> + <sampler> sampler"`` whose fit columns repeat the fit's. An
    exception is recorded in the row being worked on and the benchmark goes on.
    ``show(row)`` prints each finished row (default: ``print``).
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
        if hasattr(gen, "score"):
            row["held_out_score"] = float(gen.score(test))
        if hasattr(gen, "encoder_improved_"):
            row["encoder_improved"] = bool(gen.encoder_improved_)
        if hasattr(gen, "resolved_sampler"):  # a diffusion model: its settings resolve to
            row["sampler"] = gen.resolved_sampler()
            extra = [s for s in samplers if s != row["sampler"]]
            rows += [{**row, "model": f"{row['model']} + {s} sampler", "sampler": s} for s in extra]
        for current in rows:
            if current is not row:
                gen.set_params(sampler=current["sampler"])
            current.update(evaluate(gen))
    except Exception:  # noqa: BLE001 - reported in the table, the run goes on
        current["error"] = traceback.format_exc(limit=3)
    for r in rows:
        show(r)
    return rows


def argument_parser(doc: str, datasets, models) -> argparse.ArgumentParser:
    """The options every benchmark takes; a script adds its own before parsing."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(datasets), choices=datasets)
    parser.add_argument("--models", nargs="+", default=list(models), choices=models)
    parser.add_argument("--quick", action="store_true", help="smoke run (CI-sized)")
    parser.add_argument("--seed", type=int, default=0)
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
