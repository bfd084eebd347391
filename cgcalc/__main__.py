"""``python -m cgcalc`` and the ``cgcalc`` command. Ctrl-C while the program is still loading
(importing click, numpy, ...) exits 130 quietly, as it does at any later moment: the handler
goes in first, with the interpreter's built-in _signal (the signal module imports enum).

At the end the process exits at once, once what it wrote is flushed: a large graph is a
million objects, and freeing them one by one on the way out took a tenth of the run."""

import _signal


def _quit(signum, frame):
    import os

    os._exit(130)  # nothing has been read or written yet: nothing to keep


def main():
    previous = _signal.signal(_signal.SIGINT, _quit)
    from .cli import main as cli

    _signal.signal(_signal.SIGINT, previous)  # from here Ctrl-C is KeyboardInterrupt, handled
    try:
        cli()
    except SystemExit as e:
        _exit(e.code)
    _exit(0)


def _exit(code):
    """Exit with ``code`` as SystemExit would (None is 0; text is said on standard error and
    is 1), after flushing both streams, without tearing the interpreter down."""
    import os
    import sys

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # the reader went away: nothing more to say
            status = status or 1
    os._exit(status & 0xFF)  # as the C library does with exit(-1): 255


if __name__ == "__main__":
    main()
