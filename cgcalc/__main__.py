"""``python -m cgcalc`` and the ``cgcalc`` command. Ctrl-C while the program is still loading
(importing click, numpy, ...) exits 130 quietly, as it does at any later moment."""

import os
import signal


def _quit(signum, frame):
    os._exit(130)  # nothing has been read or written yet: nothing to keep


def main():
    previous = signal.signal(signal.SIGINT, _quit)
    from .cli import main as cli

    signal.signal(signal.SIGINT, previous)  # from here on Ctrl-C is KeyboardInterrupt, handled
    cli()


if __name__ == "__main__":
    main()
