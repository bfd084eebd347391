"""Pictures: DOT that Graphviz accepts, SVG with the edge labels, highlighted arrows exactly the
paths diff lists, Mermaid with the expected nodes and edges, big graphs, no Graphviz."""

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cgcalc.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXPRESSIONS = ["exp(sin(x^2))", "sin(x)*cos(x) + sin(x)", "x*y + sin(x*y)",
               "y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); y2", 'p = sigmoid(w*x + b); -log(p)']
NETS = ["xor", "and", "line"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def highlighted(dot_text):
    """(from, to) of the red arrows, by node label."""
    labels = dict(re.findall(r'^\s*(n\d+) \[label="([^"\\]*)', dot_text, re.M))
    name = {k: v.split(" = ")[0].split("\\n")[0] for k, v in labels.items()}
    return {(name[a], name[b]) for a, b in
            re.findall(r"^\s*(n\d+) -> (n\d+) \[.*color=red", dot_text, re.M)}


@needs_dot
@pytest.mark.parametrize("source", EXPRESSIONS + [str(ROOT / "examples" / f"{n}.net")
                                                  for n in NETS])
def test_graphviz_accepts_the_dot_and_the_svg_carries_edge_labels(source):
    r = run("graph", source, "--format", "dot")
    assert r.exit_code == 0
    svg = subprocess.run(["dot", "-Tsvg"], input=r.stdout.encode(), capture_output=True)
    assert svg.returncode == 0, svg.stderr
    labels = re.findall(r'-> n\d+ \[label="([^"]+)"', r.stdout)
    assert labels
    text = html.unescape(svg.stdout.decode())
    for label in labels:
        assert label.split("\\n")[0] in text, label


@pytest.mark.parametrize("text, var", [("sin(x)*cos(x) + sin(x)", "x"), ("x*y + sin(x*y)", "y"),
                                       ("u = x*y; v = u + x; w = v*u; w + y", "x")])
def test_highlighted_arrows_are_exactly_the_listed_paths(text, var):
    dot = run("graph", text, "--wrt", var, "--format", "dot").stdout
    doc = json.loads(run("diff", text, "--format", "json", "--max-paths", "1000").stdout)
    listed = doc["paths"][var]["listed"]
    assert len(listed) == doc["paths"][var]["count"]
    on_paths = {(b, a) for p in listed for a, b in zip(p["nodes"], p["nodes"][1:])}
    assert highlighted(dot) == on_paths


def test_net_highlight_follows_the_seeds_path():
    dot = run("graph", str(ROOT / "examples" / "xor.net"), "--wrt", "theta1",
              "--format", "dot").stdout
    assert highlighted(dot) == {("theta1", "n1"), ("n1", "n2"), ("n2", "L2"), ("L2", "n3"),
                                ("n3", "L3"), ("L3", "C")}
    assert "[mx3]" in dot and "[3x2]" in dot


def test_mermaid_nodes_and_edges():
    out = run("graph", "v = x^2; u = sin(v); f = exp(u)", "--format", "mermaid",
              "--wrt", "x").stdout
    assert out.startswith("flowchart BT\n")
    nodes = dict(re.findall(r'^\s*(n\d+)\(?\["?([^"\]<]*)', out, re.M))
    assert sorted(v.split(" = ")[0] for v in nodes.values()) == ["f", "u", "v", "x"]
    edges = re.findall(r"^\s*(n\d+) -->\|\"([^\"]*)\"\| (n\d+)", out, re.M)
    named = {(nodes[a].split(" = ")[0], nodes[b].split(" = ")[0]): lab for a, lab, b in edges}
    assert named == {("x", "v"): "2*x", ("v", "u"): "cos(v)", ("u", "f"): "exp(u)"}
    assert "linkStyle 0,1,2 stroke:red" in out


def test_tree_marks_shared_nodes():
    out = run("graph", "sin(x)*cos(x) + sin(x)", "--at", "x=0.5", "--wrt", "x").stdout
    assert out.count("n1 = sin(x)") == 2 and "(shared: shown above)" in out
    assert "3 paths from f down to x" in out and "sum over paths" in out


@needs_dot
def test_svg_and_png_files(tmp_path):
    svg, png = tmp_path / "g.svg", tmp_path / "g.png"
    assert run("graph", "exp(sin(x^2))", "--format", "svg", "-o", str(svg)).exit_code == 0
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert run("graph", str(ROOT / "examples" / "xor.net"), "--format", "png",
               "-o", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_graphviz_exit_2_and_keep_the_dot(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # nowhere to find dot
    out = tmp_path / "g.svg"
    p = subprocess.run([sys.executable, "-m", "cgcalc", "graph", "exp(x)", "--format", "svg",
                        "-o", str(out)], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2
    assert p.stderr.startswith("error:") and "graphviz" in p.stderr.lower()
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_without_graphviz_no_dot_text_beside_a_stream_or_a_device(tmp_path):
    """The DOT text is kept beside a file the picture was to be, never beside a named pipe or a
    device (-o /dev/stdout made a file /dev/stdout.dot)."""
    env = {**os.environ, "PATH": str(tmp_path)}  # nowhere to find dot
    fifo = tmp_path / "g.svg"
    os.mkfifo(fifo)
    for out in (str(fifo), "/dev/null", "/dev/stdout"):
        p = subprocess.run([sys.executable, "-m", "cgcalc", "graph", "exp(x)", "--format", "svg",
                            "-o", out], capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 2 and "graphviz" in p.stderr.lower(), p.stderr
        assert "DOT text is in" not in p.stderr
    assert not (tmp_path / "g.dot").exists()
    assert not os.path.exists("/dev/null.dot") and not os.path.exists("/dev/stdout.dot")


THOUSANDS = "\n".join(["y0 = x"] + [f"y{i} = y{i-1}*y{i-1} + sin(y{i-1}) + " + "cos(" * 3 +
                                     f"y{i-1}" + ")" * 3 for i in range(1, 350)])


def test_thousands_of_nodes():
    r = run("graph", "-", "--format", "dot", input=THOUSANDS)
    assert r.exit_code == 0
    assert r.stdout.count("->") > 2000
    assert max(len(m) for m in re.findall(r'label="([^"]*)"', r.stdout)) <= 100
    assert "pos=" not in r.stdout  # DOT for the user's own tools: dot lays it out


@needs_dot
def test_thousands_of_nodes_drawn_where_cgcalc_places_them(tmp_path):
    """Above PLACE_OVER nodes the picture is placed by cgcalc (dot's own layout took 30 s for
    3,000 nodes), its arrows without labels, and the caption says so."""
    svg = tmp_path / "g.svg"
    r = run("graph", "-", "--format", "svg", "-o", str(svg), input=THOUSANDS)
    assert r.exit_code == 0, r.stderr
    text = html.unescape(svg.read_text())
    assert "arrow labels left out" in text and "--format dot has them" in text
    assert text.count('class="node"') > 2000 and text.count('class="edge"') > 2000


@pytest.mark.parametrize("source", ["exp(sin(x^2))", THOUSANDS, "xor.net", "first.net"])
def test_placed_nodes_sit_above_their_inputs_and_apart_in_a_row(source):
    import io

    from cgcalc import commands
    from cgcalc.net import Network
    from cgcalc.render import picture

    if source.endswith(".net"):
        path = ROOT / "examples" / source
        pic = commands.graph_net(Network(path.read_text(), str(path)), None, None)
    else:
        pic = commands.graph_expression(source, None, None, None)
    buf = io.StringIO()
    picture.write_dot(pic, buf, placed=True)
    text = buf.getvalue()
    pos = {k: (float(x), float(y)) for k, x, y in
           re.findall(r'^  (\w+) \[label=.*pos="(-?[\d.]+),(-?[\d.]+)!"', text, re.M)}
    assert set(pos) == {key for key, _, _ in pic.nodes}
    order = {key: i for i, (key, _, _) in enumerate(pic.nodes)}
    for src, dst, _, _ in pic.edges:
        if order[src] < order[dst]:  # an arrow forward (not an RNN's t-1 back)
            assert pos[src][1] < pos[dst][1], (src, dst)
    rows: dict = {}
    for key, (x, y) in pos.items():
        rows.setdefault(y, []).append(x)
    for xs in rows.values():
        xs.sort()
        assert all(b - a >= 54 for a, b in zip(xs, xs[1:]))  # the narrowest node's width
    assert " -> " in text and "label=" not in text.split("->", 1)[1]  # arrows without labels


def test_a_long_path_shows_its_two_ends():
    n = 500
    r = run("graph", "sin(" * n + "x" + ")" * n, "--wrt", "x", "--format", "tree",
            env={"NO_COLOR": "1", "COLUMNS": "200"})
    notes = r.stdout.splitlines()[-2:]
    assert notes[0] == "1 path from f down to x"
    assert notes[1] == f"f → n{n - 1} → n{n - 2} → n{n - 3} → n{n - 4} → n{n - 5} → " \
        f"… {n + 1 - 12} more … → n5 → n4 → n3 → n2 → n1 → x"


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_graphviz_draws_within_a_bound_on_its_memory(fmt, tmp_path):
    """dot's address space is held to CGCALC_MAX_GRAPHVIZ bytes (4 GiB unless set; a 20,000-term
    sum took 4 GB): past it the drawing fails, exit 1, saying what it may take and how to give
    it more, and the file there before is kept; within it the picture is drawn."""
    text = " + ".join(f"sin(x{i}*x{i + 1})" for i in range(100))
    out = tmp_path / f"g.{fmt}"
    out.write_text("the user's file")
    r = CliRunner().invoke(main, ["graph", text, "--format", fmt, "-o", str(out)],
                           env={"CGCALC_MAX_GRAPHVIZ": "30000000"})
    assert r.exit_code == 1, r.output
    assert r.output.startswith("error: dot failed") and "CGCALC_MAX_GRAPHVIZ" in r.output
    assert out.read_text() == "the user's file"
    for env in ({}, {"CGCALC_MAX_GRAPHVIZ": str(10**30)}):  # past what the system counts too
        out.unlink(missing_ok=True)
        r = CliRunner().invoke(main, ["graph", text, "--format", fmt, "-o", str(out)], env=env)
        assert r.exit_code == 0, r.output
        assert out.read_bytes()[:4] in (b"<?xm", b"<svg", b"\x89PNG")
