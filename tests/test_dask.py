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


def run_recipe(tmp_path, expr, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return subprocess.run([sys.executable, str(ROOT / "examples" / "dask_points.py"), expr,
                           "points-*.csv", "out-*.csv"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


def test_dask_recipe_carries_other_columns_through_as_written(tmp_path):
    """Columns other than the variables come out as the text they were (007, 1e5, a word, a
    number in one file and a word in the next), as the command line writes them."""
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    files = {"points-0.csv": "id,x,y,note\n007,1,2,keep\n1e5,0.5,-1,c\n",
             "points-1.csv": "id,x,y,note\n3,2,2,5\n"}
    p = run_recipe(tmp_path, "x*y", files)
    assert p.returncode == 0, p.stderr[-2000:]
    for k in range(2):
        cli = subprocess.run([sys.executable, "-m", "cgcalc", "diff", "x*y", "--points",
                              f"points-{k}.csv", "--format", "csv"], cwd=tmp_path,
                             capture_output=True, text=True, check=True).stdout.splitlines()
        got = (tmp_path / f"out-{k}.csv").read_text().splitlines()
        assert got == cli


@pytest.mark.parametrize("files, message", [
    ({"points-0.csv": "x,y,value\n1,2,keep\n"}, "a column is named 'value'"),
    ({"points-0.csv": "x,y,d/dx\n1,2,3\n"}, "a column is named 'd/dx'"),
    ({"points-0.csv": "x,z\n1,2\n"}, "no column for the variable 'y'"),
    ({"points-0.csv": "x,y\n1,abc\n"}, "could not convert string to float: 'abc'"),
])
def test_dask_recipe_refuses_what_the_command_line_refuses(tmp_path, files, message):
    """An input column named as an output (it was overwritten), a variable without a column,
    an entry that is not a number: exit 2 and a message, no traceback."""
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    p = run_recipe(tmp_path, "x*y", files)
    assert p.returncode == 2, p.stderr[-2000:]
    assert p.stderr.startswith("error: points-*.csv: ") and message in p.stderr
    assert "Traceback" not in p.stderr
