"""How each op is written in the code `cgcalc export` generates, for each library: numpy,
torch and jax. A template is a format string over the inputs' names
({0}, {1}, ...; {all} for every input joined by the op's operator), or a helper of the
module's prelude. tests/test_export.py checks that every op of the table has a template in
every backend, so an op added to cgcalc/ops.py cannot be forgotten here."""

from __future__ import annotations

from ..arraymath import SAFE_FLOOR
from ..codegen import OPERATORS

# the same in every library (operators, and functions of the array namespace "xp")
COMMON = {
    **OPERATORS, "pow": "{0} ** {1}", "matmul": "{0} @ {1}",
    "sin": "xp.sin({0})", "cos": "xp.cos({0})", "tan": "xp.tan({0})",
    "asin": "xp.arcsin({0})", "acos": "xp.arccos({0})", "atan": "xp.arctan({0})",
    "sinh": "xp.sinh({0})", "cosh": "xp.cosh({0})", "tanh": "xp.tanh({0})",
    "exp": "xp.exp({0})", "log": "xp.log({0})", "sqrt": "xp.sqrt({0})",
    "abs": "xp.abs({0})", "sign": "xp.sign({0})",
    "sum": "xp.sum({0})", "mean": "xp.mean({0})", "cols": "{0}[:, {1:int}:{2:int}]",
    "rows": "{0}.shape[0]", "safe": "_safe({0})", "step": "_step({0})",
    "sigmoid": "_sigmoid({0})", "relu": "_relu({0})", "softplus": "_softplus({0})",
    "transpose": "{0}.T", "join": "_join({all:, })", "like": "_like({0}, {1})",
    "sum_to": "_sum_to({0}, {1})", "size": "_size({0})", "rowsum": "_rowsum({0})",
    "softmax": "_softmax({0})", "log_softmax": "_log_softmax({0})",
    "cross_entropy": "_cross_entropy({0}, {1})", "mse": "_mse({0}, {1})",
    "softmax_cross_entropy": "_softmax_cross_entropy({0}, {1})",
    "zeros": "_zeros({0}, {1:int})",
}

# helpers written against numpy's names; jax.numpy has the same ones
_ARRAY_HELPERS = '''

def _sigmoid(a):
    return 1.0 / (1.0 + xp.exp(-a))


def _relu(a):
    return xp.maximum(a, 0.0)


def _softplus(a):
    return xp.logaddexp(0.0, a)


def _step(a):
    return xp.where(a > 0, 1.0, 0.0)


def _safe(a):
    return xp.maximum(a, SAFE_FLOOR)  # e^-100: where _cross_entropy clamps its logs


def _size(a):
    return float(xp.size(a))


def _zeros(rows, k):
    return xp.zeros((int(rows), k))


def _join(*parts):
    rows = next(p.shape[0] for p in parts if xp.ndim(p) == 2)
    return xp.concatenate([p if xp.ndim(p) == 2 else xp.full((rows, 1), p) for p in parts],
                          axis=1)


def _like(g, a):
    return xp.broadcast_to(g, xp.shape(a))


def _sum_to(g, a):
    shape = xp.shape(a)
    if xp.ndim(g) < len(shape):  # a number (a zero gradient): nothing was broadcast
        g = xp.reshape(g, (1,) * (len(shape) - xp.ndim(g)) + xp.shape(g))
    while xp.ndim(g) > len(shape):
        g = g.sum(axis=0)
    for k, d in enumerate(shape):
        if d == 1 and g.shape[k] != 1:
            g = g.sum(axis=k, keepdims=True)
    return g


def _rowsum(a):
    return xp.sum(a, axis=1, keepdims=True)


def _log_softmax(z):
    shifted = z - xp.max(z, axis=1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def _softmax(z):
    e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
    return e / xp.sum(e, axis=1, keepdims=True)


def _cross_entropy(p, y):
    logp = xp.maximum(xp.log(p), -100.0)  # a confident 0 or 1 stays finite
    log1mp = xp.maximum(xp.log(1 - p), -100.0)
    return -xp.sum(y * logp + (1 - y) * log1mp) / p.shape[0]


def _mse(p, y):
    return xp.sum((p - y) ** 2) / 2 / p.shape[0]


def _softmax_cross_entropy(z, y):
    return -xp.sum(y * _log_softmax(z)) / z.shape[0]
'''

# the helpers each library needs: the ops that are not one call of the array namespace
PRELUDE = {
    "numpy": "import numpy as xp\n" + _ARRAY_HELPERS,
    "torch": '''import torch as xp


def _sigmoid(a):
    return xp.sigmoid(a)


def _relu(a):
    return xp.relu(a)


def _softplus(a):
    return xp.nn.functional.softplus(a)


def _step(a):
    return (a > 0).to(a.dtype)


def _safe(a):
    return xp.clamp(a, min=SAFE_FLOOR)  # e^-100: where _cross_entropy clamps its logs


def _size(a):
    return float(a.numel())


def _zeros(rows, k):
    return xp.zeros((int(rows), k), dtype=xp.float64)


def _join(*parts):
    rows = next(p.shape[0] for p in parts if xp.is_tensor(p) and p.dim() == 2)
    return xp.cat([p if xp.is_tensor(p) and p.dim() == 2
                   else xp.full((rows, 1), float(p), dtype=xp.float64) for p in parts], dim=1)


def _like(g, a):
    return xp.broadcast_to(xp.as_tensor(g, dtype=xp.float64), a.shape)


def _sum_to(g, a):
    if g.dim() < a.dim():  # a number (a zero gradient): nothing was broadcast
        g = g.reshape((1,) * (a.dim() - g.dim()) + tuple(g.shape))
    while g.dim() > a.dim():
        g = g.sum(dim=0)
    for k, d in enumerate(a.shape):
        if d == 1 and g.shape[k] != 1:
            g = g.sum(dim=k, keepdim=True)
    return g


def _rowsum(a):
    return a.sum(dim=1, keepdim=True)


def _log_softmax(z):
    return xp.log_softmax(z, dim=1)


def _softmax(z):
    return xp.softmax(z, dim=1)


def _cross_entropy(p, y):
    logp = xp.clamp(xp.log(p), min=-100.0)  # a confident 0 or 1 stays finite
    log1mp = xp.clamp(xp.log(1 - p), min=-100.0)
    return -xp.sum(y * logp + (1 - y) * log1mp) / p.shape[0]


def _mse(p, y):
    return xp.sum((p - y) ** 2) / 2 / p.shape[0]


def _softmax_cross_entropy(z, y):
    return -xp.sum(y * _log_softmax(z)) / z.shape[0]
''',
    "jax": ("import jax\nimport jax.numpy as xp\n\n"
            "jax.config.update(\"jax_enable_x64\", True)  # float64, as cgcalc computes\n"
            + _ARRAY_HELPERS),
}
PRELUDE = {lib: text.replace("SAFE_FLOOR", repr(SAFE_FLOOR)) for lib, text in PRELUDE.items()}
