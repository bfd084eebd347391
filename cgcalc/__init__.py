"""cgcalc: derivatives on computational graphs.

    import cgcalc
    f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2)")
    f.variables                  # ("x", "y")
    f.value(x=xs, y=ys)          # numpy arrays or floats in, same shape out
    f.grad(x=xs, y=ys)           # {"x": ..., "y": ...}

Importing the package runs nothing else: the command line installs its Ctrl-C handler before
anything of cgcalc is loaded (cgcalc/__main__.py), and the names below load on first use.
"""

__version__ = "0.1.0"
__all__ = ["function", "CgcalcError", "EvaluationError", "__version__"]


def function(text: str):
    """Parse ``text`` (a cgcalc program) into a callable :class:`cgcalc.api.Function`."""
    from .api import Function

    return Function(text)


def __getattr__(name):
    if name in ("CgcalcError", "EvaluationError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'cgcalc' has no attribute {name!r}")
