"""The README's recipe for points beyond one machine (examples/dask_points.py): Dask reads many
CSV files, a local cluster of worker processes computes each partition with a cgcalc Function
(which pickles as its text), and the files written have exactly the columns and numbers of
`cgcalc diff --points`."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPR = "exp(sin(x*y)) * log(1 + x^2) + id*0"


def test_dask_recipe_writes_what_the_command_line_writes(tmp_path):
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    rng = np.random.default_rng(0)
    for k in range(3):
        rows = ["id,x,y"] + [f"{k * 100 + i},{rng.normal():.6f},{rng.normal():.6f}"
                             for i in range(50)]
        (tmp_path / f"points-{k}.csv").write_text("\n".join(rows) + "\n")
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_points.py"), EXPR,
                        "points-*.csv", "out-*.csv"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    for k in range(3):
        cli = subprocess.run([sys.executable, "-m", "cgcalc", "diff", EXPR, "--points",
                              f"points-{k}.csv", "--format", "csv"], cwd=tmp_path,
                             capture_output=True, text=True, check=True).stdout.splitlines()
        got = (tmp_path / f"out-{k}.csv").read_text().splitlines()
        assert got[0] == cli[0] == "id,x,y,value,d/dx,d/dy,d/did"
        ours = np.array([[float(v) for v in line.split(",")] for line in got[1:]])
        want = np.array([[float(v) for v in line.split(",")] for line in cli[1:]])
        assert np.allclose(ours, want, rtol=1e-12, atol=0)
