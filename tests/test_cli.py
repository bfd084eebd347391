"""The command line: every format, every class of bad input, exit statuses; and real processes
for pipes."""

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cgcalc.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args, input=None):
    runner = CliRunner()
    result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
    return result


def test_plain_one_line_per_derivative():
    r = run("diff", "x*y + sin(x*y)", "--at", "x=1,y=2", "--format", "plain")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert [ln.split(" = ")[0] for ln in lines] == ["d/dx", "d/dy"]
    assert math.isclose(float(lines[0].rsplit(" = ", 1)[1]), 2 + 2 * math.cos(2), rel_tol=1e-12)


def test_auto_is_plain_off_a_terminal_and_no_escape_codes():
    r = run("diff", "exp(sin(x^2))", "--at", "x=1")
    assert r.exit_code == 0
    assert "\x1b[" not in r.stdout
    assert r.stdout.startswith("d/dx = 2*x*exp(sin(x^2))*cos(x^2) = 2.50676153")


def test_json_has_the_contract_keys():
    r = run("diff", "v = x^2; u = sin(v); f = exp(u)", "--at", "x=1", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["output"] == "f" and doc["point"] == {"x": 1.0}
    assert math.isclose(doc["value"], math.exp(math.sin(1)), rel_tol=1e-12)
    assert math.isclose(doc["derivatives"]["x"]["value"], 2.5067615349868937, rel_tol=1e-12)
    edge = {(e["output"], e["input"]): e for e in doc["edges"]}
    assert edge[("f", "u")]["symbolic"] == "exp(u)"
    assert edge[("u", "v")]["symbolic"] == "cos(v)"
    assert edge[("v", "x")]["symbolic"] == "2*x"
    assert doc["paths"]["x"]["count"] == 1
    assert doc["paths"]["x"]["listed"][0]["nodes"] == ["f", "u", "v", "x"]
    assert {n["id"] for n in doc["nodes"]} == {"x", "v", "u", "f"}


def test_json_path_count_is_an_exact_integer():
    lines = ["y0 = x"] + [f"y{i} = y{i-1}*y{i-1} + sin(y{i-1})" for i in range(1, 101)]
    r = run("diff", "-", "--format", "json", "--max-paths", "3", input="\n".join(lines))
    doc = json.loads(r.stdout)
    assert doc["paths"]["x"]["count"] == 3 ** 100
    assert len(doc["paths"]["x"]["listed"]) == 3


def test_csv_header_and_row():
    r = run("diff", "x^2*y", "--at", "x=3,y=2", "--format", "csv")
    header, row = r.stdout.splitlines()
    assert header == "x,y,value,d/dx,d/dy"
    assert [float(c) for c in row.split(",")] == [3.0, 2.0, 18.0, 12.0, 9.0]


def test_latex_and_dot():
    r = run("diff", "v = x^2; u = sin(v); f = exp(u)", "--at", "x=1", "--format", "latex")
    assert r.stdout.startswith("\\begin{align}") and r.stdout.rstrip().endswith("\\end{align}")
    assert "\\frac{\\partial f}{\\partial u}" in r.stdout
    assert r.stdout.count("\\\\[4pt]\n") == 2 and "\\\\[4pt] \\\\" not in r.stdout  # no empty rows
    r = run("diff", "sin(" * 40 + "x" + ")" * 40, "--format", "latex")
    chain = next(line for line in r.stdout.splitlines() if "\\cdots" in line)
    assert chain.count("\\frac") == 1 + 12  # d f/d x = 6 factors at each end of the path
    r = run("diff", "sin(x)*cos(x) + sin(x)", "--format", "dot")
    assert r.stdout.startswith("digraph") and r.stdout.count("->") == 6


def test_rich_display_tells_the_story(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    r = run("diff", "sin(x)*cos(x) + sin(x)", "--at", "x=0.5", "--format", "rich")
    out = r.stdout
    for words in ("The graph", "Connection derivatives", "Paths from f down to x: 3",
                  "sum over paths", "reverse-mode accumulation", "The derivative"):
        assert words in out
    assert "\x1b[" not in out


def test_rich_display_of_a_deep_chain_stays_a_screenful(monkeypatch):
    """The terminal shows the start of a long program, 40 rows per table and both ends of a
    long path; the whole of it is in --format plain and json."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    n = 1000
    r = run("diff", "sin(" * n + "x" + ")" * n, "--at", "x=0.5", "--format", "rich")
    out = r.stdout
    assert r.exit_code == 0 and len(out.splitlines()) < 200
    assert f"({5 * n + 1:,} characters)" in " ".join(out.split())  # the program, cut short
    assert f"… {n + 1 - 12:,} more …" in out and "→ n2 → n1 → x" in out  # the path's two ends
    assert "∂f/∂n999 ·" in out and "∂n1/∂x" in out
    assert f"{n - 40 + 1} more nodes" in out


def test_forward_mode_agrees_with_reverse():
    r = run("diff", "x*y + sin(x*y)", "--at", "x=1,y=2", "--mode", "forward", "--format", "json")
    doc = json.loads(r.stdout)
    f = doc["output"]
    for v in ("x", "y"):
        assert math.isclose(doc["forward"][v][f], doc["reverse"][v], rel_tol=1e-12)


def test_order_two():
    r = run("diff", "x^3*y", "--order", "2", "--at", "x=1,y=2", "--format", "plain")
    lines = r.stdout.splitlines()
    assert lines[0] == "d2/dxdx = 6*x*y = 12.0"
    assert lines[1].startswith("d2/dxdy = 3*x^2 = 3.0")


def test_expression_file_and_stdin(tmp_path):
    p = tmp_path / "f.cg"
    p.write_text("v = x^2\nu = sin(v)\nf = exp(u)\n")
    r1 = run("diff", str(p), "--at", "x=1", "--format", "plain")
    r2 = run("diff", "-", "--at", "x=1", "--format", "plain", input=p.read_text())
    assert r1.stdout == r2.stdout and r1.stdout.startswith("d/dx")


def test_at_accepts_constant_expressions():
    r = run("diff", "sin(x)", "--at", "x=pi/2", "--format", "plain")
    assert r.stdout.strip().endswith("= " + repr(math.cos(math.pi / 2)))


# -- bad input: exit 2, error:, the place, no traceback ----------------------------------------
@pytest.mark.parametrize("args, words", [
    (["diff", "sin(x"], "missing ')'"),
    (["diff", "sn(x)"], "unknown function 'sn'"),
    (["diff", "sin(x, y)"], "takes 1 argument"),
    (["diff", "x^2", "--wrt", "q"], "'q' is not an input variable"),
    (["diff", "x^2", "--at", "q=1"], "'q' is not an input variable"),
    (["diff", "x*y", "--at", "x=1"], "'y' has no value"),
    (["diff", "x^2", "--at", "x=abc"], "'abc' is not a number"),
    (["diff", "x^2", "--at", "x"], "is not NAME=VALUE"),
    (["diff", ""], "empty input"),
    (["diff", "x", "--format", "yaml"], "Invalid value"),
    (["diff"], "Missing argument"),
    (["dif", "x"], "No such command"),
    (["diff", "x", "--bogus"], "No such option"),
    (["diff", "missing.net"], "no such file: missing.net"),
    (["diff", "1 + 2"], "no input variables (the value is 3.0)"),
    (["diff", "x", "--at", "x=1e999"], "not a finite number"),
])
def test_bad_input_exits_2_with_a_located_message(args, words):
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error:")
    assert words in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


@pytest.mark.parametrize("value", [
    "1;5", "1; y=5", "a=5;a+1", "3\n5", "3\r5", "1 # 5",  # a program, not one value
    "1_000", "1_0.5", "\u0661", "\uff13", "3.\u0665", "0x10", "1e", "1.2.3",  # not plain numbers
    "\u0131nf", "-\u0130nfinity", "na\u0274",  # letters that fold to inf and nan's
])
def test_at_takes_one_value_written_plainly(value):
    """Everything an --at value could be read as beyond one number or one constant expression
    is refused at the value, never read as its last statement or as Python reads numbers."""
    r = run("diff", "x^2", "--at", f"x={value}", "--format", "plain")
    assert r.exit_code == 2, r.output
    first, source, caret = r.stderr.splitlines()[:3]
    assert first == f"error: --at:1:8: {value!r} is not a number", r.stderr
    assert caret.index("^") == source.index("x=") + 2
    assert r.stdout == ""


@pytest.mark.parametrize("value", ["inf", "-Infinity", "nan", "1e999"])
def test_at_says_a_number_that_is_not_finite_is_one(value):
    r = run("diff", "x^2", "--at", f"x={value}", "--format", "plain")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == f"error: --at:1:8: {value!r} is not a finite number"


XOR = "examples/xor.net"


@pytest.mark.parametrize("option, whole", [
    (("train", XOR, "--epochs"), True), (("train", XOR, "--seed"), True),
    (("train", XOR, "--batch"), True), (("train", XOR, "--rate"), False),
    (("train", XOR, "--eps"), False), (("diff", "x", "--order"), True),
    (("diff", "x", "--max-paths"), True), (("check", XOR, "--tolerance"), False),
])
@pytest.mark.parametrize("value", ["1_0", "\u0661", "\u0661\u0660", "\uff13", "0x10", "1.5.2"])
def test_number_options_take_numbers_written_plainly(option, whole, value):
    """Every number option reads numbers as cgcalc does everywhere else (ASCII digits, no
    1_000), where Python's int() and float() would take other scripts' digits and
    underscores."""
    r = run(*option, value, "--quiet" if option[0] == "train" else "--format=plain")
    assert r.exit_code == 2 and r.stdout == "", r.output
    kind = "whole number" if whole else "number"
    assert r.stderr.splitlines()[0] == \
        f"error: Invalid value for '{option[-1]}': {value!r} is not a {kind}", r.stderr


@pytest.mark.parametrize("option, value", [
    ("--epochs", "+3"), ("--epochs", " 10 "), ("--seed", "+7"), ("--rate", "1e-3"),
    ("--rate", ".5"), ("--rate", "+2."), ("--beta", " 0.9"),
])
def test_number_options_take_every_plain_number(option, value):
    r = run("train", XOR, "--epochs", "3", option, value, "--quiet", "--format", "json")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("value, why", [
    ("2^1030", "too large (overflow)"), ("pi*1e308", "too large (overflow)"),
    ("exp(1000)", "too large (overflow)"), ("0/0", "division by zero"),
    ("log(-1)", "outside the function's domain"), ("asin(2)", "outside the function's domain"),
])
def test_at_says_why_a_constant_expression_cannot_be_computed(value, why):
    """A constant that evaluates past the floats or outside a domain is said not to compute,
    and why, at the value (not "not a number", which is for what is not a constant)."""
    r = run("diff", "x^2", "--at", f"x={value}", "--format", "plain")
    assert r.exit_code == 2 and r.stdout == ""
    first, source, caret = r.stderr.splitlines()[:3]
    assert first.startswith(f"error: --at:1:8: {value!r} cannot be computed: ") and why in first
    assert " at " not in first.split("computed: ")[1]  # the reason alone: no place inside it
    assert caret.strip() == "^" * len(value) and caret.index("^") == source.index("x=") + 2


@pytest.mark.parametrize("text", ["\u0663*x", "x + \uff11", "x^\u0662"])
def test_digits_of_other_scripts_are_not_numbers_in_expressions(text):
    r = run("diff", text)
    assert r.exit_code == 2, r.output
    assert "unexpected character" in r.stderr.splitlines()[0], r.stderr


def test_caret_under_the_fault():
    r = run("diff", "exp(sigmod(x^2))")
    lines = r.stderr.splitlines()
    assert lines[0] == "error: <expr>:1:5: unknown function 'sigmod'"
    src = lines[1]
    assert lines[2].index("^") == src.index("sigmod")
    assert "did you mean sigmoid?" in r.stderr


def test_invalid_utf8_file(tmp_path):
    p = tmp_path / "bad.cg"
    p.write_bytes(b"x + \xff\xfe")
    r = run("diff", str(p))
    assert r.exit_code == 2 and "invalid UTF-8" in r.stderr and ":1:5:" in r.stderr


def test_domain_error_exits_1_naming_the_node():
    r = run("diff", "u = x - 2; f = log(u)", "--at", "x=1")
    assert r.exit_code == 1
    assert r.stderr.startswith("error:") and "log(u)" in r.stderr and "^" in r.stderr
    r = run("diff", "1/x", "--at", "x=0")
    assert r.exit_code == 1 and "division by zero" in r.stderr


@pytest.mark.parametrize("text, derivative, place", [
    ("x*(0/0)", "0/0", "division by zero at n1 = 0 / 0"),
    ("x*(1/0 - 1/0)", "1/0 - 1/0", "division by zero at n1 = 1 / 0"),
    ("x*(0*log(0))", "0*log(0)", "outside the function's domain at n1 = log(0)"),
])
def test_a_constant_that_is_not_finite_prints_as_itself_and_fails_at_a_point(text, derivative,
                                                                             place):
    """The derivative is printed with the part in it (it was 0: 0*c and c - c taken for 0);
    at a point, the part is refused where it is, as before."""
    r = run("diff", text, "--format", "plain")
    assert r.exit_code == 0 and r.stdout == f"d/dx = {derivative}\n", r.output
    r = run("diff", text, "--at", "x=2", "--format", "plain")
    assert r.exit_code == 1 and r.stdout == "" and place in r.stderr.splitlines()[0], r.stderr


# -- real processes ------------------------------------------------------------------------------
def _cgcalc(*args, input=None, env=None):
    return subprocess.run([sys.executable, "-m", "cgcalc", *args], input=input,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=60)


def test_subprocess_pipe_and_exit_statuses():
    p = _cgcalc("diff", "-", "--at", "x=1", input="exp(sin(x^2))\n")
    assert p.returncode == 0 and p.stdout.startswith("d/dx = ")
    p = _cgcalc("diff", "exp(sin(x^2)")
    assert p.returncode == 2 and p.stderr.startswith("error:") and "Traceback" not in p.stderr
    p = _cgcalc("diff", "log(x)", "--at", "x=-1")
    assert p.returncode == 1 and "Traceback" not in p.stderr


@pytest.mark.parametrize("fmt", ["plain", "json", "csv", "latex"])
def test_the_process_exits_at_once_with_everything_written(fmt):
    """The process ends without tearing its objects down (os._exit), after flushing: a large
    result arrives whole on a pipe, in the same bytes as in process."""
    text = " + ".join(f"sin(x{i}*x{i + 1})" for i in range(3000))
    in_process = run("diff", text, "--format", fmt)
    assert in_process.exit_code == 0 and len(in_process.stdout) > 100_000
    p = _cgcalc("diff", "-", "--format", fmt, input=text)
    assert p.returncode == 0 and p.stdout == in_process.stdout and p.stderr == ""


def test_exit_statuses_through_the_fast_exit():
    """The statuses SystemExit gives, kept by the entry point's own exit."""
    for code, status, said in [("raise SystemExit", 0, ""), ("raise SystemExit(3)", 3, ""),
                               ("raise SystemExit(-1)", 255, ""),
                               ("raise SystemExit('gone')", 1, "gone")]:
        script = ("import sys\nfrom cgcalc import __main__ as m\nimport cgcalc.cli\n"
                  f"def cli():\n    print('out', end='')\n    {code}\n"
                  "cgcalc.cli.main = cli\nm.main()\n")
        p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=60)
        assert (p.returncode, p.stdout, p.stderr.strip()) == (status, "out", said)


def test_version_and_help():
    p = _cgcalc("--version")
    assert p.returncode == 0 and "cgcalc" in p.stdout
    p = _cgcalc("diff", "-h")
    assert p.returncode == 0 and "--wrt" in p.stdout


def test_start_up_does_not_import_numpy_or_rich():
    code = ("import sys; from cgcalc.cli import main; sys.argv=['cgcalc','diff','exp(sin(x^2))',"
            "'--at','x=1','--format','plain']\ntry: main()\nexcept SystemExit: pass\n"
            "print('numpy' in sys.modules, 'rich' in sys.modules, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stderr.strip() == "False False", p.stderr


# -- LaTeX, parsed by KaTeX ---------------------------------------------------------------------
KATEX_CHECK = r"""
const katex = require(process.argv[1]);
const sources = JSON.parse(require("fs").readFileSync(0, "utf8"));
const errors = sources.map(src => {
  try { katex.renderToString(src, {displayMode: true, throwOnError: true, strict: "error"});
        return null; }
  catch (e) { return e.message; }
});
console.log(JSON.stringify(errors));
"""


def katex_errors(sources):
    """KaTeX's error for each LaTeX text (None where it renders), or skip without KaTeX: .ci/run
    installs it with npm into .ci/node (by hand: npm install --prefix .ci/node katex)."""
    import shutil

    module = ROOT / ".ci" / "node" / "node_modules" / "katex"
    if not shutil.which("node") or not module.is_dir():
        pytest.skip("KaTeX not installed (npm install --prefix .ci/node katex)")
    p = subprocess.run(["node", "-e", KATEX_CHECK, str(module)], input=json.dumps(sources),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_latex_renders_in_katex():
    """Every function of the table, shared nodes, second derivatives, a long path, networks:
    the LaTeX parses (strict: no stray Unicode, every brace closed)."""
    from cgcalc import ops

    functions = [name for name, o in ops.OPS.items()
                 if o.callable and not o.arrays and o.value is not None and o.arity == 1]
    cases = [["diff", f"{f}(x^2/4 + 0.5) * x", "--at", "x=0.5"] for f in functions]
    cases += [["diff", "log(x, 2) + pow(x, y) - x/y", "--at", "x=2,y=3"],
              ["diff", "v = x^2; u = sin(v); f = exp(u)", "--at", "x=1"],
              ["diff", "sin(x)*cos(x) + sin(x)", "--order", "2"],
              ["diff", "θ1*σ + x_1^-2 - 1e-3*abs(y)", "--wrt", "θ1", "--wrt", "y", "--order", "2"],
              ["diff", "sin(" * 40 + "x" + ")" * 40],
              ["diff", str(ROOT / "examples" / "xor.net")],
              ["diff", str(ROOT / "examples" / "line.net")]]
    texts = []
    for argv in cases:
        r = run(*argv, "--format", "latex")
        assert r.exit_code == 0, (argv, r.stderr)
        texts.append(r.stdout)
    errors = katex_errors(texts)
    assert [(argv, e) for argv, e in zip(cases, errors) if e] == []


def _random_expression(rng, depth):
    """A random expression (test-only, shallow recursion): every kind of node the LaTeX printer
    has a rule for, with names that need subscripts and Greek."""
    from cgcalc import ops

    if depth == 0 or rng.random() < 0.25:
        return rng.choice(["x", "y", "θ1", "x_1", "L3", "2", "0.5", "1e-3", "pi", "e", "3"])
    a, b = _random_expression(rng, depth - 1), _random_expression(rng, depth - 1)
    functions = [n for n, o in ops.OPS.items()
                 if o.callable and not o.arrays and o.value is not None and o.arity == 1]
    return rng.choice([
        f"{rng.choice(functions)}({a})", f"({a}) + ({b})", f"({a}) - ({b})", f"({a})*({b})",
        f"({a})/({b})", f"({a})^({b})", f"({a})^-2", f"({a})^(1/3)", f"-({a})",
        f"sqrt({a})", f"log({a}, 2)", f"pow({a}, {b})", f"abs({a})",
    ])


def test_latex_of_random_expressions_renders_in_katex():
    import random

    from cgcalc.derive import Analysis
    from cgcalc.graph import parse
    from cgcalc.render import latex

    rng = random.Random(7)
    texts = []
    for _ in range(120):
        g = parse(_random_expression(rng, 3))
        if not g.variables:
            continue
        out = io.StringIO()
        latex.render(Analysis(g, list(g.variables)), out)  # symbolic: no point, no domain
        texts.append(out.getvalue())
    errors = katex_errors(texts)
    assert [(t, e) for t, e in zip(texts, errors) if e] == []


@pytest.mark.parametrize("argv", [["diff", "--format", "json"], ["diff", "--format", "rich"],
                                  ["diff", "--format", "latex"], ["graph", "--wrt", "x"]])
def test_path_counts_longer_than_pythons_integer_text_limit(tmp_path, argv):
    """3^1400 paths: 668 digits, over the limit this run sets (640, the smallest Python
    allows; 4,300 by default is 3^9014): the count is written whole, never an error."""
    lines = ["y0 = x"] + [f"y{i} = y{i-1}*y{i-1} + sin(y{i-1})" for i in range(1, 1401)]
    (tmp_path / "chain.cg").write_text("\n".join(lines))
    cmd, *rest = argv
    p = subprocess.run([sys.executable, "-X", "int_max_str_digits=640", "-m", "cgcalc", cmd,
                        str(tmp_path / "chain.cg"), *rest], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "COLUMNS": "3000"})
    assert p.returncode == 0 and not p.stderr, p.stderr
    digits = str(3 ** 1400)  # this process's limit is the default, 4,300 digits
    shown = p.stdout.replace(",", "")
    assert (digits in shown) if cmd == "diff" and "json" in rest else digits[:40] in shown


# -- a listing cut short says so, in every view ---------------------------------------------------

DIAMOND = "v = x*x; w = v*v; f = w*w"  # 8 paths from f down to x


@pytest.mark.parametrize("max_paths", [0, 1, 3, 7, 8, 20])
def test_every_view_says_when_fewer_paths_are_listed_than_there_are(max_paths):
    """--max-paths below the count: the terminal views of an expression and of a network, the
    picture's notes and LaTeX each say how many are listed (or how many more there are) and
    sum only what they list as "the listed paths"; at or above the count, nothing is said."""
    cut = max_paths < 8
    r = run("diff", DIAMOND, "--at", "x=0.5", "--format", "rich", "--max-paths", str(max_paths))
    assert r.exit_code == 0, r.output
    assert ("8 in all, " + f"{max_paths} listed" in r.output) == cut
    tex = run("diff", DIAMOND, "--format", "latex", "--max-paths", str(max_paths)).output
    line = next(t for t in tex.splitlines() if t.startswith("\\frac{\\partial f}{\\partial x}"))
    assert "&=  +" not in line and "&= +" not in line  # no empty first term
    more = 8 - max_paths
    assert (f"\\text{{{more} more path{'s' if more > 1 else ''}}}" in line) == cut
    assert line.count("\\frac{\\partial f}{\\partial w}") == min(max_paths, 8)

    first = ROOT / "examples" / "first.net"  # 5 paths to each of Wx, Wh, b back through time
    r = run("diff", str(first), "--format", "rich", "--max-paths", str(max_paths))
    assert r.exit_code == 0, r.output
    shown = " ".join(r.output.split())
    for p in ("Wx", "Wh", "b"):
        said = f"down to {p} back through time: 5, {min(max_paths, 5)} listed"
        assert (said in shown) == (max_paths < 5), shown[:2000]


def test_the_pictures_notes_say_when_fewer_paths_are_listed_than_there_are():
    """graph --wrt lists up to 20 paths under the picture: of 2^12 it says how many it lists
    and that their sum is the listed paths' (the derivative is the sum over all)."""
    text = "a0 = x\n" + "".join(f"a{i} = a{i - 1} + a{i - 1}\n" for i in range(1, 13))
    r = run("graph", text, "--wrt", "x", "--at", "x=1", "--format", "tree")
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "4,096 paths from a12 down to x, 20 listed" in out
    assert "sum over the listed paths = 20.0" in out and "= 4096.0" in out
    r = run("graph", "sin(x) + x*x", "--wrt", "x", "--at", "x=1", "--format", "tree")
    out = " ".join(r.output.split())
    assert "listed" not in out and "sum over paths" in out
    net = run("graph", str(ROOT / "examples" / "xor.net"), "--wrt", "theta1", "--format", "tree")
    assert "listed" not in net.output


@pytest.mark.parametrize("columns", ["0", "1", "3", "5", "39"])
@pytest.mark.parametrize("args", [
    ["diff", "sin(x*y)", "--at", "x=1,y=2", "--format", "rich"],
    ["diff", str(ROOT / "examples" / "xor.net"), "--format", "rich"],
    ["check", "sin(x)", "--at", "x=1", "--format", "rich"],
    ["train", str(ROOT / "examples" / "xor.net"), "--epochs", "50", "--format", "rich"],
    ["graph", "sin(x) + x", "--format", "tree"],
    ["diff", "sin(x*y)", "--points", "-", "--format", "rich"],
], ids=["diff", "diff-net", "check", "train", "graph-tree", "points"])
def test_a_terminal_too_narrow_to_draw_in_gets_the_narrowest_drawing(columns, args):
    """COLUMNS=0 drew nothing and COLUMNS=1 to 5 failed inside rich (an internal error): every
    terminal view is drawn at least 40 columns wide instead."""
    r = CliRunner().invoke(main, args, input="x,y\n1,2\n", env={"COLUMNS": columns})
    assert r.exit_code == 0, r.output
    assert "internal error" not in r.output
    assert len(r.output.strip().splitlines()) >= 2, r.output


@pytest.mark.parametrize("args", [
    ["diff", "sin(x)", "--at", "x=1", "--format", "rich"],
    ["diff", "θ*2", "--at", "θ=1", "--format", "plain"],
    ["diff", "θ*2", "--at", "θ=1", "--format", "json"],
    ["check", "sin(x)", "--at", "x=1", "--format", "rich"],
    ["graph", "θ + 1", "--format", "tree"],
])
def test_an_output_encoding_that_cannot_write_the_result_is_said_so(args):
    """PYTHONIOENCODING=ascii (or a C locale): a result holding ∂ or θ cannot be written. It
    was an internal error; it is exit 2 naming the encoding and the character, with the way
    out. What the encoding can write is written as ever."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    p = subprocess.run([sys.executable, "-m", "cgcalc", *args], capture_output=True,
                       env=env, timeout=60)
    err = p.stderr.decode("ascii", "backslashreplace")
    assert p.returncode == 2, err
    assert err.startswith("error: standard output's encoding (ascii) cannot write"), err
    assert "internal error" not in err and "PYTHONIOENCODING=utf-8" in err
    ok = subprocess.run([sys.executable, "-m", "cgcalc", "diff", "x*2", "--at", "x=1",
                         "--format", "plain"], capture_output=True, env=env, timeout=60)
    assert ok.returncode == 0 and ok.stdout == b"d/dx = 2 = 2.0\n", ok


@pytest.mark.parametrize("output", ["p.json", "other.dot"])
def test_params_given_to_an_expression_are_refused_as_such_before_any_output(output, tmp_path):
    """An expression reads no --params: graph EXPR --params p.json -o p.json says --params is
    for network files (not that -o would replace what the run reads), and writes nothing."""
    (tmp_path / "p.json").write_text("{}")
    r = CliRunner().invoke(main, ["graph", "sin(x)", "--params", str(tmp_path / "p.json"),
                                  "-o", str(tmp_path / output), "--format", "dot"])
    assert r.exit_code == 2
    assert "--params is for network files" in r.output, r.output
    assert (tmp_path / "p.json").read_text() == "{}"
    assert not (tmp_path / "other.dot").exists()


@pytest.mark.parametrize("line, number", [
    ("train epochs=1_000", "1_000"), ("train epochs=10 rate=0.5_0", "0.5_0"),
    ("param  V[3, 1] ~ uniform(-1_0, 1)", "1_0"),
])
def test_a_network_file_names_a_number_with_underscores(line, number, tmp_path):
    path = tmp_path / "u.net"
    path.write_text("input  X[2]\ntarget y[1]\nparam  W[3, 1] ~ uniform(-1, 1)\n"
                    "P = sigmoid([X, 1] @ W)\nC = cross_entropy(P, y)\noutput P\nminimize C\n"
                    "data {\n  0 0 -> 0\n  1 1 -> 1\n}\n" + line + "\n")
    r = run("train", str(path), "--quiet")
    assert r.exit_code == 2 and r.stdout == ""
    first, source, caret = r.stderr.splitlines()[:3]
    assert first.endswith(f"{number!r} is not a number: write its digits without '_'"), first
    assert source.split("| ", 1)[1] == line
    assert caret.strip() == "^" * len(number)


@pytest.mark.parametrize("command", ["diff", "graph", "check", "export"])
def test_a_path_to_a_directory_is_refused_as_one(command, tmp_path, monkeypatch):
    """./d, ../d or /abs/d naming a directory is a path, never an expression ('unexpected
    character .' said nothing of the directory); a bare d stays an expression, a variable."""
    (tmp_path / "d").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    for arg in ("../d", str(tmp_path / "d"), "../d/", "../sub/", "../d/.", "../d/.."):
        r = CliRunner().invoke(main, [command, arg])
        assert r.exit_code == 2, (arg, r.output)
        assert f"cannot read {arg}: it is a directory" in r.output, r.output
    for arg in ("./nothing", "../nothing/", "/nothing/at/all", "nothing/"):
        r = CliRunner().invoke(main, [command, arg])
        assert r.exit_code == 2 and f"no such file: {arg}" in r.output, (arg, r.output)
