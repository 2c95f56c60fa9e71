"""The command line, end to end through the installed ``skbridge`` script, and its errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from skbridge import cli  # noqa: E402

SCRIPT = Path(sys.executable).parent / "skbridge"


def run(*args, cwd, input=None):
    """The installed console script, as a user runs it."""
    assert SCRIPT.exists(), f"the console script is not installed at {SCRIPT}: pip install -e ."
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        input=input,
    )


def make_table(n, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame(
        {
            "x": rng.normal(size=n) + 2.0 * (c == "b"),
            "code": rng.integers(0, 4, n),
            "c": c,
            "flag": rng.random(n) < 0.3,
        }
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    make_table(160, seed=0).to_csv(d / "train.csv", index=False)
    make_table(60, seed=1).to_csv(d / "test.csv", index=False)
    r = run(
        "fit", "train.csv", "-o", "m.skb", "--max-iter", 40, "--categorical", "code", "-q", cwd=d
    )
    assert r.returncode == 0, r.stderr
    return d


def test_fit_writes_a_model_file_with_its_header(fitted):
    r = run("info", "m.skb", cwd=fitted)
    assert r.returncode == 0, r.stderr
    header = json.loads(r.stdout)
    assert header["class"].endswith("ScoreSDE")
    assert header["params"]["max_iter"] == 40
    meta = header["metadata"]
    assert meta["kind"] == "table" and meta["n_rows"] == 160
    assert meta["columns"] == ["x", "code", "c", "flag"] and meta["categorical"] == ["code"]


def test_sample_writes_the_training_columns_in_chunks_reproducibly(fitted):
    r = run("sample", "m.skb", "-n", 25, "--chunk-size", 10, "-o", "s.csv", "-q", cwd=fitted)
    assert r.returncode == 0, r.stderr
    S = pd.read_csv(fitted / "s.csv")
    assert list(S.columns) == ["x", "code", "c", "flag"] and len(S) == 25
    assert set(S["c"]) <= {"a", "b", "c"} and set(S["code"]) <= {0, 1, 2, 3}
    assert set(S["flag"]) <= {True, False}
    assert np.isfinite(S["x"]).all()
    again = run("sample", "m.skb", "-n", 25, "--chunk-size", 10, "-o", "-", "-q", cwd=fitted)
    assert again.returncode == 0, again.stderr
    assert again.stdout.replace("\r\n", "\n") == (fitted / "s.csv").read_text()
    other = run("sample", "m.skb", "-n", 25, "--chunk-size", 10, "--seed", 1, cwd=fitted)
    assert other.stdout != again.stdout


def test_sample_to_parquet_keeps_dtypes(fitted):
    pytest.importorskip("pyarrow")
    assert (
        cli.main(
            [
                "sample",
                str(fitted / "m.skb"),
                "-n",
                "30",
                "--chunk-size",
                "7",
                "-o",
                str(fitted / "s.parquet"),
                "-q",
            ]
        )
        == 0
    )
    S = pd.read_parquet(fitted / "s.parquet")
    assert len(S) == 30 and S["flag"].dtype == bool and S["code"].dtype.kind == "i"


def test_score_prints_the_mean_and_writes_one_score_per_row(fitted):
    r = run("score", "m.skb", "test.csv", "-o", "scores.csv", cwd=fitted)
    assert r.returncode == 0, r.stderr
    assert "60 rows: mean score" in r.stdout
    scores = pd.read_csv(fitted / "scores.csv")["score"].to_numpy()
    assert scores.shape == (60,) and np.isfinite(scores).all()
    mean = float(r.stdout.split("mean score")[1].split()[0])
    assert mean == pytest.approx(scores.mean(), abs=1e-4)


def test_report_writes_html_and_prints_the_metrics(fitted):
    pytest.importorskip("matplotlib")
    assert run("sample", "m.skb", "-n", 60, "-o", "syn.csv", "-q", cwd=fitted).returncode == 0
    r = run(
        "report",
        "test.csv",
        "syn.csv",
        "-o",
        "report.html",
        "--train",
        "train.csv",
        "--target",
        "c",
        "-q",
        cwd=fitted,
    )
    assert r.returncode == 0, r.stderr
    for name in ("c2st", "column_shapes", "pair_trends", "dcr_share", "ml_efficiency_gap"):
        assert name in r.stdout
    page = (fitted / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("data:image/png;base64,") == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "nope.csv", "-o", "m2.skb"], "no such file"),
        (["fit", "train.csv", "-o", "m2.skb", "--categorical", "zzz"], "no column(s) ['zzz']"),
        (["fit", "train.txt.gz", "-o", "m2.skb"], "unknown file type"),
        (["sample", "train.csv", "-n", "5"], "not a skbridge model file"),
        (["sample", "m.skb", "-n", "5", "-o", "s.npy"], "category columns cannot be written"),
        (["sample", "m.skb", "-n", "5", "-o", "s.xlsx"], "use .csv, .tsv, .parquet or .npy"),
        (["sample", "m.skb", "-n", "0"], "-n must be a positive integer"),
        (["score", "m.skb", "short.csv"], "lacks the column(s) ['flag']"),
        (["score", "m.skb", "holes.csv"], "--dropna"),
        (["fit", "train.csv", "-o", "m2.skb", "--param", "hidden"], "NAME=VALUE"),
        (["fit", "train.csv", "-o", "m2.skb", "--param", "max_iter=-3"], "max_iter"),
    ],
)
def test_bad_input_exits_2_with_a_message_that_names_it(fitted, capsys, args, message):
    make_table(10).drop(columns="flag").to_csv(fitted / "short.csv", index=False)
    holes = make_table(10)
    holes.loc[3, "x"] = np.nan
    holes.to_csv(fitted / "holes.csv", index=False)
    (fitted / "train.txt.gz").write_text("x")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(fitted)
        code = cli.main(args + ["-q"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE, err
    assert message in err and "Traceback" not in err


def test_the_script_exits_2_on_bad_input_and_0_on_help(tmp_path):
    r = run("score", "missing.skb", "x.csv", cwd=tmp_path)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = run("--help", cwd=tmp_path)
    assert r.returncode == 0 and "skbridge fit" in r.stdout and "exit codes" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "skbridge", "sample", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0 and "--chunk-size" in r.stdout


def test_dropna_drops_rows_and_says_so(fitted, capsys):
    holes = make_table(80, seed=3)
    holes.loc[[1, 5], "x"] = np.nan
    holes.to_csv(fitted / "holes80.csv", index=False)
    out = fitted / "m_holes.skb"
    assert (
        cli.main(
            ["fit", str(fitted / "holes80.csv"), "-o", str(out), "--max-iter", "5", "--dropna"]
        )
        == 0
    )
    assert "dropped 2 of 80 rows" in capsys.readouterr().err
    assert json.loads(run("info", out, cwd=fitted).stdout)["metadata"]["n_rows"] == 78


def test_a_diverging_fit_exits_1(fitted, capsys):
    code = cli.main(
        [
            "fit",
            str(fitted / "train.csv"),
            "-o",
            str(fitted / "bad.skb"),
            "--max-iter",
            "30",
            "--param",
            "learning_rate=1e30",
            "-q",
        ]
    )
    assert code == cli.EXIT_FAILED, capsys.readouterr().err
    assert not (fitted / "bad.skb").exists()


def ok(*args):
    """``skbridge ARGS -q`` in-process, asserting exit code 0."""
    code = cli.main([*map(str, args), "-q"])
    assert code == 0, args


def test_series_tokens_and_graphs_round_trip(tmp_path):
    from skbridge.data import make_sines

    X = make_sines(40, length=8, n_channels=2, random_state=0)
    np.save(tmp_path / "series.npy", X)
    ok("fit", tmp_path / "series.npy", "-o", tmp_path / "s.skb", "--max-iter", 5)
    ok("sample", tmp_path / "s.skb", "-n", 7, "--chunk-size", 3, "-o", tmp_path / "out.npy")
    out = np.load(tmp_path / "out.npy")
    assert out.shape == (7, 8, 2) and np.isfinite(out).all()

    (tmp_path / "dna.txt").write_text("\n".join(["ACGTAC", "ACG", "TTGACA", "GATTACA"] * 5))
    ok("fit", tmp_path / "dna.txt", "-o", tmp_path / "t.skb", "--max-iter", 5)
    ok("sample", tmp_path / "t.skb", "-n", 6, "-o", tmp_path / "out.txt")
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert len(lines) == 6 and all(set(s) <= set("ACGT") for s in lines)
    ok("score", tmp_path / "t.skb", tmp_path / "dna.txt")

    nx = pytest.importorskip("networkx")
    folder = tmp_path / "graphs"
    folder.mkdir()
    for i in range(12):
        G = nx.cycle_graph(4 + i % 3)
        nx.set_node_attributes(G, {v: "ab"[v % 2] for v in G}, "kind")
        nx.write_graphml(G, folder / f"g{i}.graphml")
    ok("fit", folder, "-o", tmp_path / "g.skb", "--max-iter", 5, "--node-attr", "kind")
    ok("sample", tmp_path / "g.skb", "-n", 4, "-o", tmp_path / "sampled")
    files = sorted((tmp_path / "sampled").glob("*.graphml"))
    assert len(files) == 4
    for f in files:
        G = nx.read_graphml(f)
        assert all(G.nodes[v]["kind"] in ("a", "b") for v in G)
    ok("score", tmp_path / "g.skb", tmp_path / "sampled")
    # the categorical diffusion on the same graphs, and on the token file
    model = ["--model", "discrete", "--param", "hidden_layer_sizes=(16,)", "--max-iter", 5]
    ok("fit", folder, "-o", tmp_path / "d.skb", *model, "--node-attr", "kind")
    ok("sample", tmp_path / "d.skb", "-n", 3, "-o", tmp_path / "sampled_d")
    assert len(sorted((tmp_path / "sampled_d").glob("*.graphml"))) == 3
    ok("fit", tmp_path / "dna.txt", "-o", tmp_path / "dt.skb", *model)
    ok("score", tmp_path / "dt.skb", tmp_path / "dna.txt")
    # and on a table: its categorical column stays categories
    make_table(80, seed=0).to_csv(tmp_path / "t.csv", index=False)
    ok("fit", tmp_path / "t.csv", "-o", tmp_path / "tt.skb", *model, "--categorical", "code")
    ok("sample", tmp_path / "tt.skb", "-n", 6, "-o", tmp_path / "ts.csv")
    assert set(pd.read_csv(tmp_path / "ts.csv")["code"]) <= set(make_table(80)["code"])
    ok("score", tmp_path / "tt.skb", tmp_path / "t.csv")


def test_fit_with_a_checkpoint_resumes_and_cleans_up(tmp_path, monkeypatch):
    from skbridge import load
    from skbridge.models import _training

    X = np.random.default_rng(0).normal(size=(120, 3))
    np.save(tmp_path / "x.npy", X)
    ckpt = tmp_path / "fit.ckpt"
    fit = ("fit", tmp_path / "x.npy", "--max-iter", 60, "--checkpoint", ckpt)
    ok(*fit, "-o", tmp_path / "plain.skb")  # uninterrupted
    assert not ckpt.exists()
    save = _training.Checkpoint.save

    def killed_after_the_third_check(self, trainer, run_index, done, extra=None):
        save(self, trainer, run_index, done, extra)
        if done == 9:
            raise KeyboardInterrupt

    monkeypatch.setattr(_training.Checkpoint, "save", killed_after_the_third_check)
    assert cli.main([*map(str, fit), "-o", str(tmp_path / "resumed.skb"), "-q"]) == 130
    assert ckpt.exists()
    monkeypatch.setattr(_training.Checkpoint, "save", save)
    ok(*fit, "-o", tmp_path / "resumed.skb")  # the same command again resumes
    assert not ckpt.exists()
    a, b = load(tmp_path / "plain.skb"), load(tmp_path / "resumed.skb")
    np.testing.assert_array_equal(a.sample(9, random_state=0), b.sample(9, random_state=0))
    ok(*fit, "-o", tmp_path / "sb.skb", "--model", "sbvae")  # SBVAE checkpoints too
    assert (tmp_path / "sb.skb").exists() and not ckpt.exists()


def test_sample_refuses_npy_for_series_of_different_lengths(tmp_path):
    from skbridge import ScoreSDE, save
    from skbridge.data import make_sines

    X = make_sines(40, length=(4, 6), n_channels=2, random_state=0)
    save(ScoreSDE(max_iter=5, n_steps=4, random_state=0).fit(X), tmp_path / "m.skb")
    r = run("sample", "m.skb", "-n", 3, "-o", "out.npy", cwd=tmp_path)
    assert r.returncode != 0 and "different lengths" in r.stderr
    assert not (tmp_path / "out.npy").exists()
