"""The command line: arguments in, exit status out. No math here."""

from __future__ import annotations

import gc
import os
import sys

import click

from . import __version__
from .errors import CgcalcError

FORMATS = ["auto", "rich", "plain", "json", "csv", "latex", "dot"]


class _Group(click.Group):
    """click, with usage errors as ``error: ...`` (exit 2) and quiet broken pipes and Ctrl-C."""

    def main(self, args=None, prog_name=None, **kw):
        # A run allocates graph nodes by the hundred thousand and frees them at exit; none are in
        # reference cycles. Python's default collector would scan them again and again (~13% of a
        # 20,000-deep derivative); collecting rarely keeps it for the garbage that has cycles.
        gc.set_threshold(100_000, 50, 100)
        try:
            rv = super().main(args=args, prog_name=prog_name or "cgcalc", standalone_mode=False,
                              **kw)
            sys.exit(rv or 0)
        except click.exceptions.NoArgsIsHelpError as e:  # pragma: no cover - click >= 8.2
            click.echo(e.ctx.get_help(), err=True)
            sys.exit(2)
        except click.UsageError as e:
            hint = ""
            if e.ctx is not None:
                hint = f"\n  usage: {e.ctx.command_path} {' '.join(e.ctx.command.collect_usage_pieces(e.ctx))}" \
                    f"\n  see: {e.ctx.command_path} --help"
            click.echo(f"error: {e.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(130)
        except CgcalcError as e:
            click.echo(e.render(), err=True)
            sys.exit(e.status)
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:
            # pip's trick: the reader went away; say nothing, and keep Python quiet at exit too
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except Exception as e:  # a bug: say so in one line; CGCALC_DEBUG=1 shows the traceback
            if os.environ.get("CGCALC_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(e).__name__}: {e}); please report it "
                       f"(CGCALC_DEBUG=1 shows where)", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cgcalc")
def main():
    """cgcalc: derivatives on computational graphs, shown path by path.

    \b
      cgcalc diff 'exp(sin(x^2))' --at x=1
      cgcalc diff 'v = x^2; u = sin(v); f = exp(u)' --format json
      cgcalc diff 'x*y + sin(x*y)' --at x=1,y=2 --format plain
    """


def _resolve_format(fmt: str) -> str:
    if fmt == "auto":
        return "rich" if sys.stdout.isatty() else "plain"
    return fmt


@main.command()
@click.argument("source", metavar="EXPR|FILE")
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Differentiate by NAME (repeatable). Default: every input variable.")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE[,...]",
              help="The point, e.g. --at x=1,y=pi/2 (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="auto is rich on a terminal, plain otherwise.")
@click.option("--order", "order_n", type=click.IntRange(1, 8), default=1, show_default=True,
              help="Derivative order: 2 gives second derivatives and mixed partials.")
@click.option("--mode", type=click.Choice(["reverse", "forward"]), default="reverse",
              show_default=True, help="forward also shows d node/d var on every node.")
@click.option("--max-paths", type=click.IntRange(0, None), default=20, show_default=True,
              help="How many paths to list per variable (the count is always exact).")
@click.option("--points", metavar="PATH|-",
              help="Many points: CSV with a header naming the variables, or JSON Lines; "
                   "one output row per input row.")
@click.option("--input-format", type=click.Choice(["auto", "csv", "jsonl"]), default="auto",
              show_default=True, help="How --points is written.")
@click.option("--params", type=click.Path(dir_okay=False), metavar="PATH",
              help="For a .net file: the param values (JSON); default: the seeded start.")
def diff(source, wrt, at, fmt, order_n, mode, max_paths, points, input_format, params):
    """Differentiate EXPR (or the program in FILE, or - for standard input).

    Shows the graph, every connection derivative, the paths from the output to each variable
    with their products, and the derivative, symbolic and at the --at point.

    \b
      cgcalc diff 'exp(sin(x^2))' --at x=1
      cgcalc diff 'sin(x)*cos(x) + sin(x)' --at x=0.5 --format json
      cgcalc diff 'x^2*y' --wrt x --order 2
    """
    from .derive import Analysis
    from .graph import parse
    from .inputs import check_point, check_wrt, parse_assignments, read_source
    from .render import renderer

    text, name = read_source(source)
    if _is_net(name):
        return _diff_net(text, name, wrt, _resolve_format(fmt), max_paths, params, points)
    graph = parse(text, name)
    variables = check_wrt(wrt, graph)
    if points is not None:
        fixed = parse_assignments(at, variables=graph.variables) if at else {}
        _points(graph, variables, fixed, points, input_format, _resolve_format(fmt), order_n)
        return
    point = None
    if at:
        point = check_point(parse_assignments(at, variables=graph.variables), graph)
    analysis = Analysis(graph, variables, point, order_n=order_n, max_paths=max_paths,
                        mode=mode)
    fmt = _resolve_format(fmt)
    out = sys.stdout
    renderer(fmt)(analysis, out)


def _points(graph, wrt, fixed, path, input_format, fmt, order_n):
    from .derive import compile_outputs, derivative_outputs
    from .inputs import open_points
    from .points import PointReader, evaluate_stream
    from .render.rows import WRITERS

    if fmt not in WRITERS:
        raise click.UsageError(f"--points writes rows: use --format csv, json, plain or rich, "
                               f"not {fmt}")
    outputs = derivative_outputs(graph, wrt, order_n)
    tape = compile_outputs(graph, outputs)
    stream, name = open_points(path)
    reader = PointReader(stream, name, graph.variables, fmt=input_format, fixed=fixed)
    writer = WRITERS[fmt](sys.stdout, reader, [k for k, _ in outputs],
                          graph.variables)
    _, bad, first = evaluate_stream(reader, tape, graph.variables, writer)
    if bad:
        click.echo(f"warning: {bad} row{'s' if bad > 1 else ''} gave nan (a value outside a "
                   f"function's domain); the first is line {first} of {name}", err=True)


# -- network files ------------------------------------------------------------------------------

def _is_net(name):
    return name.endswith(".net")


def _load_net(path):
    from .inputs import read_source
    from .net import Network

    if not os.path.isfile(path):
        raise CgcalcError(f"no such file: {path}", filename=path)
    text, name = read_source(path)
    return Network(text, name)


def _start_params(net, params_path, seed=None):
    return net.load_params(params_path) if params_path else net.initial_params(seed)


def _diff_net(text, name, wrt, fmt, max_paths, params_path, points=None):
    from .net import Network, NetDerivation
    from .render import net as show

    net = Network(text, name)
    if points is not None:  # the rows given are the batch, read like the file's data rows
        from .inputs import open_points

        stream, source = open_points(points)
        net.use_rows(stream, source)
    for w in wrt:
        _check_param(net, name, w)
    d = NetDerivation(net, _start_params(net, params_path), wrt or None, max_paths=max_paths)
    out = sys.stdout
    {"rich": show.diff_rich, "json": show.diff_json, "plain": show.diff_plain,
     "csv": show.diff_csv, "latex": show.diff_latex, "dot": _net_dot}[fmt](d, out)


def _check_param(net, name, w):
    if w not in net.params:
        raise CgcalcError(f"{w!r} is not a param of {name} (params: {', '.join(net.params)})",
                          source=f"--wrt {w}", line=1, column=7, width=len(w), filename="--wrt")


def _net_dot(d, out):
    from .render.dot import render_net

    render_net(d, out)


@main.command()
@click.argument("file", metavar="FILE.net")
@click.option("--epochs", type=click.IntRange(0, None), help="Default: the file's train line.")
@click.option("--rate", type=click.FloatRange(0, None, min_open=True),
              help="Learning rate. Default: the file's train line.")
@click.option("--seed", type=int, help="Seed for the initial params. Default: the file's.")
@click.option("--save", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the trained params here (JSON, atomically).")
@click.option("--params", type=click.Path(dir_okay=False), metavar="PATH",
              help="Start from these params instead of the seeded start.")
@click.option("--format", "fmt", type=click.Choice(["auto", "rich", "plain", "json"]),
              default="auto", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def train(file, epochs, rate, seed, save, params, fmt, quiet):
    """Train FILE.net by full-batch gradient descent on its own graph.

    \b
      cgcalc train examples/xor.net
      cgcalc train examples/xor.net --epochs 20000 --save xor.json
      cgcalc predict examples/xor.net --params xor.json
    """
    from .net import train as run_training
    from .render import net as show

    net = _load_net(file)
    net.load_data()
    epochs = net.options["epochs"] if epochs is None else epochs
    rate = net.options["rate"] if rate is None else rate
    start = _start_params(net, params, seed)
    with _progress(epochs, quiet) as progress:
        result = run_training(net, start, epochs, rate, progress)
    if save:
        net.save_params(result.params, save)
    fmt = _resolve_format(fmt)
    out = sys.stdout
    {"rich": show.train_rich, "plain": show.train_plain, "json": show.train_json}[fmt](
        net, result, out)
    if result.interrupted:
        click.echo(f"interrupted at epoch {result.epochs}"
                   + (f"; params saved to {save}" if save else ""), err=True)
        sys.exit(130)


class _progress:
    """A rich progress bar on standard error: epoch, cost, epochs per second, time left.
    Off when standard error is not a terminal or with --quiet."""

    def __init__(self, total, quiet):
        self.total, self.quiet = total, quiet
        self.bar = None

    def __enter__(self):
        if self.quiet or not sys.stderr.isatty() or not self.total:
            return None
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)

        self.bar = Progress(TextColumn("epoch"), MofNCompleteColumn(), BarColumn(),
                            TextColumn("cost {task.fields[cost]}"),
                            TextColumn("{task.fields[speed]} epochs/s"),
                            TimeRemainingColumn(), console=Console(stderr=True),
                            transient=True)
        self.bar.start()
        self.task = self.bar.add_task("train", total=self.total, cost="…", speed="…")
        return self.update

    def update(self, epoch, cost):
        speed = self.bar.tasks[0].speed
        self.bar.update(self.task, completed=epoch, cost=f"{cost:.5g}",
                        speed=f"{speed:,.0f}" if speed else "…")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


@main.command()
@click.argument("file", metavar="FILE.net")
@click.option("--params", type=click.Path(dir_okay=False), metavar="PATH", required=True,
              help="The trained params (JSON, as written by train --save).")
@click.option("--points", metavar="PATH|-",
              help="Rows of inputs, like the file's data rows (a header row optional). "
                   "Default: the file's own data rows.")
@click.option("--format", "fmt", type=click.Choice(["auto", "rich", "plain", "json", "csv"]),
              default="auto", show_default=True)
def predict(file, params, points, fmt):
    """Run the output node of FILE.net on rows of inputs, with trained params."""
    from .inputs import open_points
    from .net import predict_columns
    from .points import Chunk, PointReader
    from .render.rows import WRITERS

    net = _load_net(file)
    values = net.load_params(params)
    cols_in = net.column_names(net.inputs)
    from math import prod

    k_out = prod(net.builder.shape_of(net.output)[1:])
    out_cols = [net.output_name] if k_out == 1 else \
        [f"{net.output_name}{i + 1}" for i in range(k_out)]
    fmt = _resolve_format(fmt)
    out = sys.stdout
    if points is None:
        X, _ = net.load_data()
        chunks = [Chunk({c: X[:, k] for k, c in enumerate(cols_in)}, range(1, len(X) + 1))]
        reader = _FixedColumns(cols_in)
    else:
        stream, name = open_points(points)
        reader = PointReader(stream, name, cols_in, header=False)
        chunks = reader
    writer = WRITERS[fmt](out, reader, out_cols, cols_in)
    for chunk in chunks:
        writer.write(chunk, predict_columns(net, values, chunk, cols_in))
    writer.close()


class _FixedColumns:
    """A stand-in reader for the file's own data rows."""

    fmt = "csv"
    header_text = None

    def __init__(self, columns):
        self.columns = columns


@main.command()
@click.argument("source", metavar="FILE.net|EXPR")
@click.option("--params", type=click.Path(dir_okay=False), metavar="PATH",
              help="For a .net file: the params to check at (default: the seeded start).")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE[,...]",
              help="For an expression: the point.")
@click.option("--tolerance", type=float, default=1e-6, show_default=True,
              help="Largest relative error allowed against finite differences.")
@click.option("--format", "fmt", type=click.Choice(["auto", "rich", "plain", "json"]),
              default="auto", show_default=True)
def check(source, params, at, tolerance, fmt):
    """Check reverse-mode gradients against forward mode and central finite differences.

    Exit status 1 when any entry is out of tolerance.

    \b
      cgcalc check examples/xor.net
      cgcalc check 'exp(sin(x*y))' --at x=1,y=2
    """
    from .inputs import check_point, parse_assignments, read_source
    from .render.net import check_render

    text, name = read_source(source)
    if _is_net(name):
        from .net import Network, check as check_net

        net = Network(text, name)
        net.load_data()
        rows = check_net(net, _start_params(net, params))
    else:
        from .derive import check_gradients
        from .graph import parse

        graph = parse(text, name)
        if not at and graph.variables:
            raise click.UsageError("check of an expression needs a point: --at NAME=VALUE")
        point = check_point(parse_assignments(at, variables=graph.variables), graph)
        rows = check_gradients(graph, point)
    ok = check_render(rows, _resolve_format(fmt), sys.stdout, 1e-9,
                      tolerance)
    if not ok:
        raise CgcalcError("gradient check out of tolerance (see the table above)",
                          status=1)


# -- pictures --------------------------------------------------------------------------------------

@main.command()
@click.argument("source", metavar="EXPR|FILE")
@click.option("--wrt", metavar="NAME", help="Mark every path from the output down to NAME.")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE[,...]",
              help="Values on the nodes and arrows.")
@click.option("--params", type=click.Path(dir_okay=False), metavar="PATH",
              help="For a .net file: the param values (default: the seeded start).")
@click.option("--format", "fmt", type=click.Choice(["tree", "dot", "mermaid", "svg", "png"]),
              default="tree", show_default=True)
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write here instead of standard output (svg and png need it on a terminal).")
def graph(source, wrt, at, params, fmt, output):
    """Draw the graph as the seed does: operations as nodes, connection derivatives on the
    arrows, the paths to --wrt marked.

    \b
      cgcalc graph 'sin(x)*cos(x) + sin(x)' --wrt x --at x=0.5
      cgcalc graph 'exp(sin(x^2))' --format dot | dot -Tsvg > f.svg
      cgcalc graph examples/xor.net --wrt theta1 --format svg -o xor.svg
    """
    from .inputs import check_point, check_wrt, parse_assignments, read_source
    from .render import picture

    text, name = read_source(source)
    if _is_net(name):
        from .net import NetDerivation, Network

        net = Network(text, name)
        if wrt:
            _check_param(net, name, wrt)
        d = NetDerivation(net, _start_params(net, params), [wrt] if wrt else None)
        pic = picture.from_net(d, wrt)
    else:
        from .derive import Analysis
        from .graph import parse

        g = parse(text, name)
        variables = check_wrt([wrt] if wrt else [], g)
        point = check_point(parse_assignments(at, variables=g.variables), g) if at else None
        pic = picture.from_analysis(Analysis(g, variables, point), wrt)
    _write_picture(pic, fmt, output)


def _write_picture(pic, fmt, output):
    import io

    from .render import picture

    if fmt == "tree":
        from rich.console import Console

        if output:
            with open(output, "w", encoding="utf-8") as fh:
                picture.write_tree(pic, Console(file=fh, width=120, color_system=None))
        else:
            picture.write_tree(pic, Console(highlight=False))
        return
    buf = io.StringIO()
    (picture.write_mermaid if fmt == "mermaid" else picture.write_dot)(pic, buf)
    text = buf.getvalue()
    if fmt in ("dot", "mermaid"):
        if output:
            _write_file(output, text.encode())
        else:
            click.echo(text, nl=False)
        return
    data = _graphviz(text, fmt, output)
    if output:
        _write_file(output, data)
    elif sys.stdout.isatty():
        raise click.UsageError(f"--format {fmt} writes a file: give -o PATH")
    else:
        sys.stdout.buffer.write(data)


def _graphviz(dot_text, fmt, output):
    """Render with Graphviz's dot program; without it, keep the DOT text and say how to get dot."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        kept = ""
        if output:
            base = output.rsplit(".", 1)[0] if "." in os.path.basename(output) else output
            _write_file(base + ".dot", dot_text.encode())
            kept = f"; the DOT text is in {base}.dot"
        raise CgcalcError(f"--format {fmt} needs Graphviz's dot program, which is not installed"
                          f"{kept}", hint="install it (Debian/Ubuntu: apt-get install graphviz; "
                          "macOS: brew install graphviz), or use --format dot")
    p = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True)
    if p.returncode != 0:
        raise CgcalcError(f"dot failed: {p.stderr.decode(errors='replace').strip()}",
                          status=1)
    return p.stdout


def _write_file(path, data: bytes):
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise CgcalcError(f"cannot write {path}: {exc.strerror}", filename=path) from None
