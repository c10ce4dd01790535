"""`buf breaking`, started before its inputs exist: the small-tree check's critical path.

On a tree of a few contracts a breaking check is mostly fixed costs: Python's start-up and
imports on one side, buf's start-up (Go's runtime, its command tree, the system's CA
certificates) and its rule listing on the other. Run one after the other they add up; so buf is
started first, before protoforge has imported the modules that read its configuration, and
waits on its stdin for the current image while protoforge compiles both sides.

buf reads its inputs in order: the current image (stdin, to its end), then the files named by
`--config` and `--against`. So `finish` writes the configuration (`buf.yaml`) and the baseline
image as ordinary files in buf's private directory first and only then the current image to
stdin: buf wakes once, with everything in place. (Named pipes for the configuration and the
baseline, fed by threads, cost a wake-up of buf and of a Python thread per pipe, which on a
loaded machine is a wait for a core each time.) A buf that looked for those files before its
stdin ended would fail naming them; `finish` then returns None and the caller runs buf the
ordinary way. POSIX only (`launch` returns None elsewhere).

The console entry point loads this module and starts buf before anything else, so it imports
only `os` and `sys` (both loaded with the interpreter): no pathlib, typing or contextlib, whose
imports buf's start-up would otherwise wait for. Paths here are strings.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from protoforge.breaking.bufconfig import BreakingConfig

# buf is a short-lived Go process whose garbage collector, on a small input, costs more than the
# comparison itself (on 2 shared cores, `buf breaking` over two 10-file images took about 40%
# less wall time with the collector off; see docs/performance.md). So on small images it runs
# with the collector off up to a heap limit, above which Go collects again (GOMEMLIMIT). Large
# images (a --full check of thousands of files) keep Go's default, as does a GOGC or GOMEMLIMIT
# the user set.
BUF_GC = {"GOGC": "off", "GOMEMLIMIT": "1GiB"}
SMALL_IMAGES = 4 << 20  # bytes of both images together

# At start-up buf loads and parses the system's CA certificates (for its registry client), about
# 20 ms of a 0.1 s run over two small images. A comparison of two images (and a configuration
# given inline or as a local file) never opens a connection, so for those runs Go's certificate
# loader (crypto/x509 on Unix: SSL_CERT_FILE, SSL_CERT_DIR) is pointed at an empty file and a
# directory that does not exist (a missing one is skipped; any other error would be fatal to buf).


def buf_environment(small: bool, *, offline_in: str | Path | None = None) -> dict[str, str] | None:
    """The environment buf runs in (None: the user's, unchanged). `small`: small inputs (see
    BUF_GC); `offline_in`: buf only compares images, and this is a directory of the run's own
    (its `no-certificates` does not exist)."""
    changes: dict[str, str] = {}
    if small and "GOGC" not in os.environ and "GOMEMLIMIT" not in os.environ:
        changes.update(BUF_GC)
    if offline_in is not None:
        changes["SSL_CERT_FILE"] = os.devnull
        changes["SSL_CERT_DIR"] = os.path.join(offline_in, "no-certificates")
    return {**os.environ, **changes} if changes else None


def buf_path() -> str | None:
    """The `buf` of the running interpreter's environment (the buf-bin package installs it next
    to python), else the one on PATH, else None."""
    name = "buf.exe" if os.name == "nt" else "buf"
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(beside):
        return beside
    import shutil

    return shutil.which("buf")


def breaking_command(buf: str | Path, current: str, baseline: str, config: str) -> list[str]:
    """`buf breaking` over two images; `config` is the configuration's JSON or a buf.yaml path."""
    return [
        str(buf),
        "breaking",
        current,
        "--against",
        baseline,
        "--error-format",
        "json",
        "--config",
        config,
    ]


class EarlyBuf:
    """A running `buf breaking` waiting for its configuration and images (see the module doc);
    the findings are those of `buf.run_breaking` over the same images and configuration."""

    def __init__(self, process: BufProcess, directory: str, small: bool) -> None:
        self.process = process
        self.directory = directory
        self.small = small  # started with BUF_GC: only for small images
        self.config: BreakingConfig | None = None
        self.done = False  # its inputs were handed over (or it was stopped)
        self.closed = False  # it has exited and its directory is removed
        self._meanwhile: list[Callable[[], object]] = []

    @property
    def config_path(self) -> str:
        return os.path.join(self.directory, "buf.yaml")  # a --config ending in .yaml is a file

    @property
    def baseline_path(self) -> str:
        return os.path.join(self.directory, "baseline.binpb")

    @classmethod
    def launch(cls, *, small: bool) -> EarlyBuf | None:
        """buf started with nothing to read yet; None where that is not possible (not POSIX, no
        buf: the caller runs buf the ordinary way, which also reports a missing buf)."""
        buf = buf_path() if os.name == "posix" else None
        if buf is None:
            return None
        try:
            directory = _private_directory()
        except OSError:
            return None
        try:
            process = BufProcess(
                breaking_command(
                    buf,
                    "-#format=binpb",
                    f"{os.path.join(directory, 'baseline.binpb')}#format=binpb",
                    os.path.join(directory, "buf.yaml"),
                ),
                env=buf_environment(small, offline_in=directory),
            )
        except OSError:
            _remove(directory)
            return None
        return cls(process, directory, small)

    def configure(self, config: BreakingConfig) -> None:
        """The configuration buf is to check with (written out in `finish`)."""
        self.config = config

    def meanwhile(self, task: Callable[[], object]) -> None:
        """Run `task` in `finish` while buf compares, once it has all its inputs: work that
        the comparison does not wait for (the report's imports, cache writes), done while this
        process would otherwise only wait. Not run if buf is not given its inputs."""
        self._meanwhile.append(task)

    def finish(self, current: bytes, baseline: bytes) -> tuple[int, bytes, bytes] | None:
        """Hand buf its inputs and wait: buf's (exit code, stdout, stderr), for `buf.buf_result`
        as for an ordinary run; None if buf could not read its files (see the module doc: the
        caller runs buf the ordinary way) or was not configured. buf is stopped either way."""
        return self.collect() if self.hand_over(current, baseline) else None

    def hand_over(self, current: bytes, baseline: bytes) -> bool:
        """`finish`'s first half: give buf its configuration and images and return at once (so
        that several bufs, one per module, compare at the same time); False, with buf stopped,
        if it was not configured or its files cannot be written. `collect` then waits for it
        (`cancel` stops it if that never comes)."""
        if self.done or self.config is None:
            self.cancel()
            return False
        try:
            _write(self.config_path, self.config.to_buf_json().encode())
            _write(self.baseline_path, baseline)
        except OSError:
            self.cancel()
            return False
        self.done = True
        try:
            _send(self.process, current or empty_image())
        except BaseException:
            self.cancel()
            raise
        return True

    def collect(self) -> tuple[int, bytes, bytes] | None:
        """`finish`'s second half, after `hand_over`: the `meanwhile` tasks, then buf's
        outcome as `finish` gives it."""
        try:
            for task in self._meanwhile:
                task()
            stdout, stderr = self.process.communicate()
        finally:
            self.cancel()  # buf has exited (or is stopped now); its directory goes
        code = self.process.returncode
        assert code is not None  # communicate() waited for buf
        # 100 is buf's "findings" (buf.BUF_FINDINGS_EXIT); any other failure that names this
        # directory is about the files written into it
        if code not in (0, 100) and self.directory.encode() in stderr:
            return None  # it looked for its files before they were there
        return code, stdout, stderr

    def cancel(self) -> None:
        """Stop buf if its configuration or images will not come (a side does not compile, the
        tree is too large for this buf), or if they came but nobody collects its outcome:
        idempotent, and a no-op once buf has been collected."""
        if self.closed:
            return
        self.done = self.closed = True
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
        _remove(self.directory)


def _send(process: BufProcess, data: bytes) -> None:
    """Write `data` to buf's stdin and close it. In one write where the pipe can be made large
    enough (Linux: F_SETPIPE_SZ, up to the system's limit): each write can wake buf. buf reads
    its stdin before it writes anything, so the blocking write cannot deadlock; if buf has
    stopped, its stderr says why."""
    fd = process.take_stdin()
    if fd is None:
        return
    try:
        import fcntl

        set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
        if set_size is not None:
            import contextlib  # loaded by now (buf is running): not on the start-up path

            with contextlib.suppress(OSError):  # above the limit: the write just blocks more
                fcntl.fcntl(fd, set_size, max(len(data), 1 << 16))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


class BufProcess:
    """buf as a child process, started with os.posix_spawn on three pipes: what
    subprocess.Popen would do here, without importing subprocess (its imports, threading,
    selectors, signal and locale among them, were a tenth of a small tree's run before buf could
    be given its inputs). buf inherits the working directory; every path it is given is
    absolute."""

    def __init__(self, command: list[str], env: dict[str, str] | None) -> None:
        self.returncode: int | None = None
        self._stdin_open = False  # nothing for __del__ to close until buf runs
        self._outputs_read = True
        stdin_read, self._stdin = os.pipe()  # os.pipe's ends are not inherited (close-on-exec)
        self._stdout, stdout_write = os.pipe()
        self._stderr, stderr_write = os.pipe()
        try:
            self.pid = os.posix_spawn(
                command[0],
                command,
                os.environ if env is None else env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, stdin_read, 0),
                    (os.POSIX_SPAWN_DUP2, stdout_write, 1),
                    (os.POSIX_SPAWN_DUP2, stderr_write, 2),
                ],
            )
        except BaseException:
            for fd in (self._stdin, self._stdout, self._stderr):
                os.close(fd)
            raise
        finally:
            for fd in (stdin_read, stdout_write, stderr_write):
                os.close(fd)
        self._stdin_open = True
        self._outputs_read = False

    def take_stdin(self) -> int | None:
        """buf's stdin, for the caller to write and close (None once taken)."""
        if not self._stdin_open:
            return None
        self._stdin_open = False
        return self._stdin

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            import contextlib

            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)  # SIGKILL

    def communicate(self) -> tuple[bytes, bytes]:
        """buf's stdout and stderr to their ends (both at once: neither pipe fills while the
        other is read), then its exit code (`returncode`)."""
        if (fd := self.take_stdin()) is not None:
            os.close(fd)
        chunks: dict[int, list[bytes]] = {self._stdout: [], self._stderr: []}
        open_fds = set() if self._outputs_read else set(chunks)
        self._outputs_read = True
        import select

        poller = select.poll()
        for fd in open_fds:
            poller.register(fd, select.POLLIN)
        while open_fds:
            for fd, _ in poller.poll():
                data = os.read(fd, 1 << 16)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    os.close(fd)
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return b"".join(chunks[self._stdout]), b"".join(chunks[self._stderr])

    def __del__(self) -> None:
        open_fds = [] if self._outputs_read else [self._stdout, self._stderr]
        if self._stdin_open:
            open_fds.append(self._stdin)
        for fd in open_fds:
            try:  # noqa: SIM105  (no import in __del__: it may run while the interpreter exits)
                os.close(fd)
            except OSError:
                pass


def _write(path: str, data: bytes) -> None:
    """Write `path` under a temporary name first: buf sees it whole or not at all."""
    directory, name = os.path.split(path)
    staging = os.path.join(directory, f".{name}.part")
    with open(staging, "wb") as file:
        file.write(data)
    os.replace(staging, path)


def _private_directory() -> str:
    """A new directory only this user can enter (tempfile.mkdtemp's guarantees, without
    importing tempfile and what it imports on the path before buf starts)."""
    base = os.environ.get("TMPDIR") or "/tmp"
    for _ in range(100):
        candidate = os.path.join(base, f"protoforge-buf-{os.urandom(6).hex()}")
        try:
            os.mkdir(candidate, 0o700)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary directory name in {base}")


def _remove(directory: str) -> None:
    """Remove the run's directory: its two files, unless buf left more (then shutil does it)."""
    try:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    except OSError:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


def empty_image() -> bytes:
    """buf rejects an image without files; one empty file stands for "no contracts" (only ever on
    the current side, where an added file cannot be a finding)."""
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet()
    files.file.add(name="protoforge_empty.proto", syntax="proto3")
    return files.SerializeToString()
