"""The command line: arguments in, exit status out. The work is cgcalc/commands.py's.

Exit statuses: 0 success; 2 bad input of any kind, with ``error:`` and the place on standard
error; 1 a run that failed otherwise (a check out of tolerance, training that diverged); 130
Ctrl-C. A reader that goes away (``| head``) ends the run quietly.
"""

from __future__ import annotations

import errno
import os
import sys

import click
from click.core import ParameterSource

from . import __version__, limits
from .api import FEW_COLLECTIONS
from .errors import CgcalcError
from .render import FORMATS

DIFF_FORMATS = list(FORMATS)


_READS = ("source", "file", "params", "points")  # the arguments that name what a run reads


class _Command(click.Command):
    """An argument that starts with ``-`` but is not one of the command's options (``-x^2``,
    ``-sin(x)``) is the expression, never an unknown option. Standard input is read once."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, _expressions_last(self, ctx, args))

    def invoke(self, ctx):
        from .inputs import stdin_once

        stdin_once([(p.opts[-1] if isinstance(p, click.Option) else p.human_readable_name,
                     ctx.params.get(p.name)) for p in self.params if p.name in _READS])
        return super().invoke(ctx)


def _expressions_last(command, ctx, args):
    """``args`` with each argument that reads as an expression moved after a ``--``."""
    if "--" in args:
        return args
    takes_value, flags = set(), set()
    for p in command.params:
        if isinstance(p, click.Option):
            (flags if p.is_flag else takes_value).update(p.opts + p.secondary_opts)
    flags.update(ctx.help_option_names)
    kept, moved = [], []
    for i, a in enumerate(args):
        after_option = i and args[i - 1] in takes_value
        if (a.startswith("-") and not a.startswith("--") and len(a) > 1 and not after_option
                and not _is_short_option(a, takes_value, flags)):
            moved.append(a)
        else:
            kept.append(a)
    return [*kept, "--", *moved] if moved else kept


def _is_short_option(a, takes_value, flags):
    if a[:2] in takes_value:
        return True  # -o PATH, or -oPATH
    short_flags = {f[1] for f in flags if len(f) == 2}
    return all(c in short_flags for c in a[1:])  # -q, -qh


class _Group(click.Group):
    """click, with usage errors as ``error: ...`` (exit 2), quiet broken pipes and Ctrl-C, and
    output that cannot be written reported as such."""

    command_class = _Command

    def main(self, args=None, prog_name=None, **kw):
        # A run allocates graph nodes by the hundred thousand and frees them at exit; none are in
        # reference cycles. Python's default collector would scan them again and again (~13% of a
        # 20,000-deep derivative); collecting rarely keeps it for the garbage that has cycles.
        import gc

        gc.set_threshold(*FEW_COLLECTIONS)
        limits.reset()  # --max-entries holds for this run only
        try:
            if sys.stdout is None:
                raise CgcalcError("standard output is closed: nowhere to write the result")
            rv = super().main(args=args, prog_name=prog_name or "cgcalc", standalone_mode=False,
                              **kw)
            sys.stdout.flush()
            sys.exit(rv or 0)
        except click.exceptions.NoArgsIsHelpError as e:  # click >= 8.2
            click.echo(f"error: no command given\n  usage: {e.ctx.command_path} COMMAND ..."
                       f"\n  see: {e.ctx.command_path} --help", err=True)
            sys.exit(2)
        except click.UsageError as e:
            hint = ""
            if e.ctx is not None:
                usage = " ".join(e.ctx.command.collect_usage_pieces(e.ctx))
                hint = (f"\n  usage: {e.ctx.command_path} {usage}"
                        f"\n  see: {e.ctx.command_path} --help")
            click.echo(f"error: {e.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _quiet_stdout()
            sys.exit(130)
        except CgcalcError as e:
            click.echo(e.render(), err=True)
            sys.exit(e.status)
        except MemoryError as e:  # the limits bound each array, not what a run holds at once
            _quiet_stdout()
            said = f" ({e})" if str(e) else ""
            click.echo(f"error: out of memory{said}: the run needs more memory than this "
                       f"process may have\n  hint: fewer rows (or --batch for training), "
                       f"smaller layers, or more memory", err=True)
            sys.exit(1)
        except OSError as e:  # reads are checked where they happen: this is the output failing
            if e.errno == errno.EPIPE:  # the reader went away (`| head`): nothing to say
                _quiet_stdout()
                sys.exit(1)
            _quiet_stdout()
            where = f" {e.filename}" if e.filename else " to standard output"
            click.echo(f"error: cannot write{where}: {e.strerror or e}", err=True)
            sys.exit(2)
        except UnicodeEncodeError as e:  # the output's encoding (PYTHONIOENCODING=ascii, a C
            # locale) cannot write what the result holds: ∂ in a table, θ in a name
            _quiet_stdout()
            click.echo(f"error: standard output's encoding ({e.encoding}) cannot write "
                       f"{e.object[e.start:e.end]!r}\n  hint: set PYTHONIOENCODING=utf-8, or "
                       f"a UTF-8 locale", err=True)
            sys.exit(2)
        except Exception as e:  # a bug: say so in one line; CGCALC_DEBUG=1 shows the traceback
            if os.environ.get("CGCALC_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(e).__name__}: {e}); please report it "
                       f"(CGCALC_DEBUG=1 shows where)", err=True)
            sys.exit(1)


def _quiet_stdout():
    """Standard output to /dev/null, so Python's flush at exit cannot complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cgcalc")
def main():
    """cgcalc: derivatives on computational graphs, shown path by path.

    \b
      cgcalc diff 'exp(sin(x^2))' --at x=1
      cgcalc diff 'v = x^2; u = sin(v); f = exp(u)' --format json
      cgcalc diff 'x*y + sin(x*y)' --at x=1,y=2 --format plain
      cgcalc train examples/xor.net
    """


class _Plain:
    """A click number type that first asks for the number to be written as cgcalc writes them
    everywhere (inputs.written_plainly): click's int and float are Python's, which take
    ``1_000`` and other scripts' digits."""

    def convert(self, value, param, ctx):
        from .inputs import written_plainly

        whole = isinstance(self, click.types.IntParamType)
        if isinstance(value, str) and not written_plainly(value, whole):
            self.fail(f"{value!r} is not a {'whole ' if whole else ''}number", param, ctx)
        return super().convert(value, param, ctx)


class _Int(_Plain, click.types.IntParamType):
    pass


class _IntRange(_Plain, click.IntRange):
    pass


class _Float(_Plain, click.types.FloatParamType):
    pass


class _Finite(_Float):
    """A finite number >= 0 (click's FloatRange lets nan and inf through)."""

    name = "number"

    def convert(self, value, param, ctx):
        import math

        v = super().convert(value, param, ctx)
        if not math.isfinite(v) or v < 0:
            self.fail(f"{value!r} is not a finite number >= 0", param, ctx)
        return v


_FINITE = _Finite()
_INT, _FLOAT = _Int(), _Float()


def _format(fmt: str) -> str:
    if fmt == "auto":
        return "rich" if sys.stdout.isatty() else "plain"
    return fmt


def _refuse(ctx, names, why):
    """Options that do not apply are refused (exit 2), never silently ignored."""
    for name in names:
        if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE,
                                              ParameterSource.ENVIRONMENT):
            opt = next(p for p in ctx.command.params if p.name == name).opts[-1]
            raise click.UsageError(f"{opt} {why}", ctx)


def _source(arg, network=False):
    from .inputs import read_source

    return read_source(arg, network)


def _max_entries(ctx, param, value):
    if value is not None:
        from .limits import set_limit

        set_limit("CGCALC_MAX_ENTRIES", value)
    return value


max_entries_option = click.option(
    "--max-entries", type=_IntRange(1, None), metavar="N", expose_value=False,
    callback=_max_entries, is_eager=True,
    help="Largest array (params, data, a node's value over all rows) a network may use. "
         "Default 50,000,000 entries.")
params_option = click.option(
    "--params", type=click.Path(dir_okay=False), metavar="PATH",
    help="For a .net file: the param values (JSON). Default: drawn with the file's seed.")


@main.command()
@click.argument("source", metavar="EXPR|FILE")
@click.option("--wrt", multiple=True, metavar="NAME",
              help="Differentiate by NAME (repeatable). Default: every input variable (every "
                   "param of a .net file).")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE[,...]",
              help="The point, e.g. --at x=1,y=pi/2 (repeatable).")
@click.option("--format", "fmt", type=click.Choice(DIFF_FORMATS), default="auto",
              show_default=True, help="auto is rich on a terminal, plain otherwise.")
@click.option("--order", "order_n", type=_IntRange(1, 8), default=1, show_default=True,
              help="Derivative order: 2 gives second derivatives and mixed partials.")
@click.option("--mode", type=click.Choice(["reverse", "forward"]), default="reverse",
              show_default=True, help="forward also shows d node/d var on every node.")
@click.option("--max-paths", type=_IntRange(0, None), default=20, show_default=True,
              help="How many paths to list per variable (the count is always exact).")
@click.option("--points", metavar="PATH|-",
              help="Many points: CSV with a header naming the variables, or JSON Lines; "
                   "one output row per input row. For a .net file: data rows to use (a "
                   "header row, if any, names the columns in order).")
@click.option("--input-format", type=click.Choice(["auto", "csv", "jsonl"]), default="auto",
              show_default=True, help="How --points is written.")
@params_option
@max_entries_option
@click.pass_context
def diff(ctx, source, wrt, at, fmt, order_n, mode, max_paths, points, input_format, params):
    """Differentiate EXPR (or the program in FILE, or - for standard input).

    Shows the graph, every connection derivative, the paths from the output to each variable
    with their products, and the derivative, symbolic and at the --at point. For a network
    file (.net): backpropagation derived on its graph, at its params.

    \b
      cgcalc diff 'exp(sin(x^2))' --at x=1
      cgcalc diff 'sin(x)*cos(x) + sin(x)' --at x=0.5 --format json
      cgcalc diff 'x^2*y' --wrt x --order 2
      cgcalc diff examples/xor.net --wrt theta2
    """
    from . import commands

    text, name = _source(source)
    fmt = _format(fmt)
    if commands.is_net(name):
        _refuse(ctx, ["at"], "does not apply to a network file (its params come from --params)")
        _refuse(ctx, ["order_n", "mode", "input_format"],
                "does not apply to a network file (diff of a network is its first derivatives, "
                "in reverse mode, at its own data rows or --points)")
        net = commands.load_net(text, name)
        commands.diff_net(net, fmt, sys.stdout, wrt=wrt, params=params, max_paths=max_paths,
                          points=points)
        return
    _refuse(ctx, ["params"], "is for network files (.net); an expression takes --at")
    if points is not None:
        from .render.rows import WRITERS

        if fmt not in WRITERS:
            raise click.UsageError(f"--points writes rows: use --format csv, json, plain or "
                                   f"rich, not {fmt}", ctx)
        _refuse(ctx, ["mode", "max_paths"], "does not apply to --points rows")
    commands.diff_expression(text, name, wrt, at, fmt, sys.stdout, order_n=order_n, mode=mode,
                             max_paths=max_paths, points=points, input_format=input_format)


@main.command()
@click.argument("file", metavar="FILE.net")
@click.option("--epochs", type=_INT, help="Default: the file's train line.")
@click.option("--rate", type=_FLOAT, help="Learning rate (Adam: its step size).")
@click.option("--seed", type=_INT, help="Seed for the initial params and the shuffles.")
@click.option("--batch", type=_INT, help="Rows per step, shuffled each epoch. Default: all.")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]),
              help="Default: the file's train line, else sgd.")
@click.option("--beta", type=_FLOAT, help="Momentum's beta (0.9).")
@click.option("--beta1", type=_FLOAT, help="Adam's beta1 (0.9).")
@click.option("--beta2", type=_FLOAT, help="Adam's beta2 (0.999).")
@click.option("--eps", type=_FLOAT, help="Adam's epsilon (1e-8).")
@click.option("--save", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the trained params here (JSON; the old file is replaced whole, or "
                   "kept if anything fails).")
@click.option("--params", type=click.Path(dir_okay=False), metavar="PATH",
              help="Start from these params instead of drawing them with --seed.")
@click.option("--format", "fmt", type=click.Choice(["auto", "rich", "plain", "json"]),
              default="auto", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@max_entries_option
def train(file, save, params, fmt, quiet, **flags):
    """Train FILE.net by gradient descent on the gradients derived on its own graph.

    Each option of the file's train line is also a flag here; a flag overrides the file.
    Ctrl-C stops the training and keeps (and saves) the params reached; exit status 130.

    \b
      cgcalc train examples/xor.net
      cgcalc train examples/xor.net --epochs 20000 --save xor.json
      cgcalc train examples/spirals.net --optimizer adam --batch 32
      cgcalc predict examples/xor.net --params xor.json
    """
    from . import commands
    from .render.training import Progress

    net = commands.load_net(*_source(file, network=True))
    given = {k: v for k, v in flags.items() if v is not None}
    interrupted = commands.train_net(net, given, _format(fmt), sys.stdout, params=params,
                                     save=save, progress=lambda total: Progress(total, quiet))
    if interrupted:
        sys.exit(130)


@main.command()
@click.argument("file", metavar="FILE.net")
@click.option("--params", type=click.Path(dir_okay=False), metavar="PATH", required=True,
              help="The trained params (JSON, as written by train --save).")
@click.option("--points", metavar="PATH|-",
              help="Rows of inputs, like the file's data rows (a header row optional, naming "
                   "the columns in order: X1, X2 for input X[2]; targets after '->' are left "
                   "out). Default: the file's own data rows.")
@click.option("--format", "fmt", type=click.Choice(["auto", "rich", "plain", "json", "csv"]),
              default="auto", show_default=True)
@max_entries_option
def predict(file, params, points, fmt):
    """Run the output node of FILE.net on rows of inputs, with trained params."""
    from . import commands

    net = commands.load_net(*_source(file, network=True))
    commands.predict_net(net, params, points, _format(fmt), sys.stdout)


@main.command()
@click.argument("source", metavar="FILE.net|EXPR")
@params_option
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE[,...]",
              help="For an expression: the point.")
@click.option("--tolerance", type=_FINITE, default=1e-6, show_default=True,
              help="Largest relative error allowed against finite differences.")
@click.option("--format", "fmt", type=click.Choice(["auto", "rich", "plain", "json"]),
              default="auto", show_default=True)
@max_entries_option
@click.pass_context
def check(ctx, source, params, at, tolerance, fmt):
    """Check reverse-mode gradients against forward mode and central finite differences.

    Exit status 1 when any entry is out of tolerance.

    \b
      cgcalc check examples/xor.net
      cgcalc check 'exp(sin(x*y))' --at x=1,y=2
    """
    from . import commands

    text, name = _source(source)
    if commands.is_net(name):
        _refuse(ctx, ["at"], "does not apply to a network file (its params come from --params)")
        commands.check_net(commands.load_net(text, name), params, _format(fmt), sys.stdout,
                           tolerance)
    else:
        _refuse(ctx, ["params"], "is for network files (.net); an expression takes --at")
        commands.check_expression(text, name, at, _format(fmt), sys.stdout, tolerance)


@main.command()
@click.argument("source", metavar="EXPR|FILE")
@click.option("--wrt", metavar="NAME", help="Mark every path from the output down to NAME.")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE[,...]",
              help="Values on the nodes and arrows.")
@params_option
@click.option("--format", "fmt", type=click.Choice(["tree", "dot", "mermaid", "svg", "png"]),
              default="tree", show_default=True)
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write here instead of standard output (svg and png need it on a terminal).")
@click.option("--unroll", is_flag=True,
              help="A recurrent network's every step, not one step t with its t-1 arrow.")
@max_entries_option
@click.pass_context
def graph(ctx, source, wrt, at, params, fmt, output, unroll):
    """Draw the graph: operations as nodes, connection derivatives on the arrows, the paths to
    --wrt marked.

    \b
      cgcalc graph 'sin(x)*cos(x) + sin(x)' --wrt x --at x=0.5
      cgcalc graph 'exp(sin(x^2))' --format dot | dot -Tsvg > f.svg
      cgcalc graph examples/xor.net --wrt theta1 --format svg -o xor.svg
      cgcalc graph examples/first.net --unroll --format png -o first.png
    """
    from . import commands
    from .render import exact_counts

    text, name = _source(source)
    commands.output_checked(output, "-o", name)  # before the drawing, not after it
    with exact_counts():
        if commands.is_net(name):
            _refuse(ctx, ["at"], "does not apply to a network file (its params come from "
                                 "--params)")
            net = commands.load_net(text, name)
            commands.not_an_input(output, "-o", commands.inputs_of(name, net, params))
            pic = commands.graph_net(net, wrt, params, unroll)
        else:
            _refuse(ctx, ["params"], "is for network files (.net); an expression takes --at")
            _refuse(ctx, ["unroll"], "is for recurrent network files (.net with 'steps T')")
            pic = commands.graph_expression(text, name, wrt, at)
        commands.write_picture(pic, fmt, output, sys.stdout.isatty())


@main.command("export")
@click.argument("source", metavar="EXPR|FILE|FILE.net")
@click.option("--to", "backend", type=click.Choice(["numpy", "torch", "jax"]), default="numpy",
              show_default=True, help="The library the module uses (and nothing else).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the module here (replaced whole, or left as it was); default: "
                   "standard output.")
@max_entries_option
def export_(source, backend, output):
    """Write the derived code as a standalone Python module: value and grad of an expression;
    init_params, forward, cost, gradients (the derived backward pass) and train of a network.

    \b
      cgcalc export 'exp(sin(x*y))' --to numpy -o f.py
      cgcalc export examples/xor.net --to torch -o xor_torch.py
      cgcalc export examples/first.net --to jax -o first_jax.py
    """
    from . import commands

    commands.export(*_source(source), backend, output)


@main.command()
def functions():
    """List the functions a program may call, with the derivative rule of each."""
    from . import commands

    commands.functions(sys.stdout)
