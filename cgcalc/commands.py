"""What each command does, without the command line: read what it names, compute, write the
result to ``out``. cgcalc/cli.py parses the arguments and turns errors into exit statuses;
everything here raises CgcalcError for bad input and returns normally otherwise."""

from __future__ import annotations

import sys

from . import limits
from .errors import FAILURE, CgcalcError


def is_net(name: str) -> bool:
    return name.endswith(".net")


def warn(message: str) -> None:
    sys.stderr.write(message + "\n")


# -- expressions ---------------------------------------------------------------------------------

def diff_expression(text, name, wrt, at, fmt, out, *, order_n=1, mode="reverse", max_paths=20,
                    points=None, input_format="auto"):
    from .derive import Analysis
    from .graph import parse
    from .inputs import check_point, check_wrt, parse_assignments

    graph = parse(text, name)
    variables = check_wrt(wrt, graph)
    if points is not None:
        fixed = parse_assignments(at, variables=graph.variables) if at else {}
        return points_rows(graph, variables, fixed, points, input_format, fmt, out, order_n)
    point = None
    if at:
        point = check_point(parse_assignments(at, variables=graph.variables), graph)
    from . import render

    render.diff(Analysis(graph, variables, point, order_n=order_n, max_paths=max_paths,
                         mode=mode), fmt, out)


def points_rows(graph, wrt, fixed, path, input_format, fmt, out, order_n):
    """One output row per input point: the value and each derivative, on one compiled tape."""
    from .derive import compile_outputs, derivative_outputs
    from .evaluate import run_rows
    from .files import open_input
    from .render.rows import WRITERS
    from .rows import RowReader

    outputs = derivative_outputs(graph, wrt, order_n)
    tape = compile_outputs(graph, outputs)
    name = "<stdin>" if path == "-" else path
    with _closing(open_input(path)) as stream:
        reader = RowReader(stream, name, graph.variables, fmt=input_format, fixed=fixed)
        labels = [k for k, _ in outputs]
        writer = WRITERS[fmt](out, reader, labels, graph.variables)
        reader.writes(labels, keys_carried=writer.KEYS_CARRIED, by_name=writer.BY_NAME)
        _, bad, first = run_rows(reader, tape, graph.variables, writer)
    if bad:
        warn(f"warning: {bad} row{'s' if bad > 1 else ''} gave a value that is not a finite "
             f"number (outside a function's domain, or too large: nan or inf in CSV, null in "
             f"JSON); the first is line {first} of {name}")


def check_expression(text, name, at, fmt, out, tolerance):
    from .derive import check_gradients
    from .graph import parse
    from .inputs import check_point, parse_assignments
    from .render.check import check_render

    graph = parse(text, name)
    if not at and graph.variables:
        raise CgcalcError("check of an expression needs a point: --at NAME=VALUE")
    point = check_point(parse_assignments(at, variables=graph.variables), graph)
    return _checked(check_render(check_gradients(graph, point), fmt, out, 1e-9, tolerance))


def graph_expression(text, name, wrt, at):
    from .derive import Analysis
    from .graph import parse
    from .inputs import check_point, check_wrt, parse_assignments
    from .render import picture

    g = parse(text, name)
    variables = check_wrt([wrt] if wrt else [], g)
    point = check_point(parse_assignments(at, variables=g.variables), g) if at else None
    analysis = Analysis(g, variables, point)
    if point is not None:
        analysis.derivatives()  # as diff: a derivative without a value at the point fails
    return picture.from_analysis(analysis, wrt)


def _checked(ok):
    if not ok:
        raise CgcalcError("gradient check out of tolerance (see the table above)",
                          status=FAILURE)


# -- networks --------------------------------------------------------------------------------------

def load_net(text, name):
    from .net import Network

    return Network(text, name)


def check_params(net, names, option="--wrt"):
    for w in names:
        if w not in net.param_names:
            from .errors import suggest

            near = suggest(w, net.params)
            raise CgcalcError(f"{w!r} is not a param of {net.filename} (params: "
                              f"{', '.join(net.params)})", source=f"{option} {w}", line=1,
                              column=len(option) + 2, width=len(w), filename=option,
                              hint=f"did you mean {near}?" if near else None)


def net_data(net, points=None):
    """(X, Y): the rows given with --points (read like the file's data rows), else the file's."""
    from .net.data import file_data, rows_data

    if points is None:
        return file_data(net)
    from .files import open_input

    name = "<stdin>" if points == "-" else points
    with _closing(open_input(points)) as stream:
        return rows_data(net, stream, name, named_in_order=True)


def start(net, params_path=None, seed=None):
    """(params, generator): the params file's, or drawn with the file's seed (or ``seed``);
    the generator goes on to shuffle minibatches."""
    import numpy as np

    from .net.params import initial_params, load_params

    rng = np.random.default_rng(net.options["seed"] if seed is None else seed)
    if params_path:
        return load_params(net, params_path), rng
    return initial_params(net, rng=rng), rng


def derivation(net, params_path, wrt, max_paths, points=None):
    from .net.derivation import NetDerivation

    check_params(net, wrt)
    data = net_data(net, points)
    params, _ = start(net, params_path)
    return NetDerivation(net, params, data, wrt or None, max_paths=max_paths)


def diff_net(net, fmt, out, *, wrt=(), params=None, max_paths=20, points=None):
    from . import render

    render.diff(derivation(net, params, wrt, max_paths, points), fmt, out, net=True)


def train_net(net, flags, fmt, out, *, params=None, save=None, progress=None):
    """Train with the file's options, ``flags`` (name -> value, checked here) over them.
    Returns True when Ctrl-C stopped it (the params reached are saved and shown)."""
    from .net.options import option
    from .net.params import save_params
    from .net.train import train
    from .render import training

    options = dict(net.options)
    for name, value in flags.items():
        options[name] = option(name, value, flag=f"--{name}")
    if save is not None:
        output_checked(save, "--save")  # before the training, not after it
        # (--save onto --params is training on in place: the params are read before the write)
        not_an_input(save, "--save", inputs_of(net.filename, net))
    data = net_data(net)
    start_params, rng = start(net, params, options["seed"])
    with progress(options["epochs"]) as report:
        result = train(net, start_params, data, options, rng=rng, progress=report)
    unsaved = None
    if save:
        try:
            save_params(result.params, save)
        except CgcalcError as exc:  # a full disk: the run's result is still shown, then this
            unsaved = exc
    {"rich": training.render_rich, "plain": training.render_plain,
     "json": training.render_json}[fmt](net, data, result, out)
    if result.interrupted:
        warn(f"interrupted at epoch {result.epochs}" + (f"; params saved to {save}"
                                                         if save and not unsaved else ""))
    if unsaved is not None:
        where = ("they are in the JSON above" if fmt == "json" else
                 "--format json prints them with the result")
        raise CgcalcError(f"{unsaved.message}; the trained params were not saved",
                          hint=f"{where}; train again with --save where they can be written")
    return result.interrupted


def inputs_of(name, net=None, params=None):
    """The files a run reads: the program or network file, a network's data file and the
    params file (``-``, standard input, is none)."""
    import os

    inputs = [] if name in ("<expr>", "<stdin>") else [name]
    if params and params != "-":
        inputs.append(params)
    if net is not None and net.spec.data_file is not None:
        folder = os.path.dirname(os.path.abspath(net.filename))
        inputs.append(os.path.join(folder, net.spec.data_file.value.strip('"')))
    return inputs


def not_an_input(output, option, inputs):
    """What a run writes never replaces what it reads (-o onto the program, --save onto the
    network, its data or its params)."""
    import os

    if not output:
        return
    target = os.path.realpath(output)
    for path in inputs:
        if os.path.exists(path) and os.path.realpath(path) == target:
            raise CgcalcError(f"{option} {output} would replace {path}, which this run reads",
                              hint="write to a file of its own")


def predict_net(net, params, points, fmt, out):
    from .net.backprop import predictor
    from .net.data import input_rows
    from .net.params import load_params
    from .render.rows import WRITERS
    from .rows import Chunk

    if net.output is None:
        raise CgcalcError(f"{net.filename} has no 'output' line: nothing to predict",
                          hint="add a line such as: output L3")
    predict = predictor(net, load_params(net, params))  # one tape for every chunk of rows
    cols = net.column_names(net.inputs)
    out_cols = net.output_columns() + (["class"] if net.classifier else [])

    def predicted(chunk):
        import numpy as np

        X = np.column_stack([chunk.columns[c] for c in cols])
        P = predict(X).reshape(len(X), -1)
        columns = [P[:, k] for k in range(P.shape[1])]
        if net.classifier:  # the class: the index of the largest entry of each row
            columns.append(P.argmax(axis=1))
        return columns

    if points is None:
        X, _ = net_data(net)
        reader = _OwnRows(cols)
        chunk = Chunk({c: X[:, k] for k, c in enumerate(cols)}, range(1, len(X) + 1))
        writer = WRITERS[fmt](out, reader, out_cols, cols)
        writer.write(chunk, predicted(chunk))
        writer.close()
        return
    from .files import open_input

    name = "<stdin>" if points == "-" else points
    with _closing(open_input(points)) as stream:
        reader = input_rows(net, stream, name)
        writer = WRITERS[fmt](out, reader, out_cols, cols)
        for chunk in reader:
            writer.write(chunk, predicted(chunk))
        writer.close()


class _OwnRows:
    """What the row writers ask of a reader, for the file's own data rows."""

    fmt = "rows"
    header_text = None

    def __init__(self, columns):
        self.columns = columns


def check_net(net, params, fmt, out, tolerance):
    from .net.check import check
    from .render.check import check_render

    data = net_data(net)
    start_params, _ = start(net, params)
    rows, unchecked = check(net, start_params, data)
    return _checked(check_render(rows, fmt, out, 1e-9, tolerance, unchecked))


def graph_net(net, wrt, params, unroll=False):
    """The network's picture; a recurrent one rolled up (one step t) unless ``unroll``."""
    from .render import picture

    if wrt:
        check_params(net, [wrt])
    if unroll and net.recurrence is None:
        raise CgcalcError("--unroll draws a recurrent network's steps; this network has none "
                          "(no 'steps T' line)")
    d = derivation(net, params, [wrt] if wrt else [], 20)
    if net.recurrence is not None and not unroll:
        return picture.from_steps(d, wrt)
    return picture.from_net(d, wrt)


# -- pictures --------------------------------------------------------------------------------------

def output_checked(output, option, source_name=None):
    """Refuse now, before the work, an output (``-o``, ``--save``) that the write at its end
    would refuse (cgcalc/files.py), or that is one of the run's inputs (``source_name``'s)."""
    if source_name is not None:
        not_an_input(output, option, inputs_of(source_name))
    if output is not None:
        from .files import check_output

        check_output(output, option)


def write_picture(pic, fmt, output, stdout_is_terminal):
    import io

    from .files import write_output
    from .render import picture

    if fmt == "tree":
        from .render.common import console

        if output:
            buf = io.StringIO()
            picture.write_tree(pic, console(file=buf, width=120, color_system=None))
            write_output(output, buf.getvalue().encode("utf-8"))
        else:
            picture.write_tree(pic, console())
        return
    buf = io.StringIO()
    placed = fmt not in ("dot", "mermaid") and len(pic.nodes) > picture.PLACE_OVER
    if fmt == "mermaid":
        picture.write_mermaid(pic, buf)
    else:
        picture.write_dot(pic, buf, placed=placed)
    text = buf.getvalue()
    if fmt in ("dot", "mermaid"):
        if output:
            write_output(output, text.encode("utf-8"))
        else:
            sys.stdout.write(text)
        return
    if not output and stdout_is_terminal:
        raise CgcalcError(f"--format {fmt} writes a file: give -o PATH")
    data = _graphviz(text, fmt, output, ["-Kneato", "-n2"] if placed else [])
    if output:
        write_output(output, data)
    else:
        sys.stdout.buffer.write(data)


def _graphviz(dot_text, fmt, output, layout=()):
    """Render with Graphviz's dot program (``layout``: its options for placed nodes); without
    it, keep the DOT text and say how to get dot."""
    import os
    import shutil
    import subprocess

    from .files import write_output

    exe = shutil.which("dot")
    if exe is None:
        kept = ""
        # the DOT text beside a file the picture was to be (never beside a stream, a device)
        if output and (os.path.isfile(output) or not os.path.lexists(output)) and \
                not output.startswith(("/dev/", "/proc/")):
            base = output.rsplit(".", 1)[0] if "." in os.path.basename(output) else output
            if os.path.lexists(base + ".dot"):  # never over a file the user has
                kept = f"; {base}.dot exists, so the DOT text was not written"
            else:
                write_output(base + ".dot", dot_text.encode("utf-8"))
                kept = f"; the DOT text is in {base}.dot"
        raise CgcalcError(f"--format {fmt} needs Graphviz's dot program, which is not installed"
                          f"{kept}", hint="install it (Debian/Ubuntu: apt-get install graphviz; "
                          "macOS: brew install graphviz), or use --format dot")
    most = limits.limit("CGCALC_MAX_GRAPHVIZ")
    p = subprocess.run([exe, *layout, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                       capture_output=True, preexec_fn=_at_most(most))
    if p.returncode != 0:
        said = p.stderr.decode(errors="replace").strip() or f"exit status {p.returncode}"
        raise CgcalcError(f"dot failed: {said}", status=FAILURE,
                          hint=f"dot may take {most:,} bytes here; a picture this large may "
                               f"need more (CGCALC_MAX_GRAPHVIZ=BYTES), or use --format dot")
    return p.stdout


def _at_most(size):
    """What a child process runs before its program: its address space held to ``size`` bytes
    (where the system lets a process say so), so memory stays bounded whatever it draws."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return None

    def limit():
        try:
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        except (ValueError, OSError, OverflowError):  # past what the system counts: no bound
            pass
    return limit


class _closing:
    """Close a stream we opened (never standard input)."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        from .files import is_stdin

        if not is_stdin(self.stream):
            self.stream.close()
        return False


# -- export ----------------------------------------------------------------------------------------

def export(text, name, backend, output):
    """The derived code as a module of the user's own (cgcalc/export/module.py)."""
    from .codegen import PastFloats
    from .files import write_output

    output_checked(output, "-o", name)
    try:
        source = _module(text, name, backend, output)
    except PastFloats as exc:
        raise CgcalcError(f"cannot export {name}: {exc}, which the module's floats would "
                          f"turn into inf, losing its sign and size", status=FAILURE,
                          hint="cgcalc diff --points computes it as a backward pass") from None
    if output:
        write_output(output, source.encode("utf-8"))
    else:
        sys.stdout.write(source)


def _module(text, name, backend, output):
    """The module's source (``output``: where it goes, never onto the network's own files)."""
    from .export.module import expression_module, network_module

    if is_net(name):
        net = load_net(text, name)
        not_an_input(output, "-o", inputs_of(name, net))
        title = (f"{name}: the network, its cost and the gradients cgcalc derived "
                 f"(backpropagation{' through time' if net.recurrence else ''}), for {backend}")
        source = network_module(net, backend, title)
    else:
        from .derive import Analysis
        from .graph import parse
        from .inputs import check_wrt

        graph = parse(text, name)
        variables = check_wrt([], graph)
        shown = graph.program if len(graph.program) <= 60 else graph.program[:57] + "..."
        title = f"{shown}: its value and gradient, as cgcalc derives them, for {backend}"
        source = expression_module(Analysis(graph, variables), backend, title)
    return source


# -- the table of operations ----------------------------------------------------------------------

def functions(out):
    """Every function a program may call, from the op table: what it is, and its connection
    derivative (its rule, built and simplified as cgcalc builds it for every edge)."""
    from . import ops
    from .graph import Builder
    from .printer import to_text
    from .simplify import Simplifier

    rows = []
    for name in ops.callable_names():
        o = ops.OPS[ops.ALIASES.get(name, name)]
        if name in ops.ALIASES:
            rows.append((name, f"the same as {ops.ALIASES[name]}", ""))
            continue
        if o.arrays or not o.rules:
            rows.append((f"{name}(...)", o.doc or name, "(network files: arrays)"))
            continue
        b = Builder()
        args = [b.var(v) for v in "ab"[:o.arity]]
        node = b.make(o.name, *args)
        rule = [Simplifier(b)(r(b, node, *args)) for r in o.rules]
        shown = "; ".join(f"d/d{v} = {to_text(d)}" for v, d in zip("ab", rule))
        rows.append((f"{name}({', '.join('ab'[:o.arity])})", o.doc or name, shown))
    width = max(len(r[0]) for r in rows)
    middle = max(len(r[1]) for r in rows)
    for call, doc, rule in rows:
        out.write(f"{call.ljust(width)}  {doc.ljust(middle)}  {rule}".rstrip() + "\n")
