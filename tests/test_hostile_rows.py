"""Hostile rows: what ``--points``, a network's data rows and ``predict --points`` read is
used as given or refused with exit 2 at its place. A number is a plain number (no ``_``, no
digits of other scripts, though float() reads both); a column is never hidden by another of
its name or by one cgcalc writes; a carried string JSON cannot write raw is written escaped;
a row stopped by the row limit says so."""

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cgcalc.cli import main
from test_hostile_values import LINE_NET

ROOT = Path(__file__).resolve().parents[1]
XOR_PARAMS = {"theta1": [[5.87, -7.54], [5.88, -7.62], [-9.08, 3.17]],
              "theta2": [[-13.88], [-13.62], [6.76]]}
PLACE = re.compile(r"error: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, env=env,
                              catch_exceptions=False)


def refused_at(r, line, col):
    """The run is a clean refusal (exit 2, ``error:``, no traceback) placed at ``line:col``,
    with the source line shown and the caret under that column. Its first line."""
    assert r.exit_code == 2, f"exit {r.exit_code}: {r.stderr[:300]!r} {r.stdout[:200]!r}"
    err = r.stderr
    assert err.startswith("error:"), err[:300]
    assert "Traceback" not in err and "internal error" not in err, err[:600]
    m = PLACE.match(err)
    assert m, f"no file:line:column: in {err.splitlines()[0]!r}"
    assert (int(m["line"]), int(m["col"])) == (line, col), err
    lines = err.splitlines()
    i = next(k for k, text in enumerate(lines) if text.startswith(f"  {line} | "))
    margin = len(f"  {line} | ")
    assert re.fullmatch(r" *\^+", lines[i + 1]), err
    assert lines[i + 1].index("^") == margin + col - 1, err
    return lines[0]


# -- numbers: plain ones only ---------------------------------------------------------------

NOT_PLAIN = ["1_000", "1_0.5", "1e1_0", "\u0661", "\u0661_\u0662", "\uff11", "\u0967.5",
             "2\u0661"]


@pytest.mark.parametrize("cell", NOT_PLAIN)
@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_csv_points_refuse_a_number_float_reads_and_a_number_is_not(cell, quoted):
    row = f'2,{cell},"a"' if quoted else f"2,{cell},a"
    r = run("diff", "x*y", "--points", "-", "--format", "csv",
            input=f"x,y,id\n1,2,b\n{row}\n")
    first = refused_at(r, 3, 3)
    assert f"{cell!r} is not a number (column 'y')" in first
    assert r.stdout.splitlines() == ["x,y,id,value,d/dx,d/dy", "1,2,b,2.0,2.0,1.0"]


@pytest.mark.parametrize("row", ["2, 3", " 2 , 3 ", "\u00a02,3\u00a0", "+2,3.0"])
def test_spaces_around_a_number_are_still_read(row):
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=f"x,y\n{row}\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[1] == f"{row},6.0,3.0,2.0"


def test_carried_columns_take_any_text():
    text = "x,y,id,name\n1,2,a_1,\u0661\n3,4,1_000,\u03b8\u2081\n"
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=text)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[1:] == ["1,2,a_1,\u0661,2.0,2.0,1.0",
                                         "3,4,1_000,\u03b8\u2081,12.0,4.0,3.0"]


def test_json_lines_numbers_are_json_numbers():
    r = run("diff", "x*y", "--points", "-", "--format", "json",
            input='{"x": 1, "y": 2}\n{"x": "1_000", "y": 2}\n')
    assert "is not a number" in refused_at(r, 2, 2)
    r = run("diff", "x*y", "--points", "-", "--format", "json",
            input='{"x": 1, "y": 2}\n{"x": \u0661, "y": 2}\n')
    assert "not JSON" in refused_at(r, 2, 7)




@pytest.mark.parametrize("cell", ["1_0", "\u0661", "\uff11"])
def test_network_data_refuses_a_number_that_is_not_plain(cell, tmp_path):
    net = tmp_path / "n.net"
    net.write_text(LINE_NET.format(data=f"data {{\n  0 -> 1\n  2 -> {cell}\n}}"))
    first = refused_at(run("diff", net, "--format", "json"), 11, 8)
    assert f"{cell!r} is not a number" in first
    net.write_text(LINE_NET.format(data='data "d.csv"'))
    (tmp_path / "d.csv").write_text(f"x,y\n0,1\n{cell},1\n", encoding="utf-8")
    assert f"{cell!r} is not a number" in refused_at(run("diff", net, "--format", "json"), 3, 1)
    (tmp_path / "d.csv").write_text(f"0 1\n{cell} 1\n", encoding="utf-8")
    assert f"{cell!r} is not a number" in refused_at(run("train", net, "-q"), 2, 1)


def test_predict_rows_refuse_a_number_that_is_not_plain(tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    r = run("predict", tmp_path / "xor.net", "--params", tmp_path / "p.json", "--points", "-",
            "--format", "csv", input="0 1\n1 1_0\n")
    assert "'1_0' is not a number" in refused_at(r, 2, 3)
    assert len(r.stdout.splitlines()) == 2  # the header and the good row


# -- the row limit, whatever stops the reading ----------------------------------------------

SMALL = {"CGCALC_MAX_LINE": "1000"}


@pytest.mark.parametrize("body, line", [("\n" * 1200, 3), ("ab\n" * 400, 3),
                                        ("a\n" + "b" * 1200, 4), ("\u00e9" * 501, 3)],
                         ids=["newlines", "lines", "one-long-line", "two-byte-letters"])
def test_a_quoted_field_past_the_row_limit_says_so(body, line):
    """The row the field is in is refused, or the line in it that is past the limit alone."""
    text = f'x,y,id\n5,6,w\n1,2,"{body}"\n3,4,z\n'
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=text, env=SMALL)
    assert r.exit_code == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("error: <stdin>: ") and f"line {line} is longer than 1,000" in first
    assert "CGCALC_MAX_LINE" in r.stderr and "not closed" not in r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert r.stdout.splitlines() == ["x,y,id,value,d/dx,d/dy", "5,6,w,30.0,6.0,5.0"]


@pytest.mark.parametrize("rows", [10, 300])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_rows_before_a_line_past_the_limit_are_written(rows, fmt):
    """(Both where the line ends in the piece read with them, and where it runs past it.)"""
    """A long line read in the same piece as the rows before it: those rows are handed on
    first, then the line is refused at its number."""
    text = "x,y\n" + "".join(f"{i},2\n" for i in range(rows)) + "1," + "2" * 300_000 + "\n3,4\n"
    short = "x,y\n" + "".join(f"{i},2\n" for i in range(rows)) + "1," + "2" * 1200 + "\n3,4\n"
    r = run("diff", "x*y", "--points", "-", "--format", fmt, input=short, env=SMALL)
    assert f"line {rows + 2} is longer than 1,000 bytes" in r.stderr.splitlines()[0], r.stderr
    assert len(r.stdout.splitlines()) == rows + (fmt == "csv")
    r = run("diff", "x*y", "--points", "-", "--format", fmt, input=text, env=SMALL)
    assert r.exit_code == 2, r.stderr
    assert f"line {rows + 2} is longer than 1,000 bytes" in r.stderr.splitlines()[0], r.stderr
    written = r.stdout.splitlines()
    assert len(written) == rows + (fmt == "csv"), written[:3]


def test_a_quoted_row_of_the_limit_is_read_and_one_byte_more_is_not():
    for extra, status in ((0, 0), (1, 2)):
        body = "\n" * (1000 - len('1,2,""') + extra)
        r = run("diff", "x*y", "--points", "-", "--format", "csv",
                input=f'x,y,id\n1,2,"{body}"\n', env=SMALL)
        assert r.exit_code == status, r.stderr
    r = run("diff", "x*y", "--points", "-", "--format", "csv",
            input='x,y,id\n1,2,"' + "\n" * 50, env=SMALL)
    assert "a quoted field is not closed before the end of the input" in refused_at(r, 2, 5)


# -- columns: none hidden by another of its name ---------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("args, header, col, name, written", [
    ([], "x,y,value,d/dx", 5, "value", "value, d/dx, d/dy"),
    ([], "x,d/dy,y", 3, "d/dy", "value, d/dx, d/dy"),
    (["--order", "2"], "x,y,id,d2/dxdy", 8, "d2/dxdy", "value, d2/dxdx, d2/dxdy, d2/dydy"),
])
def test_a_column_named_as_one_cgcalc_writes_is_refused(fmt, args, header, col, name, written):
    width = len(header.split(","))
    r = run("diff", "x*y", *args, "--points", "-", "--format", fmt,
            input=f"{header}\n{','.join(['1'] * width)}\n")
    first = refused_at(r, 1, col)
    assert f"the column {name!r} has the name of a column cgcalc writes ({written})" in first
    assert r.stdout == ""


def test_a_column_named_as_a_derivative_not_asked_for_is_carried():
    r = run("diff", "x*y", "--wrt", "x", "--points", "-", "--format", "json",
            input="x,y,d/dy\n1,2,mine\n")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {"x": 1.0, "y": 2.0, "d/dy": "mine", "value": 2.0,
                                    "d/dx": 2.0}


@pytest.mark.parametrize("fmt, header, col", [
    ("json", "x,y,id,id", 8), ("json", "id,x,y, id ", 9), ("json", 'x,y,"id",id', 10),
    ("json", "x,y,x", 5), ("csv", "x,y,x", 5), ("rich", "y,x,y", 5),  # a variable: which?
])
def test_a_column_named_twice_is_refused_where_one_would_be_lost(fmt, header, col):
    """A name twice loses a value where rows are written keyed by name (JSON), and leaves
    the variable ambiguous in every form."""
    r = run("diff", "x*y", "--points", "-", "--format", fmt, input=f"{header}\n1,2,3,4\n")
    name = header.split(",")[-1].strip()
    assert f"two columns are named {name!r}" in refused_at(r, 1, col)
    assert r.stdout == ""


@pytest.mark.parametrize("fmt", ["csv", "rich"])
def test_a_carried_column_named_twice_is_carried_as_written_in_columns(fmt):
    r = run("diff", "x*y", "--points", "-", "--format", fmt, input="x,y,id,id\n1,2,a,b\n")
    assert r.exit_code == 0, r.stderr
    assert "x,y,id,id,value,d/dx,d/dy\n1,2,a,b,2.0,2.0,1.0\n" == r.stdout or fmt == "rich"


@pytest.mark.parametrize("fmt", ["csv", "rich"])
def test_json_lines_keys_not_carried_are_never_refused(fmt):
    """Out of JSON Lines, CSV and the table carry the variables alone: other keys, whatever
    their names, hide nothing."""
    text = '{"x": 2, "y": 1, "value": 7, "d/dx": "mine"}\n'
    r = run("diff", "x*y", "--points", "-", "--format", fmt, input=text)
    assert r.exit_code == 0, r.stderr
    if fmt == "csv":
        assert r.stdout == "x,y,value,d/dx,d/dy\n2.0,1.0,2.0,1.0,2.0\n"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_variable_named_as_a_written_column_is_refused_with_what_to_rename(fmt):
    for text in ('{"value": 2}\n', "value\n2\n"):
        r = run("diff", "value^2", "--points", "-", "--format", fmt, input=text)
        refused_at(r, 1, 2 if text.startswith("{") else 1)
        assert "rename the variable and its " in r.stderr, r.stderr


def test_a_json_key_is_pointed_at_as_a_key_not_a_value_like_it():
    text = '{"x": 1, "y": 2, "id": "value", "value": 2}\n'
    r = run("diff", "x*y", "--points", "-", "--format", "json", input=text)
    assert 'the key "value"' in refused_at(r, 1, 33)


def test_a_json_key_named_as_a_column_cgcalc_writes_is_refused_at_its_line():
    text = '{"x": 1, "y": 2, "id": "a"}\n{"x": 1, "y": 2, "value": "mine"}\n'
    r = run("diff", "x*y", "--points", "-", "--format", "json", input=text)
    first = refused_at(r, 2, 18)
    assert 'the key "value" has the name of a column cgcalc writes (value, d/dx, d/dy)' in first
    assert [json.loads(t) for t in r.stdout.splitlines()] == [
        {"x": 1, "y": 2, "id": "a", "value": 2.0, "d/dx": 2.0, "d/dy": 1.0}]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_predict_rows_by_place_are_still_read(fmt, tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    for rows in ("0 1\n1 1\n", "X1,X2\n0,1\n1,1\n"):
        r = run("predict", tmp_path / "xor.net", "--params", tmp_path / "p.json", "--points",
                "-", "--format", fmt, input=rows)
        assert r.exit_code == 0, r.stderr
        assert len(r.stdout.splitlines()) == 2 + (fmt == "csv")
    r = run("diff", tmp_path / "xor.net", "--wrt", "theta2", "--points",
            ROOT / "examples" / "xor-rows.txt", "--format", "json")
    assert r.exit_code == 0, r.stderr


# -- strings JSON cannot write raw -----------------------------------------------------------

def test_a_lone_surrogate_carried_through_json_lines_is_written_escaped():
    text = ('{"x": 1, "y": 2, "id": "ok"}\n'
            '{"x": 1, "y": 2, "id": "\\ud800", "\\udfff": "a\\ud83d\\ude00\\u00e9"}\n')
    r = run("diff", "x*y", "--points", "-", "--format", "json", input=text)
    assert r.exit_code == 0, r.stderr
    r.stdout.encode("utf-8")  # every character encodable
    assert '"id": "\\ud800", "\\udfff": "a\U0001f600\u00e9"' in r.stdout
    assert [json.loads(t) for t in r.stdout.splitlines()] == [
        {"x": 1, "y": 2, "id": "ok", "value": 2.0, "d/dx": 2.0, "d/dy": 1.0},
        {"x": 1, "y": 2, "id": "\ud800", "\udfff": "a\U0001f600\u00e9", "value": 2.0,
         "d/dx": 2.0, "d/dy": 1.0}]
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=text)  # the variables only
    assert r.exit_code == 0 and r.stdout.splitlines()[2] == "1.0,2.0,2.0,2.0,1.0", r.stderr


def test_a_column_or_key_of_a_variable_given_by_at_is_refused():
    for text, line, col in (("x,y\n1,abc\n", 1, 3), ("x,y\n1,2\n", 1, 3),
                            ('{"x": 1, "y": 2}\n', 1, 10)):
        r = run("diff", "x*y", "--points", "-", "--at", "y=3", "--format", "json", input=text)
        assert "a variable given a value by --at" in refused_at(r, line, col)
        assert r.stdout == ""


# -- a line ends at LF, CRLF or a CR alone -------------------------------------------------

ENDINGS = {"cr": "\r", "mixed": None}  # mixed: CR, LF and CRLF in turn (CRLF alone: as LF)


def _ended(lines, ending):
    """``lines`` joined and each ended by ``ending`` (``None``: CR, LF, CRLF in turn, a blank
    line by CRLF: a LF alone after a CR would end the line before it, not a blank one)."""
    if ending is not None:
        return "".join(t + ending for t in lines)
    return "".join(t + ("\r", "\n", "\r\n")[i % 3 if t else 2] for i, t in enumerate(lines))


@pytest.mark.parametrize("ending", list(ENDINGS.values()), ids=list(ENDINGS))
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_points_lines_end_at_cr_lf_or_crlf(fmt, ending):
    rows = (["x,y", "1,2", "", "3,4", "5,6"] if fmt == "csv" else
            ['{"x": 1, "y": 2}', '{"x": 3, "y": 4}', "", '{"x": 5, "y": 6}'])
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=_ended(rows, ending))
    assert r.exit_code == 0, r.stderr
    assert [t.split(",")[2] for t in r.stdout.splitlines()[1:]] == ["2.0", "12.0", "30.0"]


@pytest.mark.parametrize("ending", list(ENDINGS.values()), ids=list(ENDINGS))
@pytest.mark.parametrize("fmt, rows, col", [
    ("csv", ["x,y", "1,2", "", "3,4", "5,z"], 3),
    ("jsonl", ['{"x": 1, "y": 2}', '{"x": 3, "y": 4}', "", "", '{"x": 5, "y": "z"}'], 10),
])
def test_a_fault_after_cr_line_ends_is_placed_on_its_own_line(fmt, rows, col, ending):
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=_ended(rows, ending))
    refused_at(r, 5, col)
    assert len(r.stdout.splitlines()) == 3  # the header and the two good rows


@pytest.mark.parametrize("ending", list(ENDINGS.values()), ids=list(ENDINGS))
def test_a_data_file_with_cr_line_ends_reads_as_with_lf(ending, tmp_path):
    net = tmp_path / "n.net"
    net.write_text(LINE_NET.format(data='data "d.csv"'))
    rows = ["x,y", "0,1", "# a comment", "2,3", "4,5"]
    (tmp_path / "d.csv").write_bytes(_ended(rows, "\n").encode())
    want = run("diff", net, "--format", "json")
    assert want.exit_code == 0, want.stderr
    (tmp_path / "d.csv").write_bytes(_ended(rows, ending).encode())
    got = run("diff", net, "--format", "json")
    assert got.exit_code == 0, got.stderr
    assert got.stdout == want.stdout
    (tmp_path / "d.csv").write_bytes(_ended([*rows, "6,z"], ending).encode())
    assert "'z' is not a number" in refused_at(run("train", net, "-q"), 6, 3)


@pytest.mark.parametrize("ending", list(ENDINGS.values()), ids=list(ENDINGS))
def test_predict_rows_with_cr_line_ends(ending, tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    args = ("predict", tmp_path / "xor.net", "--params", tmp_path / "p.json", "--points", "-",
            "--format", "csv")
    r = run(*args, input=_ended(["X1,X2", "0,1", "1,1"], ending))
    assert r.exit_code == 0, r.stderr
    assert [t.split(",")[:2] for t in r.stdout.splitlines()[1:]] == [["0", "1"], ["1", "1"]]
    r = run(*args, input=_ended(["0 1", "1 1", "1 x"], ending))
    refused_at(r, 3, 3)


def test_a_crlf_split_between_two_reads_ends_one_line():
    """A CR ending one piece read and the LF starting the next are one line end; each line is
    handed on as it arrives (nothing waits for the LF that may follow a CR)."""
    import io

    from cgcalc.rows.lines import Lines

    class Pieces(io.RawIOBase):
        def __init__(self, pieces):
            self.pieces = list(pieces)

        def read1(self, n=-1):
            return self.pieces.pop(0) if self.pieces else b""

    lines = Lines(Pieces([b"x,y\r", b"\n1,2\r", b"\n", b"3,4\r", b"\r\n5,6"]), "<stdin>")
    # x,y CRLF, 1,2 CRLF, 3,4 CR, a blank line CRLF, 5,6
    got = []
    while (part := lines.read(64)) is not None:
        got.append(part)
    assert got == [(1, ["x,y"]), (2, ["1,2"]), (3, ["3,4"]), (4, [""]), (5, ["5,6"])]


def test_the_row_limit_holds_lines_that_end_in_cr():
    """Short lines ended by CR alone are short lines, not one long one; a long one is refused
    at its own line number."""
    env = {"CGCALC_MAX_LINE": "20"}
    rows = "x,y\r" + "".join(f"{i},{i}\r" for i in range(100))
    r = run("diff", "x*y", "--points", "-", "--format", "csv", input=rows, env=env)
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 101
    r = run("diff", "x*y", "--points", "-", "--format", "csv", env=env,
            input="x,y\r1,2\r3," + "4" * 40 + "\r5,6\r")
    assert r.exit_code == 2 and "line 3 is longer than 20 bytes" in r.stderr, r.stderr
    assert r.stdout.splitlines() == ["x,y,value,d/dx,d/dy", "1,2,2.0,2.0,1.0"]


# -- an empty field in a data row is refused, never skipped ----------------------------------

EMPTY = [  # (row of X1, X2 -> y as a data row, column of the caret, the comma's place)
    ("0,,1 -> 1", 3, "between two commas"),
    (",0,1 -> 1", 1, "before this comma"),
    ("0,1, -> 1", 4, "after this comma"),
    ("0, ,1 -> 1", 4, "between two commas"),
    ("0,1 -> ,1", 8, "before this comma"),
    ("0,1 -> 1,", 9, "after this comma"),
    ("0 1 -> 1,,", 10, "between two commas"),
]


@pytest.mark.parametrize("row, col, where", EMPTY, ids=[r for r, _, _ in EMPTY])
def test_an_empty_field_in_network_data_is_refused_at_its_comma(row, col, where, tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    r = run("diff", tmp_path / "xor.net", "--points", "-", "--format", "json",
            input=f"0 0 -> 0\n{row}\n")
    assert "an empty field" in refused_at(r, 2, col) and where in r.stderr


@pytest.mark.parametrize("row, col", [("0,,1.1", 3), (",0,1.1", 1), ("0,1.1,", 6),
                                      ("0 , , 1.1", 5)])
@pytest.mark.parametrize("where", ["file", "block"])
def test_an_empty_field_in_a_data_file_or_block_is_refused(row, col, where, tmp_path):
    net = tmp_path / "n.net"
    if where == "file":
        net.write_text(LINE_NET.format(data='data "d.csv"'))
        (tmp_path / "d.csv").write_text(f"x,y\n0.5,1.9\n{row}\n")
        first = refused_at(run("train", net, "-q"), 3, col)
    else:
        net.write_text(LINE_NET.format(data=f"data {{\n0.5,1.9\n{row}\n}}"))
        first = refused_at(run("train", net, "-q"), 11, col)
    assert "an empty field" in first


PREDICT_EMPTY = [  # (a good row before it: spaces and commas are still read, the bad row, col)
    ("0 1", "0,,1", 3), ("0,1", ",0,1", 1), ("0, 1", "0,1,", 4), (" 0 ,\t1 ", ",", 1),
    ("0\t1", "0 ,, 1", 4), ("0,1 # note", "0,1, # note", 4)]


@pytest.mark.parametrize("good, row, col", PREDICT_EMPTY, ids=[r for _, r, _ in PREDICT_EMPTY])
def test_an_empty_field_in_predict_rows_is_refused(good, row, col, tmp_path):
    shutil.copy(ROOT / "examples" / "xor.net", tmp_path / "xor.net")
    (tmp_path / "p.json").write_text(json.dumps(XOR_PARAMS))
    r = run("predict", tmp_path / "xor.net", "--params", tmp_path / "p.json", "--points", "-",
            "--format", "csv", input=f"{good}\n{row}\n")
    assert "an empty field" in refused_at(r, 2, col)
    out = r.stdout.splitlines()
    assert len(out) == 2 and out[1].split(",")[:2] == ["0", "1"]  # the good row, read


# -- the terminal table shows names as written ---------------------------------------------

MARKUP = ["[/]", "[red]n", "[bold red]", ":smile:", "[link=http://a]q[/link]", "\\[x]"]


@pytest.mark.parametrize("name", MARKUP)
@pytest.mark.parametrize("color", ["1", None], ids=["color", "no-color"])
def test_the_terminal_table_shows_column_names_and_cells_as_written(name, color, monkeypatch):
    """Names and cells are the input's text: rich never reads them as markup or emoji."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    env = {"FORCE_COLOR": color} if color else {"NO_COLOR": "1"}
    r = run("diff", "x^2", "--points", "-", "--format", "rich", env=env,
            input=f'x,"{name}",note\n1,2,"{name}"\n')
    assert r.exit_code == 0, r.stderr
    plain = [re.split(r" {2,}", t.strip())
             for t in re.sub(r"\x1b\[[0-9;]*m", "", r.stdout).splitlines()]
    assert plain == [["x", name, "note", "value", "d/dx"], ["1", "2", name, "1.0", "2.0"]]


CONTROLS = ["\x1b[2J", "\x1b]0;pwned\x07", "\x1b[31mred", "a\rb", "tab\there", "new\nline",
            "\x00nul", "\x9b31m", "\x7fdel", "\x08back"]


@pytest.mark.parametrize("text", CONTROLS)
@pytest.mark.parametrize("color", ["1", None], ids=["color", "no-color"])
def test_the_terminal_table_never_sends_the_inputs_control_characters(text, color,
                                                                        monkeypatch):
    """A carried cell or a column's name holding an escape sequence (clear the screen, retitle
    the window), a carriage return, a NUL: the terminal is shown \\x1b, \\x0d, ..., never
    sent them (they went out raw), and each row stays one line of the table."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    env = {"FORCE_COLOR": color} if color else {"NO_COLOR": "1"}
    quoted = '"' + text.replace('"', '""') + '"'
    r = run("diff", "x^2", "--points", "-", "--format", "rich", env=env,
            input=f"x,{quoted}\n1,{quoted}\n")
    assert r.exit_code == 0, r.stderr
    shown = re.sub(r"\x1b\[(1|32|0|0;1|1;0)?m", "", r.stdout)  # the table's own: bold, green
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", shown), repr(r.stdout)
    assert len(shown.splitlines()) == 2, repr(r.stdout)
    read = text.replace("\r", "\n")  # a line end in a quoted field, as the csv module reads it
    escaped = re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", read)
    assert shown.count(escaped) == 2, repr(r.stdout)


@pytest.mark.parametrize("header, refused_at", [("y,X1,X2", 1), ("X1,X2,X1", 7), ("X2,X1,y", 1),
                                                ("x1,x2,Y", None), ("a,b,c", None),
                                                ("X1,X2,y", None), ("in1,in2,out", None)])
def test_a_data_files_header_never_names_one_column_for_another(header, refused_at, tmp_path):
    """A network's data file is read by place, its header free to label the columns its own
    way; but a header that gives a column another column's name (y first, a name twice) was
    read by place all the same: y's values taken as X1's. Refused at that name."""
    (tmp_path / "t.net").write_text("input X[2]\ntarget y[1]\nparam w[3, 1] ~ normal(0, 0.5)\n"
                                    "A = sigmoid([X, 1] @ w)\nC = cross_entropy(A, y)\n"
                                    "minimize C\ndata \"d.csv\"\n")
    (tmp_path / "d.csv").write_text(f"{header}\n1,0,0\n0,0,1\n")
    r = CliRunner().invoke(main, ["train", str(tmp_path / "t.net"), "--epochs", "1", "-q"])
    if refused_at is None:
        assert r.exit_code == 0, r.output
        return
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: {tmp_path / 'd.csv'}:1:{refused_at}: the header names")
