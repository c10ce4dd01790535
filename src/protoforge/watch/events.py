"""Saved files, as watchfiles reports them, merged from the two kinds of watch gen needs.

watchfiles (the Rust `notify` crate) watches directories recursively or not, one choice per
watch. The contracts, the user's templates and the output trees are watched recursively; the
config file is watched through its directory, non-recursively: watching the file itself loses
it the first time an editor saves by writing a new file and renaming it over the old one (the
watch follows the old inode), and watching the project directory recursively would also watch
`.venv`, `.git` and everything else in it. Each watch runs in a thread of its own and feeds one
queue; the main thread waits on the queue, where SIGINT and SIGTERM reach it at once.

watchfiles debounces: a batch is handed over once no new change came for 50 ms (at most 1.6 s
after the first), so an editor's save burst (write, rename, chmod) arrives as one batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from protoforge.errors import ProtoforgeError
from protoforge.paths import TEMPORARY_SUFFIX

IDLE_WAKEUP_MS = 250  # an idle watch thread wakes this often (and says once that it is ready)
READY_TIMEOUT_S = 30.0


class Watcher:
    """Watches `recursive` (directories, recursively) and `flat` (directories, their entries
    only); `batch()` returns the paths saved since the last call."""

    def __init__(self, recursive: Iterable[Path], flat: Iterable[Path]) -> None:
        self._changed: queue.Queue[set[str] | BaseException] = queue.Queue()
        self._stop = threading.Event()
        groups = [(watchable(recursive), True), (watchable(flat), False)]
        self._threads: list[threading.Thread] = []
        ready: list[threading.Event] = []
        for paths, deep in groups:
            if not paths:
                continue
            started = threading.Event()
            thread = threading.Thread(
                target=self._watch,
                args=(paths, deep, started),
                name=f"protoforge-watch-{'tree' if deep else 'dir'}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
            ready.append(started)
        for started in ready:  # a save right after this returns must not be missed
            started.wait(timeout=READY_TIMEOUT_S)

    def _watch(self, paths: tuple[Path, ...], recursive: bool, started: threading.Event) -> None:
        from watchfiles import Change, DefaultFilter, watch

        default = DefaultFilter()

        def wanted(change: Change, path: str) -> bool:
            # gen's own staged files (.NAME.protoforge-tmp) come and go in every write
            return not path.endswith(TEMPORARY_SUFFIX) and default(change, path)

        try:
            # yield_on_timeout: the first (empty) batch says that the watches are in place,
            # which watchfiles does as it starts, before it waits.
            for changes in watch(
                *paths,
                watch_filter=wanted,
                stop_event=self._stop,
                rust_timeout=IDLE_WAKEUP_MS,
                yield_on_timeout=True,
                recursive=recursive,
                raise_interrupt=False,  # signals go to the main thread, never to this one
            ):
                started.set()
                if changes:
                    self._changed.put({path for _, path in changes})
        except BaseException as error:  # a watch that cannot start (or dies) must be told
            self._changed.put(error)
        finally:
            started.set()

    def batch(self, timeout: float | None = None) -> set[str]:
        """The paths saved since the last batch; waits up to `timeout` seconds for the first
        (None: until one comes), and returns an empty set when none came. Re-raises what
        stopped a watch thread (a watched directory that cannot be read, too many watches)."""
        try:
            first = self._changed.get(timeout=timeout)
        except queue.Empty:
            return set()
        paths: set[str] = set()
        for item in (first, *self._drain()):
            if isinstance(item, Exception):
                raise _stopped(item) from item
            if isinstance(item, BaseException):
                raise item
            paths |= item
        return paths

    def _drain(self) -> list[set[str] | BaseException]:
        items: list[set[str] | BaseException] = []
        while True:
            try:
                items.append(self._changed.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        self._stop.set()  # each watch looks at it every 50 ms
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Watcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def watchable(paths: Iterable[Path]) -> tuple[Path, ...]:
    """Directories that exist, deduplicated, without those inside another one (watched
    already; notify would report their changes twice)."""
    found = sorted({path for path in paths if path.is_dir()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in found:
        if not any(path.is_relative_to(outer) for outer in kept):
            kept.append(path)
    return tuple(sorted(kept))


def _stopped(error: Exception) -> ProtoforgeError:
    """A watch that could not start or died: the system's limits or permissions, the user's
    to fix (exit 2), never a reason to go on regenerating blind."""
    return ProtoforgeError(
        f"the file watcher stopped: {type(error).__name__}: {error}",
        hint="on Linux, many directories can exhaust the inotify watches: raise "
        "fs.inotify.max_user_watches (sysctl), or set WATCHFILES_FORCE_POLLING=1 to poll",
    )
