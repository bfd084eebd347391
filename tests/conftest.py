import math
import os
import sys

import pytest

sys.setrecursionlimit(3000)  # cgcalc never recurses: deep inputs must not need a high limit


def fd(f, x, h=1e-3):
    """A fourth-order central difference: an oracle independent of cgcalc's derivative code."""
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)


def close(a, b, rel=1e-6, abs_=1e-8):
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


@pytest.fixture
def no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return os.environ


@pytest.fixture(autouse=True, scope="session")
def _parser_cache(tmp_path_factory):
    """The parser cache of this test run (CGCALC_CACHE_DIR), not the user's: the first parse
    builds it, as on a fresh install; subprocesses inherit it."""
    os.environ["CGCALC_CACHE_DIR"] = str(tmp_path_factory.mktemp("parser-cache"))
