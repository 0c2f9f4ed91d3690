"""One writer per run folder: an OS file lock on `<run>/.lock`, held for the whole job.

`flock` belongs to the open file, so the kernel drops it when the holder exits however it exits: a
SIGKILLed run never leaves a stale lock, and no one has to delete the file. The file is kept (deleting
it would let a process that opened the old file and one that creates a new one both "hold" the lock);
between jobs it is empty, while one runs it holds that process' pid, which a refused process names.
"""
import contextlib
import fcntl
import os
import time

from tfbig.errors import UserError

LOCK_FILE = ".lock"


def _holder(fd: int) -> str:
    """The pid the holder wrote, waiting briefly for a holder that has locked but not yet written it."""
    for _ in range(20):
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if pid:
            return pid
        time.sleep(0.01)
    return "unknown"


@contextlib.contextmanager
def folder_lock(folder: str):
    """Holds an exclusive lock on `folder` (created if missing) for the `with` block.

    Raises UserError at once, naming the folder and the holder's pid, when another process holds it.
    The lock is per open file, so a second `folder_lock` of the same folder in this process is refused too.
    """
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"run folder {folder} is in use by process {_holder(fd)} (another tfbig train or "
                            "distill); wait for it or choose another name") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # no pid of a finished job left to mislead a reader
    finally:
        os.close(fd)  # releases the lock
