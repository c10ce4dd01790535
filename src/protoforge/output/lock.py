"""One gen at a time per project: an exclusive `flock` on the project directory itself.

Two gens on one tree interleave badly: one run's rollback can write old content over the
other's files, and the cache one records may describe the other's tree. The lock is held from
planning to the cache update, so the second run plans against the first one's result. A
second run waits (bounded) and then fails with exit 2.

Why the directory and not a lock file: a lock file would be one more thing a failed or a
`--check` run leaves behind (they must leave everything as it was), and deleting it on exit
races with a run that is waiting on it. Linux and the BSDs lock directories like files.
flock locks belong to the open file and the kernel drops them when the process dies, even by
SIGKILL, so a crashed gen never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from protoforge.errors import ProtoforgeError
from protoforge.paths import display_path

POLL_SECONDS = 0.1


@contextmanager
def gen_lock(
    project_dir: Path,
    *,
    timeout: float,
    on_wait: Callable[[], None] | None = None,
    exclusive: bool = True,
) -> Iterator[None]:
    """Hold the project's gen lock. If another process holds it, call `on_wait()` once and
    wait up to `timeout` seconds. `exclusive=False` (gen --check / --dry-run) takes a shared
    lock: checks may run side by side, but not beside a writing gen."""
    try:
        descriptor = os.open(project_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield  # nothing to lock: the project directory is unreadable, and gen will say so
        return
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        if not _try_lock(descriptor, mode):
            if on_wait is not None:
                on_wait()
            deadline = time.monotonic() + timeout
            while not _try_lock(descriptor, mode):
                if time.monotonic() >= deadline:
                    raise ProtoforgeError(
                        f"another protoforge gen is running on {display_path(project_dir)}",
                        hint="wait for it to finish, or pass --lock-timeout SECONDS to wait "
                        "longer; nothing was changed",
                    )
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _try_lock(descriptor: int, mode: int) -> bool:
    try:
        fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
