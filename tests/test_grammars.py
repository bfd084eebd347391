"""cgcalc/grammars.py and cgcalc/lalr.py: the grammar found; lark's LALR tables cached (in
CGCALC_CACHE_DIR), written once, read without importing lark, rebuilt when stale or damaged, never
needed (without a writable cache every run builds them); and cgcalc's runner of those tables
doing exactly what lark's own parser does, callback for callback, on valid and invalid input."""

import functools
import marshal
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgcalc import grammars, lalr
from cgcalc.grammars import _Continuation
from cgcalc.net.spec import ToSpec
from cgcalc.parse import ToAst


class Record:
    """A transformer that answers every rule with ``(rule, children)``, tokens as
    ``(type, value, line, column)``: what a parser called, in a form two parsers can compare."""

    def __getattr__(self, name):
        # _rules are spliced into their parent; lark would call a method named after a terminal
        # on each token, which cgcalc's transformers do not have and lalr.py does not do
        if name.startswith("_") or name.rsplit("__", 1)[-1].isupper():
            raise AttributeError(name)
        return lambda children: (name, [self.token(c) for c in children])

    @staticmethod
    def token(c):
        if hasattr(c, "type"):
            return (c.type, c.value, c.line, c.column)
        return c


@functools.lru_cache(maxsize=None)
def lark_parser(name, lexer):
    return grammars._lark(name, lexer, transformer=Record(), postlex=_Continuation())


def by_lark(name, lexer, text):
    """What lark itself calls, or "error" if it finds ``text`` outside the language."""
    from lark.exceptions import UnexpectedInput

    parser = lark_parser(name, lexer)
    try:
        return parser.parse(text)
    except UnexpectedInput:
        return "error"


def by_tables(name, lexer, text):
    try:
        return grammars.parser(name, lexer).tables.parse(text, Record())
    except lalr.NoParse:
        return "error"


EXPR_CASES = [
    "exp(sin(x^2))", "-x^2 + 2^3^2", "a = (x +\n y); b = a'*2\nb", "θ1 * σ(x)", "x # note\n",
    "f(x, y, z)", "g()", "[x, 1] @ w'", "x\n\n;;y", "log(x, 2) \\\n + 1", "2**-x", "1e-3*.5",
    "a = x\r\nb = a^2\r\nb", "f(\r\n x,\r\n y)", "x\u00a0+ 1", "Σ_1 = 2; Σ_1",
    "sin(x", "x +* y", "2 x", "x ) + 1", "$", "(x", "a = = b", "[", "x'(", "\\ x", "",
]
NET_CASES = [
    "input X[2]\nparam w[2, 1]\nL = [X,\n 1] @ w\noutput L\n",
    "input X[2]\ntarget y[1]\nparam t[3, 1] ~ normal(0, -1.5)\nminimize C\n",
    "data {\n  0 1 -> 1\n  1 0 -> -1\n}\ntrain epochs=10 rate=0.5\n",
    'data "rows.csv"\n# comment\n', "input input[2]\n", "data = 3\n", "param w[2.5]\n",
    "output L L\n", "L = sin(\n", "data {\n0 -> \n}", "train x\n",
]


@pytest.mark.parametrize("text", EXPR_CASES)
def test_expr_tables_do_what_lark_does(text):
    assert by_tables("expr", "basic", text) == by_lark("expr", "basic", text)


@pytest.mark.parametrize("text", NET_CASES)
def test_net_tables_do_what_lark_does(text):  # the contextual lexer: keywords vs names, DIM
    assert by_tables("net", "contextual", text) == by_lark("net", "contextual", text)


EXPR_PIECES = ["x", "y1", "θ", "sin", "2", ".5", "1e-3", "+", "-", "*", "/", "^", "**", "@", "'",
               "(", ")", "[", "]", ",", "=", ";", "\n", " ", "# c\n", "\\\n", "$"]
NET_PIECES = ["input", "target", "param", "output", "minimize", "data", "train", "X", "w", "[2]",
              "[2, 1]", "~", "normal(0, 1)", "=", "->", "{", "}", "0", "-1", "1.5", '"f.csv"',
              "x + 1", "\n", " ", "# c\n"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(EXPR_PIECES), max_size=14))
def test_expr_tables_agree_with_lark_on_random_input(pieces):
    text = "".join(pieces)
    assert by_tables("expr", "basic", text) == by_lark("expr", "basic", text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(NET_PIECES), max_size=5).map(" ".join), max_size=6))
def test_net_tables_agree_with_lark_on_random_input(lines):
    text = "\n".join(lines)
    assert by_tables("net", "contextual", text) == by_lark("net", "contextual", text)


def _programs():
    """Programs built from the grammar's own rules, spaced, broken and commented at random:
    mostly valid, so the tables' reductions are exercised, not just their errors."""
    space = st.sampled_from(["", " ", "  ", "\t"])
    inner = st.sampled_from(["", " ", "\n", " \\\n "])  # inside ( ): newlines continue
    leaf = st.sampled_from(["x", "y1", "θ", "_a", "pi", "2", ".5", "1e-3", "6.02E23"])

    def grow(sub):
        binary = st.tuples(sub, space, st.sampled_from("+-*/@^") | st.just("**"), space, sub)
        return st.one_of(
            binary.map("".join),
            st.tuples(st.sampled_from("-+"), sub).map("".join),
            st.tuples(sub, inner, sub).map(lambda t: f"({t[0]}{t[1]}+ {t[2]})"),
            st.tuples(st.sampled_from(["sin", "log", "f"]), st.lists(sub, max_size=3),
                      inner).map(lambda t: f"{t[0]}({t[2]}{', '.join(t[1])})"),
            st.lists(sub, min_size=1, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
            sub.map(lambda a: f"({a})'"),
        )

    expr = st.recursive(leaf, grow, max_leaves=12)
    stmt = st.tuples(st.sampled_from(["", "a = ", "b1 = "]), expr,
                     st.sampled_from(["", " # note"])).map("".join)
    sep = st.sampled_from([";", "\n", " ; ", "\n\n"])
    return st.tuples(st.lists(stmt, min_size=1, max_size=4), sep).map(
        lambda t: t[1].join(t[0]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_programs())
def test_expr_tables_agree_with_lark_on_random_programs(text):
    assert by_tables("expr", "basic", text) == by_lark("expr", "basic", text)


def test_grammar_found():
    assert os.path.isfile(os.path.join(grammars.grammar_dir(), "expr.lark"))


def cache_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".marshal")) if os.path.isdir(d) else []


def test_cache_written_once_then_read(tmp_path, monkeypatch):
    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    built = grammars._load("expr", "basic")
    (name,) = cache_files(tmp_path)
    assert name.startswith("expr-basic-")
    mtime = os.path.getmtime(tmp_path / name)
    read = grammars._load("expr", "basic")
    assert os.path.getmtime(tmp_path / name) == mtime  # read, not written again
    assert read.tables.states == built.tables.states and read.tables.rules == built.tables.rules
    assert [(s.name, s.expr.kind) for s in read.parse("a = x^2\nsin(a)", ToAst)] == \
        [("a", "pow"), (None, "call")]


def test_net_grammar_cached_too(tmp_path, monkeypatch):
    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    p = grammars._load("net", "contextual")
    spec = p.parse("input X[2]\nparam w[2, 1]\nL = [X,\n 1] @ w\noutput L\n", ToSpec)
    assert [(d.name, d.dims) for d in spec.decls] == [("X", (2,)), ("w", (2, 1))]
    assert spec.output.value == "L"
    assert any(f.startswith("net-contextual-") for f in cache_files(tmp_path))


def cached_tables(path):
    data = path.read_bytes()
    return marshal.loads(data[len(grammars._MAGIC) + 32:])


@pytest.mark.parametrize("damage", [b"", b"not marshal at all", None])
def test_damaged_or_stale_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    grammars._load("expr", "basic")
    (name,) = cache_files(tmp_path)
    fingerprint = cached_tables(tmp_path / name)["grammar"]
    if damage is None:  # whole tables, built from another grammar
        damage = marshal.dumps({"grammar": "another grammar", "states": []})
    (tmp_path / name).write_bytes(damage)
    p = grammars._load("expr", "basic")
    assert p.parse("sin(x)", ToAst)[0].expr.text == "sin"
    assert grammars._read_cached(str(tmp_path / name), fingerprint) is not None


def run_cli(tmp_path, argv):
    """cgcalc in a subprocess with ``tmp_path`` as its cache: stdout lines, and which of lark,
    numpy, rich it imported."""
    env = {**os.environ, "CGCALC_CACHE_DIR": str(tmp_path)}
    code = ("import sys\nfrom cgcalc.cli import main\nsys.argv = ['cgcalc'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('lark', 'numpy', 'rich') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True,
                       text=True)
    return p.stdout.splitlines(), p.stderr


def test_one_shot_run_does_not_import_lark(tmp_path):
    argv = ["diff", "sin(x)", "--at", "x=1", "--format", "plain"]
    first, _ = run_cli(tmp_path, argv)
    assert first[0] == "d/dx = cos(x) = 0.5403023058681398"
    assert first[-1] == "[]"  # cgcalc/precedence.py parsed it: no tables, lark, numpy or rich
    assert cache_files(tmp_path) == []
    argv = ["diff", "x'", "--at", "x=1", "--format", "plain"]  # array syntax: the tables
    first, _ = run_cli(tmp_path, argv)
    second, _ = run_cli(tmp_path, argv)
    assert first[-1] == "['lark']"  # built the tables with lark
    assert second[-1] == "[]"  # read them: no lark, numpy or rich


def test_syntax_error_asks_lark_for_the_place(tmp_path):
    run_cli(tmp_path, ["diff", "x", "--at", "x=1", "--format", "plain"])  # the cache, built
    out, err = run_cli(tmp_path, ["diff", "sin(x", "--at", "x=1", "--format", "plain"])
    assert "1:6: missing ')' at the end of the input" in err and out[-1] == "['lark']"


def test_unwritable_cache_still_parses(tmp_path):
    (tmp_path / "file").write_text("")
    env = {**os.environ, "CGCALC_CACHE_DIR": str(tmp_path / "file" / "sub")}
    p = subprocess.run([sys.executable, "-m", "cgcalc", "diff", "x^2", "--at", "x=3",
                        "--format", "plain"], env=env, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == "d/dx = 2*x = 6.0"


def test_without_tables_lark_parses_everything(tmp_path, monkeypatch):
    """A lark whose internals lalr.py cannot read (here: build raises) still gives cgcalc a
    parser: lark's own, with the same results and the same errors."""
    def unreadable(*args, **kw):
        raise AttributeError("'LALR_Parser' object has no attribute '_parse_table'")

    monkeypatch.setenv("CGCALC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(lalr, "build", unreadable)
    p = grammars._load("expr", "basic")
    assert p.tables is None and cache_files(tmp_path) == []
    assert [s.expr.kind for s in p.parse("a = x^2; sin(a)", ToAst)] == ["pow", "call"]
    with pytest.raises(p.errors.UnexpectedInput):
        p.parse("sin(x", ToAst)


def test_no_home_means_no_cache_not_a_relative_directory(monkeypatch):
    for var in ("CGCALC_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(os.path, "expanduser", lambda p: p)  # what it does without a home
    assert grammars._cache_path("expr-basic-0") is None
    assert grammars._load("expr", "basic").tables is not None  # built, kept in memory
