"""cgcalc: derivatives on computational graphs.

    import cgcalc
    f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2)")
    f.variables                  # ("x", "y")
    f.value(x=xs, y=ys)          # numpy arrays or floats in, same shape out
    f.grad(x=xs, y=ys)           # {"x": ..., "y": ...}
"""

__version__ = "0.1.0"

from .errors import CgcalcError, EvaluationError  # noqa: E402


def function(text: str):
    """Parse ``text`` (a cgcalc program) into a callable :class:`cgcalc.api.Function`."""
    from .api import Function

    return Function(text)


__all__ = ["function", "CgcalcError", "EvaluationError", "__version__"]
