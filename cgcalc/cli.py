"""The command line: arguments in, exit status out. No math here."""

from __future__ import annotations

import os
import sys

import click

from . import __version__
from .errors import CgcalcError

FORMATS = ["auto", "rich", "plain", "json", "csv", "latex", "dot"]


class _Group(click.Group):
    """click, with usage errors as ``error: ...`` (exit 2) and quiet broken pipes and Ctrl-C."""

    def main(self, args=None, prog_name=None, **kw):
        # lark imports the third-party `regex` module when it is installed, for features our
        # grammars do not use; in this process nothing else needs it, and it costs ~12 ms of
        # start-up. (The library and the Python API leave it alone.)
        sys.modules.setdefault("regex", None)
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
def diff(source, wrt, at, fmt, order_n, mode, max_paths, points, input_format):
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
    out = click.get_text_stream("stdout")
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
    writer = WRITERS[fmt](click.get_text_stream("stdout"), reader, [k for k, _ in outputs],
                          graph.variables)
    _, bad, first = evaluate_stream(reader, tape, graph.variables, writer)
    if bad:
        click.echo(f"warning: {bad} row{'s' if bad > 1 else ''} gave nan (a value outside a "
                   f"function's domain); the first is line {first} of {name}", err=True)
