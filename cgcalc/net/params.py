"""A network's params: the start drawn with the file's seed, and params files (JSON objects of arrays) read and
written. A params file is checked whole as it is read: exactly the network's params, each an
array of finite numbers of its declared shape."""

from __future__ import annotations

import json

from .. import arraymath
from ..errors import CgcalcError
from ..files import read_bytes, write_output
from ..rows import loads_json
from ..rows.formats import JsonProblem, fits_float
from .model import Network


def initial_params(net: Network, seed=None, rng=None):
    """One numpy.random.default_rng(seed) (the file's seed unless given; or ``rng``) draws every
    param in the order declared, each as one array of its shape."""
    import numpy as np

    if rng is None:
        rng = np.random.default_rng(net.options["seed"] if seed is None else seed)
    out = {}
    for name in net.params:
        d = net.decls[name]
        kind, args = ("uniform", [-1.0, 1.0]) if d.init is None else (d.init[0].value,
                                                                      d.init[1])
        if kind == "uniform":
            out[name] = rng.uniform(args[0], args[1], size=d.dims)
        else:
            out[name] = rng.normal(args[0], args[1], size=d.dims)
    return out


def load_params(net: Network, path):
    """The params in the JSON file ``path``, checked against the network's declarations."""
    import numpy as np

    from ..inputs import decode

    text = decode(read_bytes(path, "params file"), path)

    def fail(msg, key=None, hint=None):
        place = {}
        if key is not None:  # point at the key in the file
            at = text.find(json.dumps(key))
            if at >= 0:
                line = text.count("\n", 0, at) + 1
                place = dict(line=line, column=at - (text.rfind("\n", 0, at) + 1) + 1,
                             width=len(json.dumps(key)))
        return CgcalcError(msg, source=text, filename=path, hint=hint, **place)

    try:
        doc = loads_json(text)
    except json.JSONDecodeError as exc:
        raise CgcalcError(f"params file is not JSON: {exc.msg}", source=text, filename=path,
                          line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise fail("params file is not JSON this program reads: nested too deeply") from None
    except JsonProblem as exc:
        line, col = exc.place(text) or (None, None)
        raise CgcalcError(f"params file: {exc}", source=text, filename=path, line=line,
                          column=col, width=len(exc.token)) from None
    except ValueError as exc:
        raise fail(f"params file: {exc}") from None
    if not isinstance(doc, dict):
        raise fail("params file must be a JSON object: {\"param\": [[...], ...], ...}")
    extra = [k for k in doc if k not in net.param_names]
    if extra:
        raise fail(f"{extra[0]!r} is not a param of {net.filename} (params: "
                   f"{', '.join(net.params)})", extra[0])
    missing = [p for p in net.params if p not in doc]
    if missing:
        raise fail(f"params file has no {', '.join(map(repr, missing))}")
    out = {}
    for name in net.params:
        want = tuple(net.decls[name].dims)
        arr = _array(doc[name], np)
        if arr is None:
            raise fail(f"{name!r} is not an array of numbers", name)
        if arr.shape != want:
            raise fail(f"{name!r} has shape {arraymath.show(arr.shape)} in the params file, "
                       f"but the network declares {arraymath.show(want)}", name)
        out[name] = arr
    return out


def _array(value, np):
    """A float array of ``value`` (nested lists of numbers, no booleans or nulls), or None."""
    stack = [value]
    while stack:  # iterative: a list nested 10^5 deep is refused, not a crash
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        elif isinstance(v, int) and not fits_float(v):
            return None
    try:
        arr = np.array(value, dtype=float)
    except (ValueError, TypeError):  # ragged
        return None
    return arr if arr.dtype == float else None


def save_params(params, path):
    """The params as JSON, written safely (cgcalc/files.py: atomic, links and devices kept)."""
    doc = {k: v.tolist() for k, v in params.items()}
    write_output(path, (json.dumps(doc) + "\n").encode("utf-8"))
