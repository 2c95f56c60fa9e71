"""Every script in examples/ runs to the end in quick mode (``SKBRIDGE_QUICK=1``: tiny data
and budgets, the mode the docs gallery is built in). A new example is picked up by the glob."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))

# what an example needs beyond the test extra, by file name
NEEDS = {"molecules.py": ("rdkit", "qm9pack")}


def test_examples_are_found():
    assert {"quickstart.py", "tabular.py"} <= {p.name for p in EXAMPLES}


# slow: 12-22 s per example as a subprocess on a shared 2-core machine (about 5 s of it
# imports), 2 minutes for the six
@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_in_quick_mode(script, tmp_path):
    for module in ("matplotlib", *NEEDS.get(script.name, ())):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{script.name} needs {module}")
    env = {
        **os.environ,
        "SKBRIDGE_QUICK": "1",
        "MPLBACKEND": "Agg",
        # one torch thread: the tiny quick-mode networks gain nothing from more, and two
        # threads next to other work on a 2-core machine made them several times slower
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # anything an example writes lands here
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{script.name} failed in quick mode (exit {result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
