"""``python -m cgcalc`` and the ``cgcalc`` command. Ctrl-C while the program is still loading
(importing click, numpy, ...) exits 130 quietly, as it does at any later moment: the handler
goes in first, with the interpreter's built-in _signal (the signal module imports enum)."""

import _signal


def _quit(signum, frame):
    import os

    os._exit(130)  # nothing has been read or written yet: nothing to keep


def main():
    previous = _signal.signal(_signal.SIGINT, _quit)
    from .cli import main as cli

    _signal.signal(_signal.SIGINT, previous)  # from here Ctrl-C is KeyboardInterrupt, handled
    cli()


if __name__ == "__main__":
    main()
