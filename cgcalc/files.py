"""The user's files: read in bounded pieces, written without damaging what is there.

Reading: ``-`` is standard input; a file larger than the CGCALC_MAX_SOURCE limit is refused
before it is read whole; every failure is a CgcalcError (exit status 2) naming the file.

Writing (``train --save``, ``graph -o``, ``export -o``): a regular file, or a new one, is
written to a temporary file beside it and renamed over it, so a reader sees the old file or the
new one, never half of one; the new file gets the old one's permissions (a new one the umask's).
A symbolic link is followed, so the link stays and its target is replaced. One of the process's
own open streams (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``, a link to
one, or the very file standard output goes to) is written through that stream, as the shell
opened it (``>>`` appends), after what was written to it before. Anything else that is not a
regular file (``/dev/null``, a named pipe, a terminal) is opened by the name given and written
in place, never replaced. A name ending in ``/`` is a directory's, never a file's.
:func:`check_output` refuses up front what the write would refuse, before a long run.
"""

from __future__ import annotations

import errno
import os
import re
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


def check_output(path, option="-o") -> None:
    """Refuse now, before any work, what :func:`write_output` would refuse at the end: an empty
    name, a directory or a name of one (``out/``), a folder that is missing, not a folder or
    cannot be written (tried with a file made and removed there: ``os.access`` says yes to root
    where the system says no), a device that cannot be written, a stream open for reading only.
    Nothing is written. (A write may still fail at the end: a full disk.)"""
    if not os.fspath(path):
        raise CgcalcError(f"{option} needs a file name")
    _plan(path, probe=True)


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` safely (see the module's description)."""
    path = os.fspath(path)
    how, where, st = _plan(path)
    if how == "stream":
        _write_stream(path, where, data)
    elif how == "in place":
        _write_in_place(path, data)
    else:
        _replace(path, where, data, st)


def _plan(path, probe=False):
    """How ``path`` is written: ``("stream", fd, st)`` for one of this process's open streams,
    ``("in place", path, st)`` for a device, named pipe or socket, ``("replace", target, st)``
    for a regular file or a new one (``target``: the name its links lead to; ``st`` None for a
    new one). ``probe``: also make and remove a file where the new one would be made."""
    path = os.fspath(path)
    if "\0" in path:
        raise CgcalcError(f"cannot write {path!r}: a file name cannot hold a NUL byte")
    _not_a_directorys_name(path, path)
    try:
        try:
            st = os.stat(path)  # links followed
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise CgcalcError(f"cannot write {path}: it is a directory")
        names = _links(path)
        fd = _own_stream(names, st)
        if fd is not None:
            _open_for_writing(fd)
            return "stream", fd, st
        if st is not None and stat.S_ISSOCK(st.st_mode):  # what open() says of a socket
            raise OSError(errno.ENXIO, os.strerror(errno.ENXIO))
        if st is not None and not stat.S_ISREG(st.st_mode):
            if not os.access(path, os.W_OK):  # what open() would say (root: the device's own)
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            return "in place", path, st
        target = names[-1]
        if target != path:
            _not_a_directorys_name(path, target)
        if probe:
            _try_making_a_file(target)
        return "replace", target, st
    except OSError as exc:
        raise _cannot("write", path, exc) from None


_FD_NAME = re.compile(r"/(?:dev|proc/(?:self|thread-self|\d+))/fd/(\d+)")


def _links(path):
    """The names ``path`` leads to, one link after another, as the system follows them: each
    link's text is read beside the link. A process's ``/proc/.../fd/N`` (and ``/dev/fd/N``)
    ends the list: what it reads as (``pipe:[N]``, a deleted file's old name) is no name."""
    names = [path]
    for _ in range(40):  # the system's own limit on links in a row
        if _FD_NAME.fullmatch(os.path.abspath(names[-1])):
            return names
        try:
            to = os.readlink(names[-1])
        except OSError:  # not a link (or nothing there): the end
            return names
        names.append(os.path.join(os.path.dirname(names[-1]), to))
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))


def _own_stream(names, st):
    """The descriptor of this process's open stream that ``names`` reach (standard output or
    error, or the N of ``/dev/fd/N``, ``/proc/self/fd/N``), else None."""
    if st is None:
        return None
    candidates = []
    match = _FD_NAME.fullmatch(os.path.abspath(names[-1]))
    if match and _of_this_process(names[-1]):
        candidates.append(int(match.group(1)))
    for fd in [*candidates, 1, 2]:
        try:
            own = os.fstat(fd)
        except OSError:  # not open
            continue
        if (own.st_dev, own.st_ino) == (st.st_dev, st.st_ino):
            return fd
    return None


def _of_this_process(name):
    part = os.path.abspath(name).split("/")[2]  # dev, or proc's self, thread-self, or a pid
    return part in ("fd", "self", "thread-self", str(os.getpid()))


def _open_for_writing(fd):
    try:
        import fcntl
    except ImportError:  # not a POSIX system: the write will say
        return
    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
        raise OSError(errno.EBADF, "it is open for reading only")


def _not_a_directorys_name(path, name):
    """Refuse ``name`` (``path``, or where its links lead) if it can only name a directory:
    it ends in ``/`` (the system would drop the slash and write a file ``out``), or its last
    part is ``.`` or ``..``."""
    last = os.path.basename(name)
    if name.endswith(os.sep) or (os.altsep and name.endswith(os.altsep)):
        why = f'a name ending in "{name[-1]}" names a directory, not a file'
    elif last in (".", ".."):
        why = f'"{last}" names a directory, not a file'
    else:
        return
    if name != path:
        why = f"it links to {name}: {why}"
    raise CgcalcError(f"cannot write {path}: {why}")


def _beside(target):
    """A new name beside ``target`` for its temporary file (the target's own name shortened:
    a name near the system's limit of 255 bytes must not make the temporary one too long)."""
    import secrets

    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name[:64]}.{secrets.token_hex(6)}.tmp")


def _try_making_a_file(target):
    """Make and remove a file beside ``target``: the folder is there, is a folder, and takes
    a new file (what really happens, not what ``os.access`` guesses)."""
    tmp = _beside(target)
    ours = True
    try:
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError:
            ours = False  # nothing made (EEXIST: a file that is not ours)
            raise
    finally:
        if ours:  # made, or Ctrl-C came as it was made
            _remove(tmp)


def _remove(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _write_stream(path, fd, data):
    """Through one of this process's open streams, in place, as the shell opened it (``>>``
    appends); what cgcalc wrote before to standard output or error goes out first."""
    for stream in {id(s): s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
                   if s is not None}.values():
        stream.flush()
    view = memoryview(data)
    try:
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:  # a stream left non-blocking: wait until it takes more
                import select

                select.select([], [fd], [])
    except BrokenPipeError:
        raise  # the reader went away: the command line ends quietly, as for standard output
    except OSError as exc:
        raise _cannot("write", path, exc) from None


def _write_in_place(path, data):
    """A device, named pipe or socket: opened by the name given (``/proc/self/fd/N`` of a pipe
    is that pipe; the name it reads as, ``pipe:[N]``, is none), never replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise _cannot("write", path, exc) from None


def _replace(path, target, data, st):
    """A regular file or a new one: a temporary file beside it, renamed over it. Whatever
    stops the write (an error, Ctrl-C) removes the temporary file and leaves the old one."""
    tmp = _beside(target)
    mode = 0o666 if st is None else stat.S_IMODE(st.st_mode)
    fd = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
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
        if not (fd is None and isinstance(exc, OSError)):  # else the open failed: none made
            _remove(tmp)
        if isinstance(exc, OSError):
            raise _cannot("write", path, exc) from None
        raise
