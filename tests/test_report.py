"""skbridge.report: the metrics respond to what they measure, figures and the HTML page."""

import os
import re
import shutil

import numpy as np
import pytest

from skbridge import report

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")


def table(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    c = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    x = rng.normal(size=n) + 2.0 * (c == "b") + shift
    return pd.DataFrame({"x": x, "y": x + rng.normal(size=n), "c": c, "k": rng.integers(0, 5, n)})


@pytest.fixture(scope="module")
def tables():
    return table(300, 0), table(300, 1), table(300, 2)  # train, real (held out), synthetic


def test_table_report_has_every_metric_and_figure(tables):
    train, real, syn = tables
    rep = report(real, syn, train=train, target="c")
    names = [m.name for m in rep.metrics]
    assert names == ["c2st", "column_shapes", "pair_trends", "dcr_share", "ml_efficiency_gap"]
    # the same law: each metric near its ideal, within generous sampling noise for 300 rows
    assert 0.35 < rep["c2st"] < 0.65
    assert rep["column_shapes"] > 0.85 and rep["pair_trends"] > 0.85
    assert abs(rep["dcr_share"] - 0.5) < 0.1
    assert abs(rep["ml_efficiency_gap"]) < 0.1
    assert set(rep.details["column_shapes"]) == {"x", "y", "c", "k"}
    titles = [t for t, _ in rep.figures]
    assert len(titles) == 4 and titles[0].startswith("Column distributions")
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for _, png in rep.figures)
    assert rep.notes == []
    text = rep.summary()
    assert "c2st" in text and "ideal 0.5" in text


def test_table_metrics_see_a_shift_and_copies(tables):
    train, real, _ = tables
    shifted = report(real, table(300, 3, shift=1.5), figures=False)
    same = report(real, table(300, 3), figures=False)
    assert shifted["c2st"] > same["c2st"] + 0.2
    assert shifted["column_shapes"] < same["column_shapes"] - 0.1
    # synthetic rows that are copies of training rows: all strictly closer to train
    copies = report(real, train.sample(300, random_state=0), train=train, figures=False)
    assert copies["dcr_share"] > 0.95
    assert "dcr" in copies.details
    no_train = report(real, train, figures=False)
    assert "dcr_share" not in no_train.as_dict()
    assert any("memorisation" in n for n in no_train.notes)


def test_series_tokens_and_graphs_reports():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 16)
    real = np.sin(t[None, :, None] + rng.uniform(0, 6, (60, 1, 2)))
    noise = rng.normal(size=(60, 16, 2))
    rep = report(real, real + 0.0 * noise, figures=True, random_state=0)
    bad = report(real, noise, figures=False, random_state=0)
    assert rep.kind == "series" and len(rep.figures) == 2
    assert rep["autocorrelation_error"] == pytest.approx(0.0, abs=1e-12)
    assert bad["autocorrelation_error"] > 0.3 and bad["std_error"] > 0.1
    assert bad["discriminative_score"] > rep["discriminative_score"]

    seqs = ["".join(rng.choice(list("ACGT"), rng.integers(5, 9))) for _ in range(80)]
    rep = report(seqs[:40], seqs[40:], train=seqs[:40])
    assert rep.kind == "tokens" and len(rep.figures) == 1
    assert rep["exact_copies"] == 0.0 and rep["kmer_jsd"] < 0.2
    assert report(seqs[:40], seqs[:40], train=seqs[:40], figures=False)["exact_copies"] == 1.0

    nx = pytest.importorskip("networkx")
    cycles = [nx.cycle_graph(6 + i % 3) for i in range(10)]
    stars = [nx.star_graph(6 + i % 3) for i in range(10)]
    rep = report(cycles, cycles)
    assert rep.kind == "graphs" and len(rep.figures) == 2
    assert rep["degree_mmd"] == pytest.approx(0.0, abs=1e-9)
    assert report(cycles, stars, figures=False)["degree_mmd"] > 0.1


def test_mismatched_inputs_are_refused(tables):
    train, real, _ = tables
    with pytest.raises(ValueError, match="synthetic data is series"):
        report(real, np.zeros((5, 4, 1)))
    with pytest.raises(ValueError, match="target applies to tables"):
        report(np.zeros((5, 4, 1)), np.zeros((5, 4, 1)), target=0)
    with pytest.raises(ValueError, match="missing"):
        report(real, real.drop(columns="y"), figures=False)


def test_html_is_self_contained(tables, tmp_path):
    train, real, syn = tables
    rep = report(real, syn, train=train)
    page = rep.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == page
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    # no external resource: every src is an embedded image
    srcs = re.findall(r"src='([^']*)'", page)
    assert len(srcs) == len(rep.figures) and all(s.startswith("data:image/png") for s in srcs)
    assert "href=" not in page
    assert "<td>c2st</td>" in page
    assert rep._repr_html_().startswith("<div>")


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(
    not (BROWSER and DRIVER) and not os.environ.get("SKBRIDGE_REQUIRE_BROWSER"),
    reason="headless Chromium and chromedriver are not installed (CI installs them)",
)
def test_report_renders_in_a_headless_browser(tables, tmp_path):
    """Each kind's page (table, series, tokens, graphs) loads in Chromium without console
    errors, every figure decodes and is shown, and every metric has its row."""
    webdriver = pytest.importorskip("selenium.webdriver")
    nx = pytest.importorskip("networkx")
    from selenium.webdriver.chrome.service import Service

    train, real, syn = tables
    rng = np.random.default_rng(0)
    series = np.sin(np.linspace(0, 6, 16)[None, :, None] + rng.uniform(0, 6, (60, 1, 2)))
    seqs = ["".join(rng.choice(list("ACGT"), rng.integers(5, 9))) for _ in range(80)]
    cycles = [nx.cycle_graph(6 + i % 3) for i in range(10)]
    stars = [nx.star_graph(6 + i % 3) for i in range(10)]
    reports = {
        "table": report(real, syn, train=train, target="c"),
        "series": report(series[:30], series[30:], random_state=0),
        "tokens": report(seqs[:40], seqs[40:], train=seqs[:40]),
        "graphs": report(cycles, stars),
    }
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        for kind, rep in reports.items():
            assert rep.kind == kind and rep.figures
            path = tmp_path / f"{kind}.html"
            rep.to_html(path)
            driver.get(path.as_uri())
            assert driver.title == f"skbridge report: {kind}"
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
                "i.naturalHeight, i.getBoundingClientRect().width])"
            )
            assert len(images) == len(rep.figures), kind
            for complete, width, height, shown in images:
                assert complete and width > 100 and height > 100 and shown > 0, kind
            rows = driver.execute_script("return document.querySelectorAll('tbody tr').length")
            assert rows >= len(rep.metrics), kind
            logs = driver.get_log("browser")
            assert [e for e in logs if e["level"] in ("SEVERE", "WARNING")] == [], kind
        assert len(reports["table"].figures) == 4
    finally:
        driver.quit()


def test_c2st_sees_as_many_synthetic_rows_as_real_ones(tables, monkeypatch):
    import skbridge.metrics as metrics

    seen = []
    real_c2st = metrics.c2st

    def recording(real, synthetic, **kw):
        seen.append((len(real), len(synthetic)))
        return real_c2st(real, synthetic, **kw)

    monkeypatch.setattr(metrics, "c2st", recording)
    _, real, _ = tables
    report(real.iloc[:120], table(1000, 5), figures=False)
    report(table(1000, 5), real.iloc[:120], figures=False)
    assert seen == [(120, 120), (120, 120)]


def test_series_of_different_lengths_get_a_clear_error():
    from skbridge.data import make_sines

    X = make_sines(30, length=(4, 6), n_channels=2, random_state=0)
    with pytest.raises(ValueError, match="real holds series of different lengths"):
        report(X, X, figures=False)
