"""Hostile input, the place: every kind of bad input exits 2 (never 1 "internal error", never a
traceback) with ``error:`` and, where the fault has a place, ``file:line:column:``, the source
line and a caret under the fault; exit 1 is only for a run that fails otherwise (a check out of
tolerance, training that diverged, a value outside a function's domain at the point). Expressions, --at, --wrt, --points (CSV and JSON
Lines), params files, network files, data files, flags; random bytes as an expression and as a
network file. The cases come from a catalogue of attacks on the old version (issue 10)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgcalc.cli import main

ROOT = Path(__file__).resolve().parents[1]
XOR = (ROOT / "examples" / "xor.net").read_text()
LINE = (ROOT / "examples" / "line.net").read_text()
BIG = "1" + "0" * 400  # 10**400 written out: too large for a float
NEAR = str(2 ** 1024 - 1)  # an integer below 2**1024 that still does not fit a float
DEEP = 100_000
XOR_PARAMS = {"theta1": [[5.87, -7.54], [5.88, -7.62], [-9.08, 3.17]],
              "theta2": [[-13.88], [-13.62], [6.76]]}
PLACE = re.compile(r"error: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")


def short(value):
    """Test ids: long inputs cut short."""
    if isinstance(value, (str, bytes)) and len(value) > 24:
        return f"{value[:16]!r}..{len(value)}"
    return None


def cases(names, values):
    return pytest.mark.parametrize(names, values, ids=short)


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def refused(code, err, *, file=None, line=None, col=None, caret=None, full=True, names=None):
    """Exit 2, ``error:``, no traceback or internal error; with ``full`` the place: the file,
    line and column, the source line numbered as the message says, a caret line under it (and
    under ``caret`` when given)."""
    assert code == 2, f"exit {code}, expected 2; stderr: {err[:400]!r}"
    assert err.startswith("error:"), err[:400]
    assert "Traceback" not in err and "internal error" not in err, err[:600]
    first = err.splitlines()[0]
    if names is not None:
        assert names in first, f"the message does not name {names!r}: {first!r}"
    if not full:
        return
    m = PLACE.match(first)
    assert m, f"no file:line:column: in {first!r}"
    if file is not None:
        assert m["file"] == file or m["file"].endswith("/" + file), (m["file"], file)
    if line is not None:
        assert int(m["line"]) == line, f"line {m['line']}, expected {line}: {first!r}"
    if col is not None:
        assert int(m["col"]) == col, f"column {m['col']}, expected {col}: {first!r}"
    assert int(m["col"]) >= 1, f"column {m['col']} (columns count from 1): {first!r}"
    lines = err.splitlines()
    gutter = f"  {m['line']} | "
    src = [i for i, text in enumerate(lines[1:], 1) if text.startswith(gutter)]
    assert src, f"no source line numbered {m['line']} under the message:\n{err}"
    i = src[0]
    assert i + 1 < len(lines) and re.fullmatch(r" *\^+", lines[i + 1]), \
        f"no caret line under the source line:\n{err}"
    if caret is not None:
        k = lines[i + 1].index("^")
        under = lines[i][k] if k < len(lines[i]) else "(past the end)"
        assert under == caret, f"the caret is under {under!r}, not {caret!r}:\n{err}"


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A directory holding the examples (xor.net, line.net, line.csv) and xor's params."""
    monkeypatch.chdir(tmp_path)
    for name in ("xor.net", "line.net", "line.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    return tmp_path


def xor_with(old, new):
    assert old in XOR, old
    return XOR.replace(old, new, 1)


# -- expressions ----------------------------------------------------------------------------------

@cases("expr, col, caret", [
    ("x +", None, None), ("x)", 2, ")"), ("(x", None, None), ("x y", 3, "y"),
    ("x * / y", 5, "/"), ("x $ y", 3, "$"), ("foo(x)", 1, "f"), ("sin(x, y)", 1, "s"),
    ("sin()", 1, "s"), ("x^", None, None), ("v =", None, None), ("x;;+", None, None),
    ("1.2.3*x", None, None), ("x*1e400", 3, "1"), ("1e400*x", 1, "1"),
    (f"x*{BIG}", 3, "1"), (f"x*{NEAR}", 3, "1"), ("x*-1e999", None, None),
    ("pi = 3; pi*x", 1, "p"), ("e = 2; e*x", 1, "e"), ("sin = 2; sin*x", 1, "s"),
    ("__import__('os').system('touch PWNED')", None, None),
    ("x\u2028+ 1", 2, None), ("x + \x00 1", 5, None),
])
def test_expression_faults_have_their_place(expr, col, caret, work):
    r = run("diff", expr, "--at", "x=1", "--format", "plain")
    refused(r.exit_code, r.stderr, file="<expr>", line=1, col=col, caret=caret)
    assert not (work / "PWNED").exists()


@cases("expr", ["1/0", "log(0)", "0^-1", "exp(1000)", "2*pi"])
def test_an_expression_without_variables_is_bad_input_not_a_failed_run(expr):
    """Nothing to differentiate is bad input (2), whatever the constant's value would be; exit
    status 1 is for a run at a point that fails."""
    r = run("diff", expr, "--format", "plain")
    refused(r.exit_code, r.stderr, file="<expr>", line=1)


@cases("expr", ["", "# nothing", "  \n\n"])
def test_empty_programs_are_refused(expr):
    r = run("diff", expr, "--format", "plain")
    refused(r.exit_code, r.stderr, full=False)


@cases("content, line, col, caret", [
    (b"v = x^2\nf = v \x00+ 1\n", 2, 7, None),                       # NUL
    (b"x^2\nx + \xc3\n", 2, 5, None),                                 # invalid UTF-8
    ("v = x^2\nf = \ufeffv + 1\n".encode(), 2, 5, None),             # a BOM inside
    ("# note\u2028more\nv = x^2\nf = v +)\n".encode(), 3, 8, ")"),   # U+2028 in a comment
    (b"v = x \x0c+ 1\nf = v +)\n", 2, 8, ")"),                        # a form feed
    (b"v = x \r+ 1\nf = v +)\n", 3, 8, ")"),                          # a lone CR: a line end
    (b"v = x^2\r\nf = v +)\r\n", 2, 8, ")"),                          # CRLF
    (("x" + "+x" * 10_000 + " +)\n").encode(), 1, 20_004, ")"),  # a long line: a window
    (("(" * 20_000 + "x + * y" + ")" * 20_000 + "\n").encode(), 1, 20_005, "*"),
    (("(" * 20_000 + "x" + ")" * 19_999 + "\n").encode(), 1, None, None),
])
def test_program_files_the_line_shown_is_the_line_named(content, line, col, caret, work):
    (work / "f.cg").write_bytes(content)
    r = run("diff", "f.cg", "--format", "plain")
    refused(r.exit_code, r.stderr, file="f.cg", line=line, col=col, caret=caret)


def test_program_on_stdin_with_a_nul():
    r = run("diff", "-", "--format", "plain", input=b"x^2 +\x00 1\n")
    refused(r.exit_code, r.stderr, file="<stdin>", line=1, col=6)


@cases("at, caret", [
    ("x", "x"), ("x=", None), ("=1", None), ("x=1,,y=2", None), ("z=1", "z"),
    ("x=abc", "a"), ("x=1e400", "1"), (f"x={BIG}", "1"), (f"x={NEAR}", "1"),
    ("x=10**400", "1"), ("x=exp(1000)", "e"), ("x=nan", "n"), ("x=inf", "i"),
    ("x=-inf", "-"), ("x=1/0", "1"), ("x=1+", None), ("x=__import__('os')", None),
])
def test_at_faults_point_into_the_option(at, caret):
    r = run("diff", "x^2", "--at", at, "--format", "plain")
    refused(r.exit_code, r.stderr, file="--at", line=1, caret=caret)


def test_a_value_given_twice_points_at_the_second():
    r = run("diff", "x^2", "--at", "x=1", "--at", "x=2", "--format", "plain")
    refused(r.exit_code, r.stderr, file="--at", line=1, caret="x")


def test_a_variable_without_a_value_points_into_the_expression():
    r = run("diff", "x*y", "--at", "x=1", "--format", "plain")
    refused(r.exit_code, r.stderr, file="<expr>", line=1, col=3, caret="y")


@cases("args", [["diff", "x^2", "--wrt", "z"],
                                  ["graph", "x^2", "--wrt", "z"],
                                  ["diff", "xor.net", "--wrt", "theta3"],
                                  ["graph", "xor.net", "--wrt", "L3"]])
def test_wrt_faults_point_at_the_name(args, work):
    r = run(*args)
    refused(r.exit_code, r.stderr, file="--wrt", line=1, caret=args[-1][0])


# -- --points -------------------------------------------------------------------------------------

CSV = ["diff", "x*y", "--points", "-", "--format", "csv"]
JSONL = ["diff", "x*y", "--points", "-", "--format", "json"]


@cases("src, line, col, caret", [
    (b"x,y\n1,2\n3,4\n5,zz\n", 4, 3, "z"),
    (b"x,y\n1,2\n3\n", 3, 1, None),
    (b"x,z\n1,2\n", 1, 1, None),
    (b"x,y,x\n1,2,3\n", 1, 5, "x"),
    (b"x,y\n1,2\n3,\xff4\n", 3, 3, None),
    (b"x,y\n1,2\x00\n", 2, None, None),
    (b"x,y\n1e400,2\n", 2, 1, "1"),
    (f"x,y\n{BIG},2\n".encode(), 2, 1, "1"),
    (f"x,y\n1,{NEAR}\n".encode(), 2, 3, "1"),
    (b"x,y\nnan,2\n", 2, 1, "n"),
    (b"x,y\n1,-inf\n", 2, 3, "-"),
    (b"x,y\n1,Infinity\n", 2, 3, "I"),
    (b"x,y,id\n1,2,a\n3,4,\"b\n5,6,c\n", 3, None, None),  # a quote opened on line 3, never closed
    (b"x,y,id\n1,2,a\"b\n3,4,\"c\n", 3, None, None),
    (b"x,y\n1,2\n\"3\"4,5\n", 3, None, None),
])
def test_csv_points_faults(src, line, col, caret):
    r = run(*CSV, input=src)
    refused(r.exit_code, r.stderr, file="<stdin>", line=line, col=col, caret=caret)


def test_csv_with_cr_line_ends_is_read_or_refused_with_a_place():
    r = run(*CSV, input=b"x,y\r1,2\r3,4\r")
    if r.exit_code == 0:
        assert [row.split(",")[2] for row in r.stdout.splitlines()[1:]] == ["2.0", "12.0"]
    else:
        refused(r.exit_code, r.stderr, file="<stdin>")


@cases("src, line, col", [
    (b'{"x": 1, "y": 2}\n{"x": 1, "y": }\n', 2, 15),
    (b'{"x": 1, "y": 2}\n[1, 2]\n', 2, None),
    (b'{"x": "1", "y": 2}\n', 1, None),
    (b'{"x": true, "y": 2}\n', 1, None),
    (b'{"x": null, "y": 2}\n', 1, None),
    (b'{"x": ' + b"[" * DEEP + b"]" * DEEP + b', "y": 1}\n', 1, None),
    (('{"x": ' + BIG + ', "y": 1}\n').encode(), 1, None),
    (('{"x": ' + NEAR + ', "y": 1}\n').encode(), 1, None),
    (('{"x": -' + NEAR + ', "y": 1}\n').encode(), 1, None),
    (b'{"x": NaN, "y": 2}\n', 1, None),
    (b'{"x": Infinity, "y": 2}\n', 1, None),
    (b'{"x": 1e400, "y": 2}\n', 1, None),
    (b'{"x": 1, "y": 2, "x": 3}\n', 1, None),
    (b'{"x": 1, "y": 2}\n{"x": 1, "y": 2, "\xff": 1}\n', 2, None),
])
def test_json_lines_points_faults(src, line, col):
    r = run(*JSONL, input=src)
    refused(r.exit_code, r.stderr, file="<stdin>", line=line, col=col)


def test_jsonl_forced_on_csv():
    r = run("diff", "x*y", "--points", "-", "--input-format", "jsonl", "--format", "json",
            input=b"x,y\n1,2\n")
    refused(r.exit_code, r.stderr, file="<stdin>", line=1, col=1)


@cases("name, setup", [("none.csv", None), ("adir", "dir")])
def test_points_that_cannot_be_read(name, setup, work):
    if setup == "dir":
        (work / name).mkdir()
    r = run("diff", "x", "--points", name, "--format", "csv")
    refused(r.exit_code, r.stderr, full=False, names=name)


# -- params files ---------------------------------------------------------------------------------

PREDICT = ["predict", "xor.net", "--params", "q.json", "--format", "csv"]


def params_text(theta2_first):
    """xor's params as the JSON a person writes, one row a line: theta2's first entry given."""
    return ('{\n  "theta1": [[5.87, -7.54], [5.88, -7.62], [-9.08, 3.17]],\n'
            f'  "theta2": [[{theta2_first}],\n             [-13.62], [6.76]]\n}}\n')


@cases("value", ["NaN", "Infinity", "-Infinity", "1e400", BIG, NEAR, "null",
                                   "true", '"1"', "[1]"])
def test_params_entry_that_is_not_a_finite_number_is_placed(value, work):
    """The place is the line of the entry (or of its param's key, the same line here)."""
    (work / "q.json").write_text(params_text(value))
    r = run(*PREDICT)
    refused(r.exit_code, r.stderr, file="q.json", line=3)


@cases("text, line, col", [
    ('{"theta1": [[1, 2],\n [3 4]]}', 2, 5),
    ("", 1, 1),
])
def test_params_syntax_errors(text, line, col, work):
    (work / "q.json").write_text(text)
    r = run(*PREDICT)
    refused(r.exit_code, r.stderr, file="q.json", line=line, col=col)


@cases("doc, key", [
    ({**XOR_PARAMS, "theta3": [[1.0]]}, "theta3"),                      # a key too many
    ({**XOR_PARAMS, "theta1": [[1, 1], [1, 1]]}, "theta1"),              # the wrong shape
    ({**XOR_PARAMS, "theta1": [[1, 1], [1], [1, 1]]}, "theta1"),         # ragged
])
def test_params_wrong_keys_and_shapes_are_placed(doc, key, work):
    items = list(doc.items())
    (work / "q.json").write_text("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}"
                                                     for k, v in items) + "\n}\n")
    r = run(*PREDICT)
    refused(r.exit_code, r.stderr, file="q.json", line=[k for k, _ in items].index(key) + 2,
            caret='"')


def test_params_duplicate_key_points_at_the_second(work):
    (work / "q.json").write_text('{\n "theta1": [[1,1],[1,1],[1,1]],\n "theta2": [[1],[2],[3]],\n'
                                 ' "theta1": [[2,2],[2,2],[2,2]]\n}\n')
    r = run(*PREDICT)
    refused(r.exit_code, r.stderr, file="q.json", line=4, caret='"')


@cases("content", [
    json.dumps({"theta1": XOR_PARAMS["theta1"]}),   # theta2 missing
    "[1, 2, 3]", "[" * DEEP + "]" * DEEP, '{"theta1": ' + "[" * DEEP + "]" * DEEP + "}",
    b'{"theta1": [[1,1],[1,1],[1,1]], "theta2": [[1],[2],[3]], "\xff": 1}',
])
def test_params_files_that_are_not_the_networks_are_refused(content, work):
    (work / "q.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    r = run(*PREDICT)
    refused(r.exit_code, r.stderr, full=False, names="q.json")


def test_params_of_another_network(work):
    shutil.copy(ROOT / "examples" / "and.net", work / "and.net")
    r = run("predict", "and.net", "--params", "p.json", "--format", "csv")
    refused(r.exit_code, r.stderr, full=False, names="p.json")


@cases("setup", ["missing", "dir"])
def test_params_file_that_cannot_be_read(setup, work):
    if setup == "dir":
        (work / "q.json").mkdir()
    r = run(*PREDICT)
    refused(r.exit_code, r.stderr, full=False, names="q.json")


# -- network files --------------------------------------------------------------------------------

INIT = "uniform(-1, 1)     # 2 inputs"
L2 = "L2 = [sigmoid(L1 @ theta1), 1]"
TRAIN_LINE = "train epochs=10000 rate=0.5 seed=2"


@cases("old, new, line, caret", [
    ("L3 = sigmoid(L2 @ theta2)", "L3 = sigmoid(L2 @ @ theta2)", 10, "@"),
    (INIT, "foo(-1, 1) #", 5, "f"),
    (INIT, "normal(0, -1) #", 5, None),
    (INIT, "uniform(1, -1) #", 5, None),
    (INIT, "uniform(1e400, 1) #", 5, None),
    (INIT, f"normal(0, {BIG}) #", 5, None),
    (INIT, f"normal(0, {NEAR}) #", 5, None),
    (INIT, "normal(0, nan) #", 5, None),
    (INIT, "uniform(-1e308, 1e308) #", 5, None),  # each finite, the width past the floats
    (INIT, "uniform(-1.7e308, 1.7e308) #", 5, None),
    (INIT, "normal(0, 2e307) #", 5, None),  # draws past the floats
    (INIT, "normal(-1.7e308, 1e306) #", 5, None),
    (INIT, "__import__('os').system('touch PWNED') #", 5, None),
    (L2, "L2 = [cols(sigmoid(L1 @ theta1), 0, 2.5), 1]", 9, None),
    (L2, "L2 = [cols(sigmoid(L1 @ theta1), -1, 2), 1]", 9, None),
    (L2, "L2 = [cols(sigmoid(L1 @ theta1), 0, 1e400), 1]", 9, None),
    (L2, "L2 = [cols(sigmoid(L1 @ theta1), 2, 0), 1]", 9, None),
    ("epochs=10000", "epochs=1e400", 23, "e"),
    ("epochs=10000", "epochs=2.5", 23, "e"),
    ("epochs=10000", "epochs=-1", 23, "e"),
    ("rate=0.5", "rate=1e400", 23, "r"),
    ("rate=0.5", "rate=nan", 23, "r"),
    ("rate=0.5", "rate=0", 23, "r"),
    ("seed=2", "seed=1e400", 23, "s"),
    ("seed=2", "seed=-1", 23, "s"),
    ("seed=2", "sed=2", 23, "s"),
    (TRAIN_LINE, "train epochs=10 epochs=20", 23, "e"),
    (TRAIN_LINE, "train epochs=10\ntrain epochs=20", 24, None),
    ("  0 1 -> 1", "  0 1 1 -> 1", 18, None),
    ("  0 1 -> 1", "  0 1 -> 1 -> 1", 18, None),
    ("  0 1 -> 1", "  0 1e400 -> 1", 18, "1"),
    ("  0 1 -> 1", f"  0 {BIG} -> 1", 18, "1"),
    ("  0 1 -> 1", f"  0 {NEAR} -> 1", 18, "1"),
    ("  0 1 -> 1", "  0 nan -> 1", 18, "n"),
    ("  0 1 -> 1", "  0 1 -> -inf", 18, "-"),
    ("  0 0 -> 0", "  0 1O -> 0", 17, "1"),   # a typo on the first row: never a header
    ("L1 = [X, 1]", "m = [X, 1]", 8, "m"),
    ("L1 = [X, 1]", "pi = [X, 1]", 8, "p"),
    ("L1 = [X, 1]", "L1 = [X,\x00 1]", 8, None),
    ("output   L3", "output   L3\noutput   L2", 14, None),
    ("minimize C", "D = sum(L3)\nminimize C\nminimize D", 16, None),
    ("data {", 'data "rows.csv"\ndata {', 17, None),
])
def test_network_file_faults(old, new, line, caret, work):
    (work / "t.net").write_text(xor_with(old, new))
    (work / "rows.csv").write_text("1,1,1\n")
    r = run("train", "t.net", "-q", "--epochs", "5", "--format", "plain")
    refused(r.exit_code, r.stderr, file="t.net", line=line, caret=caret)
    assert not (work / "PWNED").exists()


def test_network_file_with_invalid_utf8(work):
    (work / "t.net").write_bytes(XOR.encode().replace(b"L1 = [X, 1]", b"L1 = [X, 1] # caf\xe9"))
    r = run("train", "t.net", "-q", "--epochs", "5")
    refused(r.exit_code, r.stderr, file="t.net", line=8)


@cases("args", [["train", "e.net", "-q"], ["diff", "e.net"]])
def test_empty_network_file(args, work):
    (work / "e.net").write_text("")
    r = run(*args)
    refused(r.exit_code, r.stderr, full=False)


@cases("cmd", ["train", "diff", "check", "graph"])
def test_a_directory_named_like_a_network(cmd, work):
    (work / "d.net").mkdir()
    r = run(cmd, "d.net")
    refused(r.exit_code, r.stderr, full=False, names="d.net")
    assert "director" in r.stderr.splitlines()[0]


def test_a_missing_network_file(work):
    r = run("train", "none.net", "-q")
    refused(r.exit_code, r.stderr, full=False, names="none.net")


# -- data files -----------------------------------------------------------------------------------

@pytest.fixture
def lnet(work):
    (work / "l.net").write_text(LINE.replace('"line.csv"', '"l.csv"'))
    return work


@cases("rows, line, col", [
    (b"x,y\n0,1\n1,zz\n", 3, 3),
    (b"x,y\n0,1\n1,1e400\n", 3, 3),
    (b"x,y\n0,1\n1,-1e999\n", 3, 3),
    (b"x,y\n0,1\n1,nan\n", 3, 3),
    (b"x,y\n0,1\n1,\xff\n", 3, 3),
    (b"0.0,1.1O\n0.5,1.9\n1.0,3.2\n", 1, 5),  # a typo on the first row: never a header
    (b"x y z\n0 1\n", 1, None),               # a header of three names for two columns
])
def test_data_file_faults(rows, line, col, lnet):
    (lnet / "l.csv").write_bytes(rows)
    r = run("train", "l.net", "-q", "--epochs", "5", "--format", "plain")
    refused(r.exit_code, r.stderr, file="l.csv", line=line, col=col)


def test_data_file_missing_points_at_the_data_line(lnet):
    r = run("train", "l.net", "-q", "--epochs", "5")
    refused(r.exit_code, r.stderr, file="l.net", line=13, caret='"')


def test_data_file_a_directory(lnet):
    (lnet / "l.csv").mkdir()
    r = run("train", "l.net", "-q", "--epochs", "5")
    refused(r.exit_code, r.stderr, file="l.net", line=13)


@cases("args, stdin", [
    (["predict", "xor.net", "--params", "p.json", "--points", "-"], b"0 1O\n1 0\n"),
    (["predict", "xor.net", "--params", "p.json", "--points", "-"], b"0 1e400\n"),
    (["predict", "xor.net", "--params", "p.json", "--points", "-"], b"0 nan\n"),
    (["diff", "xor.net", "--points", "-"], b"0 1O -> 1\n1 0 -> 1\n"),
    (["diff", "xor.net", "--points", "-"], b"0 1 -> 1e400\n"),
    (["diff", "xor.net", "--points", "-"], b"0 1 -> 1 1\n"),
])
def test_network_rows_from_points(args, stdin, work):
    r = run(*args, "--format", "csv" if args[0] == "predict" else "plain", input=stdin)
    refused(r.exit_code, r.stderr, file="<stdin>", line=1)


# -- flags ----------------------------------------------------------------------------------------

@cases("args, option", [
    (["train", "xor.net", "-q", "--rate", "nan"], "--rate"),
    (["train", "xor.net", "-q", "--rate", "inf"], "--rate"),
    (["train", "xor.net", "-q", "--rate", "1e400"], "--rate"),
    (["train", "xor.net", "-q", "--rate", "-1"], "--rate"),
    (["train", "xor.net", "-q", "--rate", "0"], "--rate"),
    (["train", "xor.net", "-q", "--seed", "-1"], "--seed"),
    (["train", "xor.net", "-q", "--epochs", "1e400"], "--epochs"),
    (["train", "xor.net", "-q", "--epochs", "-1"], "--epochs"),
    (["train", "xor.net", "-q", "--batch", "0"], "--batch"),
    (["train", "xor.net", "-q", "--beta", "nan", "--optimizer", "momentum"], "--beta"),
    (["train", "xor.net", "-q", "--beta2", "1", "--optimizer", "adam"], "--beta2"),
    (["train", "xor.net", "-q", "--eps", "inf", "--optimizer", "adam"], "--eps"),
    (["train", "xor.net", "-q", "--optimizer", "sgdd"], "--optimizer"),
    (["train", "xor.net", "-q", "--max-entries", "0"], "--max-entries"),
    (["check", "x^2", "--at", "x=1", "--tolerance", "nan"], "--tolerance"),
    (["check", "x^2", "--at", "x=1", "--tolerance", "-1"], "--tolerance"),
    (["check", "x^2", "--at", "x=1", "--tolerance", "1e400"], "--tolerance"),
    (["check", "x^2", "--at", "x=1", "--tolerance", "inf"], "--tolerance"),
    (["diff", "x^2", "--order", "9"], "--order"),
    (["diff", "x^2", "--order", "1e400"], "--order"),
    (["diff", "x^2", "--max-paths", "-1"], "--max-paths"),
    (["diff", "x^2", "--format", "bogus"], "--format"),
    (["diff", "x", "--points", "-", "--format", "latex"], "--format"),
    (["diff", "x^2", "--bogus"], "--bogus"),
])
def test_bad_option_values_name_the_option(args, option, work):
    r = run(*args, input="x\n1\n")
    refused(r.exit_code, r.stderr, full=False, names=option)


@cases("args", [["check", "x^2"], ["predict", "x^2", "--params", "p.json"],
                                  ["train", "x^2"], ["diff"], ["train", "xor.net", "--save", ""]])
def test_usage_faults(args, work):
    r = run(*args)
    refused(r.exit_code, r.stderr, full=False)


# -- files that cannot be read (root reads everything: the run drops that power first) -----------

def without_dac_override():
    """In the child before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding
    set, so that even root cannot read a file of mode 0."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@cases("args, name", [
    (["diff", "x", "--points", "u.csv", "--format", "csv"], "u.csv"),
    (["predict", "xor.net", "--params", "u.json"], "u.json"),
    (["train", "u.net", "-q"], "u.net"),
    (["diff", "u.cg", "--format", "plain"], "u.cg"),
    (["train", "l.net", "-q", "--format", "plain"], "l.csv"),
])
def test_unreadable_files(args, name, work):
    (work / "u.csv").write_text("x\n1\n")
    (work / "l.csv").write_text("x,y\n1,2\n")
    (work / "u.json").write_text(json.dumps(XOR_PARAMS))
    (work / "u.net").write_text(XOR)
    (work / "u.cg").write_text("x^2\n")
    (work / "l.net").write_text(LINE.replace('"line.csv"', '"l.csv"'))
    os.chmod(work / name, 0)
    preexec = without_dac_override if os.geteuid() == 0 else None
    try:
        p = subprocess.run([sys.executable, "-m", "cgcalc", *args], cwd=work, capture_output=True,
                           text=True, timeout=60, preexec_fn=preexec)
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop root's power to read everything here: {exc}")
    refused(p.returncode, p.stderr, full=False)
    assert name in p.stderr.splitlines()[0]


# -- characters that str.splitlines takes for line breaks and the lexer does not -------------------

NOT_NEWLINES = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]  # (a CR alone
# is a line end, as in old Mac files: tests/test_hostile_values.py)


@pytest.mark.parametrize("ch", NOT_NEWLINES)
@pytest.mark.parametrize("text, suffix", [("{}_", ".net"), ("x{}+", ".cg"), ("{}_ +", ".cg"),
                                          ("input X[1]\n{}_ =", ".net"),
                                          ("a = 1{}\nsin(a", ".cg")])
def test_errors_count_lines_as_the_lexer_does(work, ch, text, suffix):
    """A form feed, \x85 or \u2028 is not a new line to the lexer: the line an error names is
    the lexer's, and the source line shown under it is that line, with its caret."""
    path = work / ("t" + suffix)
    path.write_text(text.format(ch), encoding="utf-8", newline="")
    r = run("diff", path, "--at", "x=1") if suffix == ".cg" else run("diff", path)
    refused(r.exit_code, r.stderr, file=path.name)
    assert int(PLACE.match(r.stderr)["line"]) <= text.count("\n") + 1, r.stderr


# -- random bytes ---------------------------------------------------------------------------------

def outcome_is_0_or_2(r):
    assert r.exit_code in (0, 2), f"exit {r.exit_code}: {r.stderr[:400]!r}"
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr[:600]
    if r.exit_code == 2:
        assert r.stderr.startswith("error:"), r.stderr[:300]
        m = PLACE.match(r.stderr)
        if m:  # a place, then its line shown with a caret
            lines = r.stderr.splitlines()
            assert any(re.fullmatch(r" *\^+", ln) for ln in lines[1:]), r.stderr[:600]


ALPHABET = st.sampled_from(list(b"xy01.,;=+-*/^()[]{}@'\"#\n\r\t \x00\xff\xc3e" + b"sin(" +
                                b"->") + list(range(256)))


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=40), st.lists(ALPHABET, max_size=40).map(bytes)))
def test_random_bytes_as_an_expression(data):
    r = run("diff", "-", "--format", "plain", input=data)
    outcome_is_0_or_2(r)


NET_PIECES = st.sampled_from([b"input X[2]\n", b"target y[1]\n", b"param w[3, 1]\n",
                              b"param w[3, 1] ~ normal(0, 1)\n", b"A = sigmoid([X, 1] @ w)\n",
                              b"C = cross_entropy(A, y)\n", b"output A\n", b"minimize C\n",
                              b"data {\n0 1 -> 1\n1 1 -> 0\n}\n", b"train epochs=2\n",
                              b"steps 2\n", b"@", b"[", b"]", b"->", b"\xff", b"\x00", b"#",
                              b"\n", b"1e400", b"-", b"m = 1\n", b"cols(X, 0, 1)"])


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=60), st.lists(NET_PIECES, max_size=12).map(b"".join)))
def test_random_bytes_as_a_network_file(data, tmp_path_factory):
    d = tmp_path_factory.mktemp("rnet")
    (d / "r.net").write_bytes(data)
    r = run("diff", str(d / "r.net"), "--format", "plain")
    outcome_is_0_or_2(r)


# -- exit status 1 is for runs that fail, with a message ---------------------------------------

@cases("args, words", [
    (["check", "x^2", "--at", "x=1", "--tolerance", "0"], "tolerance"),
    (["train", "line.net", "-q", "--epochs", "50", "--rate", "1e10"], "diverged"),
    (["diff", "log(x)", "--at", "x=-1"], "domain"),
])
def test_runs_that_fail_exit_1_with_a_message(args, words, work):
    r = run(*args, "--format", "plain")
    assert r.exit_code == 1, (r.exit_code, r.stderr)
    assert r.stderr.startswith("error:") and words in r.stderr.splitlines()[0], r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize("tail", ["data {\n 1 -> 2\n 2 -> 3\n", "data {", "data {\n 1 -> 2 ]\n"])
def test_a_data_block_never_closed_says_so_at_its_brace(tail, work):
    """An unclosed data block was "unexpected character '{'": it names the brace and the '}'
    that is missing."""
    path = work / "open.net"
    path.write_text("input X[1]\ntarget y[1]\nparam w[2, 1] ~ normal(0, 1)\nA = [X, 1] @ w\n"
                    "C = mse(A, y)\nminimize C\n" + tail)
    r = run("train", path)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: {path}:7:6: this '{{' is never closed"), r.stderr
