"""The user's files: read in bounded pieces, written without damaging what is there.

Reading: ``-`` is standard input; a file larger than the CGCALC_MAX_SOURCE limit is refused
before it is read whole; every failure is a CgcalcError (exit status 2) naming the file.

Writing (``train --save``, ``graph -o``): a regular file, or a new one, is written to a
temporary file beside it and renamed over it, so a reader sees the old file or the new one,
never half of one; the new file gets the old one's permissions (a new one the umask's). A
symbolic link is followed, so the link stays and its target is replaced. Anything that is not a
regular file (``/dev/null``, a named pipe, a terminal) is written in place, never replaced.
"""

from __future__ import annotations

import os
import stat
import sys

from .errors import CgcalcError
from .limits import limit


def _cannot(verb, path, exc):
    reason = exc.strerror or str(exc)
    return CgcalcError(f"cannot {verb} {path}: {reason}", filename=None)


def open_input(path):
    """A binary stream to read ``path`` from (``-``: standard input)."""
    if path == "-":
        return standard_input()
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "it is a directory")
        return open(path, "rb")
    except OSError as exc:
        if names_closed_stdin(path):
            raise _closed() from None
        raise _cannot("read", path, exc) from None
    except ValueError:  # a NUL byte in the name
        raise CgcalcError(f"cannot read {path!r}: a file name cannot hold a NUL byte") from None


def standard_input():
    """Standard input's binary stream; refused when it is closed (``<&-``)."""
    if sys.stdin is None or getattr(sys.stdin, "buffer", None) is None:
        raise _closed()
    return sys.stdin.buffer


def is_stdin(stream) -> bool:
    """Whether ``stream`` is standard input's (not ours to close)."""
    return sys.stdin is not None and stream is getattr(sys.stdin, "buffer", None)


def names_closed_stdin(path) -> bool:
    """Whether ``path`` is a name of standard input (``/dev/stdin``, ``/dev/fd/0``,
    ``/proc/self/fd/0``, a link to one) while it is closed: then no file has that name."""
    try:
        os.fstat(0)
        return False
    except OSError:
        pass
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return real in ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", f"/proc/{os.getpid()}/fd/0")


def _closed():
    return CgcalcError("standard input is closed: nothing to read",
                       hint="give a file, or pipe or redirect the input in")


def read_bytes(path, what="file") -> bytes:
    """All of ``path`` (``-``: standard input), refused beyond the CGCALC_MAX_SOURCE limit."""
    most = limit("CGCALC_MAX_SOURCE")
    stream = open_input(path)
    try:
        data = stream.read(most + 1)
    except OSError as exc:
        raise _cannot("read", "standard input" if path == "-" else path, exc) from None
    finally:
        if not is_stdin(stream):
            stream.close()
    if len(data) > most:
        raise CgcalcError(f"the {what} {path} is larger than {most:,} bytes (the limit)",
                          hint="raise it with the environment variable CGCALC_MAX_SOURCE")
    return data


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` safely (see the module's description)."""
    target = os.path.realpath(path)  # a link is followed: the link stays, its target changes
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _cannot("write", path, exc) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise CgcalcError(f"cannot write {path}: it is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_in_place(path, target, data)
        return
    _replace(path, target, data, st)


def _write_in_place(path, target, data):
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise _cannot("write", path, exc) from None


def _replace(path, target, data, st):
    import secrets

    folder = os.path.dirname(target)
    tmp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp")
    mode = 0o666 if st is None else stat.S_IMODE(st.st_mode)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise _cannot("write", path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, mode)  # the old file's permissions, whatever the umask
            if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
                os.chown(tmp, st.st_uid, st.st_gid)  # root keeps the owner too
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _cannot("write", path, exc) from None
        raise
