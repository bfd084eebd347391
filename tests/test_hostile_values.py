"""Hostile input, the values: no silent wrong answers. CSV is read exactly as Python's csv
module reads it (carried-through columns included) or refused with exit 2 naming the record's
line; numbers of every magnitude in every input channel are either used exactly or, when not
finite, refused with exit 2 and the place; every JSON output is JSON (no NaN, no Infinity);
every symbolic derivative printed is an expression in the same variables; a first row with a
typo is never taken for a header; ``-x^2`` is an expression, ``pi`` a constant."""

import csv
import io
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import cgcalc
from cgcalc.cli import main
from test_derive import EXPRS

ROOT = Path(__file__).resolve().parents[1]
XOR = (ROOT / "examples" / "xor.net").read_text()
BIG = "1" + "0" * 400
NEAR = str(2 ** 1024 - 1)  # below 2**1024, yet too large for a float
PLACE = re.compile(r"error: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")
XOR_PARAMS = {"theta1": [[5.87, -7.54], [5.88, -7.62], [-9.08, 3.17]],
              "theta2": [[-13.88], [-13.62], [6.76]]}
FAST = settings(max_examples=12, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def strict_json(text):
    """json.loads that refuses NaN, Infinity and -Infinity: they are not JSON."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def place_of(err):
    """(file, line, column) of an ``error: file:line:column:`` message, after checking the
    message is a clean refusal with the source line and a caret under it."""
    assert err.startswith("error:"), err[:300]
    assert "Traceback" not in err and "internal error" not in err, err[:600]
    m = PLACE.match(err)
    assert m, f"no file:line:column: in {err.splitlines()[0]!r}"
    lines = err.splitlines()
    i = next((k for k, text in enumerate(lines[1:], 1) if text.startswith(f"  {m['line']} | ")),
             None)
    assert i is not None and i + 1 < len(lines) and re.fullmatch(r" *\^+", lines[i + 1]), err
    return m["file"], int(m["line"]), int(m["col"])


def clean_refusal(r, names=None):
    assert r.exit_code == 2, f"exit {r.exit_code}: {r.stderr[:300]!r} {r.stdout[:200]!r}"
    assert r.stderr.startswith("error:"), r.stderr[:300]
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr[:600]
    if names:
        assert names in r.stderr.splitlines()[0], r.stderr[:300]


def finite(text):
    try:
        return math.isfinite(float(text))
    except (ValueError, OverflowError):
        return False


# -- CSV exactly as the csv module reads it -------------------------------------------------------

def _is_number(field):
    try:
        float(field)
        return True
    except ValueError:
        return False


def reference(text):
    """What the csv module makes of ``text``: (header, [(line, record)] of the good records
    before the first bad one, the bad record's first line or None). A record is bad when csv
    refuses it or its field count differs from the header's."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, header = [], None
    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            return header, rows, None
        except csv.Error:
            return header, rows, start
        if not rec:
            continue
        if header is None:
            header = rec
            continue
        if len(rec) != len(header):
            return header, rows, start
        rows.append((start, rec))


FIELD_TEXT = st.text(st.sampled_from(list("ab ,\"\n#;")), max_size=6)


@st.composite
def csv_inputs(draw):
    """A CSV text: a header naming x, y and a note (in any order), rows whose note holds
    quotes, commas and newlines, each field written quoted properly, quoted always, or raw
    (which may make the record unreadable or of the wrong length), blank lines here and there."""
    names = draw(st.permutations(["x", "y", "note"]))

    def write(field, how):
        if how == "raw":
            return field
        if how == "all" or any(c in field for c in ',"\n') or field != field.strip():
            return '"' + field.replace('"', '""') + '"'
        return field

    lines = [",".join(write(n, draw(st.sampled_from(["minimal", "all"]))) for n in names)]
    for _ in range(draw(st.integers(0, 12))):
        values = {"x": str(draw(st.integers(-9, 9))), "y": str(draw(st.integers(-9, 9)) / 4),
                  "note": draw(FIELD_TEXT)}
        how = {n: draw(st.sampled_from(["minimal", "minimal", "all", "raw"])) if n == "note"
               else draw(st.sampled_from(["minimal", "all"])) for n in names}
        lines.append(",".join(write(values[n], how[n]) for n in names))
        if draw(st.integers(0, 9)) == 0:
            lines.append("")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(text=csv_inputs())
@example(text='x,y,note\n1,2,"a\n\nb"\n3,4,c\n')        # a blank line inside a quoted field
@example(text='x,y,note\n1,2,a"b\n3,4,c\n')             # a quote inside an unquoted field
@example(text='x,y,note\n1,2,a\n3,4,"b\n5,6,c\n')       # a quote never closed
@example(text='note,x,y\n"a\nb\nc",1,2\n"d,e",3,4\n')   # newlines and commas inside quotes
@example(
    text='x,note,y\n0,,\n,0.0\n\n',
).via('discovered failure')
def test_csv_points_are_read_as_the_csv_module_reads_them(text):
    header, rows, bad = reference(text)
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=text)
    out = list(csv.reader(io.StringIO(r.stdout, newline=""), strict=True))
    k = len(header)
    if bad is None and r.exit_code == 0:
        assert out[0][:k] == header
        got = [rec for rec in out[1:] if rec]
        assert [rec[:k] for rec in got] == [rec for _, rec in rows], \
            "the carried-through fields differ from the csv module's"
        for rec in got:
            row = dict(zip(header, rec))
            assert float(rec[k]) == float(row["x"]) * float(row["y"])
        return
    assert r.exit_code == 2, (f"exit {r.exit_code}; the csv module finds a bad record at line "
                              f"{bad}:\n{text}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    name, line, col = place_of(r.stderr)
    assert name == "<stdin>" and col >= 1, r.stderr
    if bad is not None and line != bad:  # refused earlier: only for a value, not a number
        row = dict(zip(header, dict(rows)[line]))
        assert not all(_is_number(row[v]) for v in ("x", "y")), \
            f"refused at line {line}; the bad record starts on line {bad}:\n{text}"
        before = [rec for n, rec in rows if n < line]
    elif bad is not None:
        before = [rec for _, rec in rows]
    else:  # valid CSV refused: allowed, but at a record's line, after the records before it
        assert line in [n for n, _ in rows], f"line {line} is no record's line:\n{text}"
        before = [rec for n, rec in rows if n < line]
    assert [rec[:k] for rec in out[1:] if rec] == before, \
        "the rows before the bad one are not (all) written"


def test_duplicate_variable_columns_are_refused():
    for header in ("x,y,x", "x,y,y", "y,x,x,id"):
        r = run("diff", "x*y", "--points", "-", "--format", "csv", input=f"{header}\n1,2,3,4\n")
        clean_refusal(r)
        assert place_of(r.stderr)[1] == 1


def test_a_duplicate_column_that_is_not_a_variable_is_carried_through():
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input="id,x,y,id\na,2,3,b\n")
    if r.exit_code == 0:
        assert list(csv.reader(io.StringIO(r.stdout)))[1][:5] == ["a", "2", "3", "b", "6.0"]
    else:
        clean_refusal(r)


# -- numbers of every magnitude in every channel --------------------------------------------------

NUMBERS = st.one_of(
    st.floats().map(repr),
    st.integers(-(2 ** 1100), 2 ** 1100).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-420, 420)),
    st.integers(2 ** 1023, 2 ** 1024 + 2 ** 980).map(str),
)


def edges(test):
    """The numbers every run tries, whatever hypothesis draws."""
    for text in ["nan", "inf", "-inf", "1e400", "-1e400", BIG, NEAR, "-" + NEAR, "1e-400",
                 "1.7976931348623157e+308", "5e-324", "-0.0"]:
        test = example(text=text)(test)
    return test


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_as_expression_literals(text):
    r = run("diff", f"x*({text})", "--at", "x=1", "--format", "json")
    if text.lstrip("-") in ("nan", "inf"):  # names, not numbers: variables without values
        clean_refusal(r)
        return
    if finite(text):
        assert r.exit_code == 0, r.stderr
        assert strict_json(r.stdout)["derivatives"]["x"]["value"] == float(text)
    else:
        clean_refusal(r)
        name, line, col = place_of(r.stderr)
        assert (name, line) == ("<expr>", 1) and 4 <= col < 4 + len(text), r.stderr


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_given_with_at(text):
    r = run("diff", "x*y", "--at", f"x={text},y=1", "--format", "json")
    if finite(text):
        assert r.exit_code == 0, r.stderr
        doc = strict_json(r.stdout)
        assert doc["value"] == float(text) and doc["derivatives"]["y"]["value"] == float(text)
    else:
        clean_refusal(r)
        assert place_of(r.stderr)[:2] == ("--at", 1)


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_in_csv_points(text):
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=f"x,y\n1,1\n{text},1\n")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    if finite(text):
        assert r.exit_code == 0, r.stderr
        assert rows[2][0] == text and float(rows[2][2]) == float(text)
    else:
        clean_refusal(r)
        assert place_of(r.stderr) == ("<stdin>", 3, 1)
        assert len(rows) == 2  # the header and the good row


def json_number(text):
    try:
        v = strict_json(text)
    except ValueError:
        return None
    return v if isinstance(v, (int, float)) and finite(v) else None


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_in_json_lines_points(text):
    r = run("diff", "x*y", "--points", "-", "--format", "json",
            input=f'{{"x": 1, "y": 1}}\n{{"x": {text}, "y": 1}}\n')
    lines = r.stdout.splitlines()
    want = json_number(text)
    if want is not None:
        assert r.exit_code == 0, r.stderr
        assert strict_json(lines[1])["value"] == float(want)
    else:
        clean_refusal(r)
        assert place_of(r.stderr)[:2] == ("<stdin>", 2)
        assert len(lines) == 1


LINE_NET = """input  x[1]
target y[1]
param  a[1, 1] ~ uniform(0, 0)
param  b[1, 1] ~ uniform(0, 0)
P = x @ a + b
C = mse(P, y)
output   P
minimize C
{data}
train epochs=1 rate=0.1 seed=0
"""


def line_gradients(r):
    assert r.exit_code == 0, r.stderr
    ders = strict_json(r.stdout)["derivatives"]
    return ders["a"]["value"][0][0], ders["b"]["value"][0][0]


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_in_a_network_data_block(text, tmp_path_factory):
    d = tmp_path_factory.mktemp("block")
    (d / "n.net").write_text(LINE_NET.format(data=f"data {{\n  0 -> 1\n  {text} -> 1\n}}"))
    r = run("diff", d / "n.net", "--format", "json")
    if finite(text):  # a = b = 0: dC/da = x'(P - y)/m = -x2/2, dC/db = -1
        assert line_gradients(r) == (-float(text) / 2, -1.0)
    else:
        clean_refusal(r)
        name, line, col = place_of(r.stderr)
        assert name.endswith("n.net") and (line, col) == (11, 3), r.stderr


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_in_a_data_file(text, tmp_path_factory):
    d = tmp_path_factory.mktemp("datafile")
    (d / "n.net").write_text(LINE_NET.format(data='data "d.csv"'))
    (d / "d.csv").write_text(f"x,y\n0,1\n{text},1\n")
    r = run("diff", d / "n.net", "--format", "json")
    if finite(text):
        assert line_gradients(r) == (-float(text) / 2, -1.0)
    else:
        clean_refusal(r)
        name, line, col = place_of(r.stderr)
        assert name.endswith("d.csv") and (line, col) == (3, 1), r.stderr


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_in_a_params_file(text, tmp_path_factory):
    d = tmp_path_factory.mktemp("params")
    (d / "n.net").write_text(LINE_NET.format(data="data {\n  0 -> 1\n  2 -> 1\n}"))
    (d / "q.json").write_text(f'{{"a": [[0]], "b": [[{text}]]}}')
    r = run("predict", d / "n.net", "--params", d / "q.json", "--format", "json")
    want = json_number(text)
    if want is not None:
        assert r.exit_code == 0, r.stderr
        assert [strict_json(line)["P"] for line in r.stdout.splitlines()] == [float(want)] * 2
    else:
        clean_refusal(r, names="q.json")


def positive(text):
    return finite(text) and float(text) > 0


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_as_a_train_option_in_the_file(text, tmp_path_factory):
    d = tmp_path_factory.mktemp("option")
    (d / "n.net").write_text(LINE_NET.format(data="data {\n  0 -> 1\n  2 -> 1\n}")
                             .replace("rate=0.1", f"rate={text}"))
    r = run("train", d / "n.net", "-q", "--format", "json")
    if positive(text):  # it trains, or diverges (exit 1) with a message; JSON either way
        assert r.exit_code in (0, 1), r.stderr
        if r.exit_code == 0:
            strict_json(r.stdout)
        else:
            assert r.stderr.startswith("error: training diverged"), r.stderr
    else:
        clean_refusal(r)
        name, line, _ = place_of(r.stderr)
        assert name.endswith("n.net") and line == 13, r.stderr


@FAST
@given(text=NUMBERS)
@edges
def test_numbers_as_train_and_check_flags(text, tmp_path_factory):
    d = tmp_path_factory.mktemp("flag")
    (d / "n.net").write_text(LINE_NET.format(data="data {\n  0 -> 1\n  2 -> 1\n}"))
    r = run("train", d / "n.net", "-q", "--format", "json", "--rate", text)
    if positive(text):
        assert r.exit_code in (0, 1), r.stderr
        if r.exit_code == 0:
            strict_json(r.stdout)
    else:
        clean_refusal(r, names="--rate")
    r = run("check", "x^2", "--at", "x=1", "--format", "json", "--tolerance", text)
    if finite(text) and float(text) >= 0:
        assert r.exit_code in (0, 1), r.stderr
        strict_json(r.stdout)
    else:
        clean_refusal(r, names="--tolerance")


# -- JSON out is JSON; symbolic derivatives are expressions in the same variables -----------------

@pytest.mark.parametrize("args", [
    ["diff", "exp(sin(x^2))", "--at", "x=1"],
    ["diff", "x*y + sin(x*y)"],
    ["diff", "x^2*y^3", "--order", "2", "--at", "x=1,y=2"],
    ["diff", "x*1e308*10"],
    ["diff", "x*1e308*10", "--at", "x=2"],
    ["diff", "x*(1e308 + 1e308)", "--at", "x=1"],
    ["diff", "exp(710)*x"],
    ["diff", "x*exp(1000)/exp(1000)"],
    ["diff", "x*1e-320/1e-320", "--at", "x=1"],
    ["diff", "xor.net"],
    ["diff", "line.net"],
    ["check", "xor.net"],
    ["check", "exp(x)", "--at", "x=700"],
    ["train", "xor.net", "-q", "--epochs", "5"],
], ids=lambda args: " ".join(args))
def test_every_json_output_is_json_and_every_symbolic_form_an_expression(args, tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("xor.net", "line.net", "line.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    r = run(*args, "--format", "json")
    assert r.exit_code in (0, 1, 2), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if r.exit_code != 0:
        assert r.stderr.startswith("error:"), r.stderr
        if r.stdout.strip():
            strict_json(r.stdout)
        return
    doc = strict_json(r.stdout)
    if args[0] == "diff" and not args[1].endswith(".net"):
        variables = set(cgcalc.function(args[1]).variables)
        for name, d in doc["derivatives"].items():
            printed = d["symbolic"]
            got = set(cgcalc.function(printed).variables) if printed.strip() else set()
            assert got <= variables, (f"d/d{name} printed as {printed!r}: variables {got}, "
                                      f"not among {variables}")
        r = run(*args, "--format", "plain")
        for line in r.stdout.splitlines():
            printed = line.split(" = ")[1]
            assert set(cgcalc.function(printed).variables) <= variables, line


@pytest.mark.parametrize("src, fmt", [
    ('{"x": 1000}\n{"x": 1}\n{"x": -3}\n', "json"),
    ("x\n1000\n1\n-1\n", "json"),
    ("x\n-1000\n1\n", "json"),
], ids=["jsonl-overflow-and-domain", "csv-overflow", "csv-domain"])
def test_points_json_lines_out_are_json_and_lost_values_are_announced(src, fmt):
    """exp(1000) and log(-1) have no float value: each such row is written as JSON (null) and
    announced on standard error, never silently."""
    r = run("diff", "exp(x) + log(x + 2)", "--points", "-", "--format", fmt, input=src)
    assert r.exit_code == 0, r.stderr
    rows = [strict_json(line) for line in r.stdout.splitlines()]
    lost = [k + 1 for k, row in enumerate(rows)
            if any(v is None for key, v in row.items() if key != "x")]
    assert lost, "the test expects rows without a float value"
    warnings = r.stderr.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning:"), r.stderr
    assert str(len(lost)) in warnings[0].split("row")[0], (lost, warnings[0])


def test_predict_json_lines_are_json(tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    r = run("predict", tmp_path / "xor.net", "--params", tmp_path / "p.json", "--format", "json",
            "--points", "-", input="0 1\n1e300 -1e300\n")
    assert r.exit_code == 0, r.stderr
    rows = [strict_json(line) for line in r.stdout.splitlines()]
    assert len(rows) == 2 and 0.99 < rows[0]["L3"] < 1


# -- first rows with typos; rows that read as numbers are never a header --------------------------

@pytest.mark.parametrize("rows", [b"0 1O\n1 0\n", b"nan inf\n1 0\n", b"inf nan\n0 1\n"],
                         ids=["typo", "nan-inf", "inf-nan"])
def test_a_first_row_of_numbers_or_typos_is_never_a_header(rows, tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    r = run("predict", tmp_path / "xor.net", "--params", tmp_path / "p.json", "--points", "-",
            "--format", "csv", input=rows)
    clean_refusal(r)
    assert place_of(r.stderr)[:2] == ("<stdin>", 1)
    assert r.stdout == ""


def test_a_header_of_names_is_still_a_header(tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    r = run("predict", tmp_path / "xor.net", "--params", tmp_path / "p.json", "--points", "-",
            "--format", "csv", input="X1 X2\n0 1\n1 1\n")
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3


# -- -x^2 is an expression; constants stay constants ----------------------------------------------

def plain_value(stdout, name="d/dx"):
    for line in stdout.splitlines():
        if line.startswith(name + " = "):
            return float(line.rsplit(" = ", 1)[1])
    raise AssertionError(f"no {name} in {stdout!r}")


@pytest.mark.parametrize("args, want", [
    (["diff", "-x^2", "--at", "x=2"], -4.0),
    (["diff", "--at", "x=2", "-x^2"], -4.0),
    (["diff", "-x^3", "--at", "x=2"], -12.0),
    (["diff", "-sin(x)", "--at", "x=0"], -1.0),
    (["diff", "-x", "--at", "x=5"], -1.0),
    (["diff", "-2*x^2", "--at", "x=1"], -4.0),
    (["diff", "2*-x^2", "--at", "x=3"], -12.0),
])
def test_a_leading_minus_is_an_expression_not_an_option(args, want):
    r = run(*args, "--format", "plain")
    assert r.exit_code == 0, r.stderr
    assert plain_value(r.stdout) == want


def test_a_leading_minus_in_graph_and_check():
    r = run("graph", "-x*y", "--format", "dot")
    assert r.exit_code == 0 and r.stdout.startswith("digraph"), r.stderr
    r = run("check", "-x^3", "--at", "x=2", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert strict_json(r.stdout)["ok"] is True


@pytest.mark.parametrize("expr", ["pi = 3; pi*x", "e = 2\ne*x", "pi = x; pi^2"])
def test_constants_cannot_be_rebound(expr):
    r = run("diff", expr, "--at", "x=1", "--format", "plain")
    clean_refusal(r)
    assert place_of(r.stderr)[0] == "<expr>"


@pytest.mark.parametrize("expr, x, want", [
    ("pi*x", 1, math.pi), ("e^x", 1, math.e), ("x^2^2", 2, 32.0), ("x**3", 2, 12.0),
    ("x^-2", 2, -0.25), ("log(x, 2)", 4, 1 / (4 * math.log(2))), (".5*x + 1e-3*x", 1, 0.501),
    ("sin(x)*cos(x) + sin(x)", 0.5, math.cos(1.0) + math.cos(0.5)),
    ("exp(sin(x^2))", 1, 2 * math.cos(1) * math.exp(math.sin(1))),
])
def test_values_against_calculus_by_hand(expr, x, want):
    r = run("diff", expr, "--at", f"x={x}", "--format", "plain")
    assert r.exit_code == 0, r.stderr
    assert math.isclose(plain_value(r.stdout), want, rel_tol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch", [[], ["--batch", "7"]])
def test_training_that_diverges_says_so_in_one_line(optimizer, batch, tmp_path):
    """--rate 1e10: the steps overflow; what the user sees is the one line saying training
    diverged (exit 1), never numpy's RuntimeWarning and the source line it quotes (the
    minibatch steps printed both)."""

    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    np.savetxt(tmp_path / "many.csv", np.hstack([X, X @ [[1.5], [-2.0]] + 0.1]), delimiter=",")
    (tmp_path / "many.net").write_text(
        "input X[2]\ntarget y[1]\nparam w[3, 1] ~ normal(0, 0.1)\nP = [X, 1] @ w\n"
        "C = mse(P, y)\nminimize C\ndata \"many.csv\"\n")
    p = subprocess.run([sys.executable, "-m", "cgcalc", "train", "many.net", "-q", "--rate",
                        "1e10", "--epochs", "50", "--optimizer", optimizer, *batch, "--format",
                        "json"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "Warning" not in p.stderr and "Traceback" not in p.stderr, p.stderr
    if p.returncode:  # Adam's steps are bounded by the rate: it may not diverge at all
        assert p.returncode == 1 and p.stderr.startswith("error: training diverged"), p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    else:
        assert optimizer == "adam" and p.stderr == "", p.stderr


@pytest.mark.parametrize("text, x", [
    ("sqrt(x)", "1e-9"), ("log(x)", "0.0001"), ("log(x)", "1e-12"), ("asin(x)", "0.9999"),
    ("acos(x)", "-0.99999"), ("sqrt(1 - x^2) + log(x)", "0.99995"), ("log(x) * y", "2e-7"),
    ("sqrt(x)", "1e-300"), ("log(x)", "1e-15"), ("x*log(x)", "3.7e-200"),
])
def test_check_near_the_edge_of_a_domain_steps_inside_it(text, x):
    """A valid point close to where the function stops being defined: the finite difference's
    step is made small enough to stay inside (it crossed 0 and failed, naming an input the user
    never gave), never past an edge at 0 (at most |x|/4); the check passes."""
    at = f"x={x}" + (",y=1.5" if "y" in text else "")
    r = CliRunner().invoke(main, ["check", text, "--at", at, "--format", "plain"])
    assert r.exit_code == 0, r.output
    assert r.output.strip().endswith("ok")


@pytest.mark.parametrize("text, x", [("asin(x)", "0.9999999999"),
                                     ("sqrt(x - 0.9999999999999)", "1"),
                                     ("sqrt(x - 99.99999999) + y", "100"),
                                     ("exp(x)", "709.7827128933839"),
                                     ("sqrt(x) + sqrt(y)", "1e-300")])
def test_check_where_no_step_fits_says_so(text, x):
    """An edge (or overflow) nearer than any step that rounding in x ± h leaves exact (1e-8 of
    |x|), or a step that fits but whose change rounding hides (sqrt(1e-300) beside sqrt(2)):
    exit 1, saying the check cannot be made there and why, never a difference of rounding
    errors called out of tolerance, nor a domain fault at a number the user did not give."""
    at = f"x={x}" + (",y=2" if "y" in text else "")
    r = CliRunner().invoke(main, ["check", text, "--at", at, "--format", "plain"])
    assert r.exit_code == 1, r.output
    assert r.output.startswith(f"error: cannot check d/dx at x = {float(x)!r} by finite "
                               "differences"), r.output
    assert "no step h keeps x ± h where the function is finite" in r.output
    assert "internal" not in r.output


@pytest.mark.parametrize("text", ["sin(x)", "cos(x)", "sin(x)^2", "exp(sin(x))", "sin(x)*cos(3*x)",
                                  "tanh(x/1000)", "x^3 - 2*x", "exp(x/1e6)", "atan(x)*sin(x)"])
@pytest.mark.parametrize("x", ["100", "1000", "-1000", "123456.7", "1e6"])
def test_check_passes_correct_gradients_far_from_0(text, x):
    """Smooth functions whose own scale is 1 at points far from 0: the first step (1e-3 of
    |x|: 1 at x = 1000) is far too large for sin, and the difference is extrapolated to a step
    of 0 (it was taken as it came: 0.5457 against sin'(1000) = 0.5624, "out of tolerance")."""
    r = CliRunner().invoke(main, ["check", text, "--at", f"x={x}", "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, st.floats(-100, 100), st.floats(-100, 100), st.floats(-100, 100))
def test_check_passes_the_derivatives_of_random_smooth_functions(text, x, y, z):
    """What check says of cgcalc's own (correct: tests/test_derive.py) derivatives of smooth
    functions at points up to 100 from 0: ok, wherever the value is finite."""
    from cgcalc.derive import check_gradients
    from cgcalc.errors import CgcalcError
    from cgcalc.graph import parse
    from cgcalc.render.check import check_summary

    from cgcalc.derive import Analysis

    g = parse(text)
    point = {v: {"x": x, "y": y, "z": z}[v] for v in g.variables}
    try:  # the value or a derivative may overflow there: not for check to mend
        Analysis(g, list(g.variables), point).adjoints()
    except CgcalcError:
        return
    rows = check_gradients(g, point)  # never "cannot check" of a smooth function
    # sin(x^9) at 10 turns in less than the least step x ± h can take (1e-8 of x): no finite
    # difference can follow it
    assume(all(abs(rev) * max(1.0, abs(point[v])) <= 1e4 for v, _, rev, _, _ in rows))
    assert check_summary(rows, 1e-9, 1e-6)[1], rows


@pytest.mark.parametrize("text, x", [
    ("abs(x)", "1e-3"), ("abs(x)", "-1e-3"), ("relu(x)", "1e-8"), ("relu(x)", "-1e-8"),
    ("abs(x - 3)*sin(x)", "3.0001"), ("relu(2*x - 1) + x^2", "0.5000001"),
    ("step(x)*x^2", "1e-6"), ("sign(x - 1)*exp(x)", "1.00001"), ("log(safe(x))", "2e-12"),
    ("abs(sin(x))", "3.14159"), ("relu(1000*x - 1)", "0.0010001"),
])
def test_check_beside_a_bend_never_steps_across_it(text, x):
    """Beside the point where abs, relu, step, sign or safe bends, the first step is a quarter
    of the distance there, from the bending node's input and its rate of change (a step across
    the bend made abs(x) at 1e-3 come out 1.1667, relu(x) at 1e-8 come out 0.5)."""
    r = CliRunner().invoke(main, ["check", text, "--at", f"x={x}", "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@pytest.mark.parametrize("text, x", [("abs(x)", "0"), ("relu(x - 2)", "2"), ("sign(x)*x", "0"),
                                     ("step(3 - x) + x", "3"), ("relu(sin(x))", "0")])
def test_check_on_a_bend_with_two_slopes_says_it_cannot(text, x):
    """On a bend whose slopes differ the derivative is a convention (abs'(0) = 0): exit 1,
    saying which function bends there and its two slopes, never a table that calls the
    convention out of tolerance."""
    r = CliRunner().invoke(main, ["check", text, "--at", f"x={x}", "--format", "plain"])
    assert r.exit_code == 1, r.output
    assert r.output.startswith(f"error: cannot check d/dx at x = {float(x)!r}: ")
    assert "bends there: " in r.output and "out of tolerance" not in r.output


@pytest.mark.parametrize("text, x", [("relu(x)^2", "0"), ("x*abs(x)", "0"), ("abs(x)^3", "0"),
                                     ("step(x)*x^2", "0"), ("abs(x - 1)*0 + x", "1"),
                                     ("relu(x - 2)^2*sin(x)", "2"), ("sign(x^2 - 1e-7)*x", "0")])
def test_check_on_a_bend_with_one_slope_passes(text, x):
    """A bend the function does not feel (relu(x)^2 at 0: the slopes from the left and the
    right are both 0), or one whose input does not move at the point (x^2 - 1e-7 at 0, its
    rate 0: the step is halved while that input is on the other side at x ± h): checked."""
    r = CliRunner().invoke(main, ["check", text, "--at", f"x={x}", "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@pytest.mark.parametrize("text, at", [("relu(x) + 1e13", "x=0"), ("abs(x) + y", "x=0,y=1e16"),
                                      ("relu(x)*1e6 + 1e20", "x=0"), ("sign(x)", "x=0"),
                                      ("x + y", "x=0,y=1e16")])
def test_check_where_rounding_hides_the_slopes_says_it_cannot(text, at):
    """Beside 1e13 or 1e16 the slopes of relu and abs are lost in rounding, and a jump has no
    slope: they looked alike (0 and 1 within their errors), and check passed relu's convention.
    Exit 1, cannot check, never ok."""
    r = CliRunner().invoke(main, ["check", text, "--at", at, "--format", "plain"])
    assert r.exit_code == 1, r.output
    assert r.output.startswith("error: cannot check d/dx at x = 0.0"), r.output


@pytest.mark.parametrize("text, x", [("1/x", "1e-150"), ("1/x", "1e-4"), ("1/x^3", "-1e-5"),
                                     ("1/x + sin(x)", "2e-5"), ("-1/(3*x)", "1e-100")])
def test_check_never_steps_across_a_pole_at_0(text, x):
    """A first step of 1e-3 beside x = 1e-150 crossed 1/x's pole at 0, where f is finite on
    both sides (numeric 2,959,999.99 against -1e300): where f changes sign across 0 the step
    is at most |x|/4, as at an edge of a domain there."""
    r = CliRunner().invoke(main, ["check", text, "--at", f"x={x}", "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@pytest.mark.parametrize("text, at", [("abs(y)^3 + sin(x)", "x=1e10,y=0"),
                                      ("relu(y)^2 + x^2", "x=3,y=0"),
                                      ("sum_of_squares", "")])
def test_a_bend_in_one_variable_leaves_the_others_alone(text, at):
    """A bend where y is (abs(y) at y = 0) is no bend of x: x's difference is the usual one
    (it was taken from the sides, from a first step of 1e-3 of 1e10). And a sum of squares at
    0, every derivative 0, stops at two agreeing first steps (it tried all twelve: 6.5 s for
    100 variables)."""
    if text == "sum_of_squares":
        text = " + ".join(f"x{i}^2" for i in range(100)) + " + x^2"
        at = ",".join(f"x{i}=0" for i in range(100)) + ",x=0"
    r = CliRunner().invoke(main, ["check", text, "--at", at, "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@pytest.mark.parametrize("text, x, what", [("abs(x - 5e-324)", "0", "abs"),
                                           ("relu(sin(x))", "3.1415926535897", "relu"),
                                           ("safe(x - 1)", "1", "safe"),
                                           ("abs(sin(x))", "3.141592653589793", "abs")])
def test_check_too_near_a_bend_says_so(text, x, what):
    """A bend nearer than any step rounding leaves exact: exit 1 naming the bend (it said "no
    step keeps x ± 2h where the function is finite", of a function finite everywhere, or
    divided by a step of 0: internal error)."""
    r = CliRunner().invoke(main, ["check", text, "--at", f"x={x}", "--format", "plain"])
    assert r.exit_code == 1, r.output
    assert r.output.startswith(f"error: cannot check d/dx at x = {float(x)!r} by finite "
                               f"differences: {what}() bends "), r.output
    assert "internal" not in r.output


@pytest.mark.parametrize("text, x", [("1.5e308*x", "1"), ("sin(x)", "1e10"), ("1e300*x^2", "2"),
                                     ("cos(x)", "-3e9")])
def test_check_near_the_largest_numbers(text, x):
    """Values near 1e308 (a tableau of differences multiplied them past it: numeric inf) and
    points of 1e10 (steps below 1e-8 of x were never tried: sin came out 1.7e-8): checked."""
    r = CliRunner().invoke(main, ["check", text, "--at", f"x={x}", "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@pytest.mark.parametrize("a, b", [("1e6", "0"), ("0", "1e6"), ("-3e7", "2e5"), ("1e-9", "1e8")])
def test_check_of_a_network_with_large_params(a, b, tmp_path):
    """Params of 1e6 and more: a step of 1e-6 changes a cost of 1e12 by less than rounding
    does, so the step grows until rounding is a billionth of the difference (b came out
    1,999,511 against 1,999,995: "out of tolerance")."""
    for name in ("line.net", "line.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    (tmp_path / "p.json").write_text(json.dumps({"a": [[float(a)]], "b": [[float(b)]]}))
    r = CliRunner().invoke(main, ["check", str(tmp_path / "line.net"), "--params",
                                  str(tmp_path / "p.json"), "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@pytest.mark.parametrize("example", ["xor.net", "line.net", "first.net", "delay.net"])
def test_a_file_whose_lines_end_in_cr_alone_reads_as_with_lf(example, tmp_path):
    """Old Mac line endings (CR alone): the lines are the file's, as with LF or CRLF; it was
    read as one line (a network "declared no param", without a place)."""
    for f in (ROOT / "examples").iterdir():
        shutil.copy(f, tmp_path / f.name)
    text = (ROOT / "examples" / example).read_text()
    for ending, name in (("\r", "cr.net"), ("\r\n", "crlf.net")):
        (tmp_path / name).write_bytes(text.replace("\n", ending).encode())
    outs = [CliRunner().invoke(main, ["diff", str(tmp_path / name), "--format", "plain"])
            for name in (example, "cr.net", "crlf.net")]
    assert all(r.exit_code == 0 for r in outs), [r.output for r in outs]
    assert outs[0].output == outs[1].output == outs[2].output


def test_a_program_whose_lines_end_in_cr_alone_is_placed_by_its_lines(tmp_path):
    (tmp_path / "p.txt").write_bytes(b"a = x\rb = a*2\r\rb + 1")
    r = CliRunner().invoke(main, ["diff", str(tmp_path / "p.txt"), "--format", "plain"])
    assert r.exit_code == 0 and r.output == "d/dx = 2\n", r.output
    (tmp_path / "bad.txt").write_bytes(b"a = x\rb = a*2\r\rc = (b\r+ 1")
    r = CliRunner().invoke(main, ["diff", str(tmp_path / "bad.txt"), "--format", "plain"])
    assert r.exit_code == 2 and r.output.startswith("error: "), r.output
    assert ":5:" in r.output.splitlines()[0] and "+ 1" in r.output, r.output


def test_a_cr_alone_ends_a_line_in_an_argument_and_in_the_apis_text_as_in_a_file():
    """The same program given as an argument, to cgcalc.function and to a Network, with lines
    ended by a CR alone: read as in a file (it was "unexpected 'b'" on line 1)."""
    import cgcalc
    from cgcalc.net import Network

    text = "a = x\rb = a*2\r\rb + 1"
    r = CliRunner().invoke(main, ["diff", text, "--format", "plain"])
    assert r.exit_code == 0 and r.output == "d/dx = 2\n", r.output
    assert cgcalc.function(text).grad(x=1.0) == {"x": 2.0}
    r = CliRunner().invoke(main, ["diff", "a = x\rb = a*2\r\rc = (b\r+ 1", "--format",
                                  "plain"])
    assert r.exit_code == 2 and ":5:" in r.output.splitlines()[0], r.output
    net = (ROOT / "examples" / "xor.net").read_text()
    assert Network(net.replace("\n", "\r"), "x.net").params == Network(net, "x.net").params


# -- exact numbers past the floats ----------------------------------------------------------------

# x^(2^1030): the simplifier's exponent is an exact integer of 311 digits, past what a float holds
SQUARES = "\n".join(["y1 = x*x"] + [f"y{i + 1} = y{i}*y{i}" for i in range(1, 1030)])


@pytest.mark.parametrize("fmt", ["plain", "json", "csv", "latex", "rich"])  # (dot: no derivative)
def test_an_exact_number_past_the_floats_is_an_overflow_in_every_format(fmt, tmp_path):
    (tmp_path / "sq.cg").write_text(SQUARES)
    r = run("diff", str(tmp_path / "sq.cg"), "--at", "x=0.5", "--format", fmt)
    assert r.exit_code == 1, r.output
    assert "the result is too large (overflow)" in r.stderr, r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("order", ["1", "2"])
def test_an_exact_number_past_the_floats_is_infinite_on_many_points(order, tmp_path):
    """On many points (and in training, export, the API) such a number is what numpy makes of
    it, infinite: the rows are written, the ones not finite announced."""
    (tmp_path / "sq.cg").write_text(SQUARES)
    r = run("diff", str(tmp_path / "sq.cg"), "--points", "-", "--order", order,
            input="x\n0.5\n2\n")
    assert r.exit_code == 0, r.stderr
    rows = r.stdout.splitlines()
    assert len(rows) == 3 and rows[1].startswith("0.5,0.0,")
    assert "internal error" not in r.stderr


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_an_exact_number_past_the_floats_is_not_exported(backend, tmp_path):
    """Written as inf, x^(2^1030 - 1) would lose its sign at -1 and be nan at 0.5: export
    says so (exit 1) and writes nothing."""
    (tmp_path / "sq.cg").write_text(SQUARES)
    r = run("export", str(tmp_path / "sq.cg"), "--to", backend, "-o", str(tmp_path / "sq.py"))
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("error: cannot export ") and "311 digits" in r.stderr, r.stderr
    assert not (tmp_path / "sq.py").exists() and r.stdout == ""


# -- an edge without a value where the derivative has one -----------------------------------------

FORMS = ["plain", "csv", "json", "latex", "rich", "dot"]


@pytest.mark.parametrize("expr, x, want", [
    ("x^0", "0", 0.0),  # the rule's 0*x^-1 at 0
    ("sqrt(x) - sqrt(x)", "0", 0.0),  # two edges 1/(2*sqrt(x)) at 0
    ("x/x", "1e200", 0.0),  # x^2 overflows in the rule for the denominator
    ("sqrt(x)", "0", None),  # the derivative itself has none: every form fails
    ("x^x", "0", None),
    ("log(x)*0 + x", "-1", None),  # the function itself has none
    ("sqrt(x^2)", "0", None), ("asin(x)", "1", None), ("(-x)^0.5", "0", None),
])
def test_every_form_gives_the_derivative_or_fails_alike(expr, x, want):
    """Whether a run fails, and the derivative it gives, depend on the derivative, never on
    the form it is shown in (an edge that has no value at the point is shown as such)."""
    runs = {fmt: run("diff", expr, "--at", f"x={x}", "--format", fmt) for fmt in FORMS}
    for fmt in ("dot", "tree", "mermaid"):  # the picture of the graph at the point, too
        runs[f"graph {fmt}"] = run("graph", expr, "--at", f"x={x}", "--format", fmt)
    if want is None:
        for fmt, r in runs.items():
            assert r.exit_code == 1, (fmt, r.output)
            assert r.stderr.startswith("error:") and "internal error" not in r.stderr, fmt
        assert len({r.stderr.splitlines()[0] for r in runs.values()}) == 1  # the same fault
        return
    for fmt, r in runs.items():
        assert r.exit_code == 0, (fmt, r.stderr)
    assert runs["plain"].stdout.strip().endswith(f"= {want!r}")
    row = dict(zip(*[line.split(",") for line in runs["csv"].stdout.splitlines()]))
    assert float(row["d/dx"]) == want
    doc = json.loads(runs["json"].stdout)
    assert strict_json(runs["json"].stdout) is not None
    assert [d["value"] for d in doc["derivatives"].values()] == [want]


@pytest.mark.parametrize("equation", ["P = x @ a + b*(1/0)", "P = x @ a + b/(1 - 1)",
                                      "P = x @ a + b*(0/0)", "P = x @ a*(2 - 2)^(0 - 1) + b",
                                      "P = (x @ a + b)/(3 - 3)"])
@pytest.mark.parametrize("command", ["train", "check", "diff", "predict"])
def test_a_network_dividing_by_a_constant_zero(equation, command, tmp_path):
    """A step made of constants only runs once, on Python numbers, where 1.0/0 raises
    ZeroDivisionError (train said "internal error"): inf, as on arrays, so the run ends as
    any other whose numbers are not finite (training diverged: exit 1), never a traceback."""
    for name in ("line.net", "line.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    text = (tmp_path / "line.net").read_text()
    text = re.sub(r"(?m)^P = .*$", equation, text)
    (tmp_path / "z.net").write_text(text)
    (tmp_path / "p.json").write_text(json.dumps({"a": [[0.5]], "b": [[0.25]]}))
    args = {"train": ["--epochs", "3", "-q"], "check": ["--params", "p.json"],
            "diff": ["--format", "json"], "predict": ["--params", "p.json"]}[command]
    p = subprocess.run([sys.executable, "-m", "cgcalc", command, "z.net", *args], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert "internal error" not in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert p.returncode in (0, 1), p.stderr
    if p.returncode:
        assert p.stderr.startswith("error: "), p.stderr


@pytest.mark.parametrize("equation, a, b", [("P = sin(x @ a + b)*1e4", 3.0, 5.0),
                                            ("P = sin(30*(x @ a + b))*1e3", 3.0, 5.0),
                                            ("P = exp(x @ a + b)", 2.0, 10.0),
                                            ("P = sigmoid(x @ a + b)*1e6", 1e6, -3e6)])
def test_check_of_a_network_with_a_curved_cost(equation, a, b, tmp_path):
    """Curved costs, large and small: the step grows only while rounding the cost could move
    the difference by more than 1e-8 of it, so a curve's own error stays small."""
    for name in ("line.net", "line.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    text = re.sub(r"(?m)^P = .*$", equation, (tmp_path / "line.net").read_text())
    (tmp_path / "c.net").write_text(text)
    (tmp_path / "p.json").write_text(json.dumps({"a": [[a]], "b": [[b]]}))
    r = CliRunner().invoke(main, ["check", str(tmp_path / "c.net"), "--params",
                                  str(tmp_path / "p.json"), "--format", "json"])
    doc = json.loads(r.output.splitlines()[0])
    assert r.exit_code == 0 and doc["ok"], r.output


@pytest.mark.parametrize("number, shown", [("1" + "0" * 400 + ".5", "… (403 characters)"),
                                           ("1" + "0" * 500, "… (501 digits)"),
                                           ("1e400", "1e400")])
def test_a_number_too_large_is_shown_cut_with_its_length(number, shown, tmp_path):
    """A number of 403 characters was shown as its first 40 with nothing to say so: it read as
    1e39, "too large for a float"."""
    p = tmp_path / "p.json"
    p.write_text('{"theta1": [[%s, 0], [0, 0], [0, 0]], "theta2": [[0], [0], [0]]}' % number)
    r = CliRunner().invoke(main, ["predict", str(ROOT / "examples" / "xor.net"), "--params",
                                  str(p)])
    assert r.exit_code == 2, r.output
    first = r.stderr.splitlines()[0]
    assert first.endswith(f"{shown} is too large for a float"), first


def test_an_empty_data_file_is_named_once(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "e.net").write_text("input X[2]\ntarget y[1]\nparam w[3, 1] ~ normal(0, 0.5)\n"
                                    "A = sigmoid([X, 1] @ w)\nC = cross_entropy(A, y)\n"
                                    "minimize C\ndata \"empty.csv\"\n")
    r = CliRunner().invoke(main, ["train", str(tmp_path / "e.net")])
    assert r.exit_code == 2 and r.stderr == f"error: {tmp_path / 'empty.csv'}: no data rows\n"
