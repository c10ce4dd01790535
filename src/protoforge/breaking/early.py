"""`buf breaking`, started before its inputs exist: the small-tree check's critical path.

On a tree of a few contracts a breaking check is mostly fixed costs: Python's start-up and
imports on one side, buf's start-up (Go's runtime, its command tree, the system's CA
certificates) and its rule listing on the other. Run one after the other they add up; so buf is
started first, before protoforge has imported the modules that read its configuration, and
everything else reaches it through pipes as it becomes known:

- the current image on stdin (handed over as soon as it is compiled; buf reads it first),
- its configuration through a named pipe called `buf.yaml` (buf opens it once it has read the
  current image; `configure` writes the project's breaking section into it),
- the baseline image through a named pipe (buf opens it after its configuration).

Each pipe blocks buf until its data comes, so the order in which buf reads them does not matter
for correctness, only for how much overlaps. POSIX only (`launch` returns None elsewhere).

This module imports nothing of protoforge's at import time: the console entry point loads it
(and starts buf) before the configuration modules.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading

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
# 20 ms of a 0.1 s run over two small images. A comparison of two images and an inline
# configuration never opens a connection, so for those runs Go's certificate loader (crypto/x509
# on Unix: SSL_CERT_FILE, SSL_CERT_DIR) is pointed at an empty file and a directory that does not
# exist (a missing one is skipped; any other error would be fatal to buf).


def buf_environment(small: bool, *, offline_in: Path | None = None) -> dict[str, str] | None:
    """The environment buf runs in (None: the user's, unchanged). `small`: small inputs (see
    BUF_GC); `offline_in`: buf only compares images, and this is a directory of the run's own
    (its `no-certificates` does not exist)."""
    changes: dict[str, str] = {}
    if small and "GOGC" not in os.environ and "GOMEMLIMIT" not in os.environ:
        changes.update(BUF_GC)
    if offline_in is not None:
        changes["SSL_CERT_FILE"] = os.devnull
        changes["SSL_CERT_DIR"] = str(offline_in / "no-certificates")
    return {**os.environ, **changes} if changes else None


def buf_path() -> Path | None:
    """The `buf` of the running interpreter's environment (the buf-bin package installs it next
    to python), else the one on PATH, else None."""
    name = "buf.exe" if os.name == "nt" else "buf"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    import shutil

    found = shutil.which("buf")
    return Path(found) if found else None


def breaking_command(buf: Path, current: str, baseline: str, config: str) -> list[str]:
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

    def __init__(self, process: subprocess.Popen[bytes], directory: Path, small: bool) -> None:
        self.process = process
        self.directory = directory
        self.small = small  # started with BUF_GC: only for small images
        self.done = False
        self.config_writer: threading.Thread | None = None
        self.current_writer: threading.Thread | None = None
        self.baseline_writer: threading.Thread | None = None

    @property
    def config_fifo(self) -> Path:
        return self.directory / "buf.yaml"  # buf takes a --config ending in .yaml for a file

    @property
    def baseline_fifo(self) -> Path:
        return self.directory / "baseline.binpb"

    @classmethod
    def launch(cls, *, small: bool) -> EarlyBuf | None:
        """buf started with nothing to read yet; None where that is not possible (no named
        pipes, no buf: the caller runs buf the ordinary way, which also reports a missing buf)."""
        buf = buf_path() if hasattr(os, "mkfifo") else None
        if buf is None:
            return None
        try:
            directory = _private_directory()
        except OSError:
            return None
        try:
            os.mkfifo(directory / "buf.yaml", 0o600)
            os.mkfifo(directory / "baseline.binpb", 0o600)
            process = subprocess.Popen(
                breaking_command(
                    buf,
                    "-#format=binpb",
                    f"{directory / 'baseline.binpb'}#format=binpb",
                    str(directory / "buf.yaml"),
                ),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=directory,
                env=buf_environment(small, offline_in=directory),
            )
        except OSError:
            _remove(directory)
            return None
        return cls(process, directory, small)

    def configure(self, config: BreakingConfig) -> None:
        """Give buf its configuration (a thread writes it: buf opens the pipe when it needs it)."""
        if self.config_writer is not None:
            return
        self.config_writer = self._feed(self.config_fifo, config.to_buf_json().encode())

    def send_current(self, current: bytes) -> None:
        """Hand buf the current image now (a thread writes it: buf may not read it yet)."""
        import threading

        if self.current_writer is not None:
            return
        stdin = self.process.stdin
        self.process.stdin = None  # from now on this thread owns it (communicate must not)
        data = current or empty_image()

        def feed_current() -> None:
            try:
                if stdin is not None:
                    with stdin:
                        stdin.write(data)
            except OSError:
                pass  # buf stopped before reading it (e.g. a config error): its stderr says why

        self.current_writer = threading.Thread(target=feed_current, daemon=True)
        self.current_writer.start()

    def finish(self, current: bytes, baseline: bytes) -> tuple[int, bytes, bytes] | None:
        """Hand buf the rest and wait: buf's (exit code, stdout, stderr), for `buf.buf_result`
        as for an ordinary run; None without a baseline (nothing was published: nothing can
        break, and buf is stopped)."""
        if not baseline:
            self.cancel()
            return None
        self.done = True
        self.send_current(current)
        self.baseline_writer = self._feed(self.baseline_fifo, baseline)
        try:
            stdout, stderr = self.process.communicate()
        finally:
            self._release()
        return self.process.returncode, stdout, stderr

    def cancel(self) -> None:
        """Stop buf if its configuration or images will not come (a side does not compile, the
        tree is too large for this buf, several rule groups): idempotent."""
        if self.done:
            return
        self.done = True
        if self.process.poll() is None:
            self.process.kill()
        if self.current_writer is None and self.process.stdin is not None:
            self.process.stdin.close()
            self.process.stdin = None
        self.process.communicate()
        self._release()

    @staticmethod
    def _feed(fifo: Path, data: bytes) -> threading.Thread:
        import threading

        def feed() -> None:
            try:
                with open(fifo, "wb") as stream:  # blocks until buf opens it
                    stream.write(data)
            except OSError:
                pass  # buf stopped before reading it (e.g. a config error): its stderr says why

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        return writer

    def _release(self) -> None:
        """buf has exited: end the writers and remove the pipes."""
        for writer, fifo in (
            (self.config_writer, self.config_fifo),
            (self.baseline_writer, self.baseline_fifo),
        ):
            if writer is not None and writer.is_alive():
                # buf exited without opening this pipe: open it for reading so the writer returns
                try:
                    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
                except OSError:
                    reader = -1
                writer.join(timeout=5)
                if reader >= 0:
                    os.close(reader)
        if self.current_writer is not None:
            self.current_writer.join(timeout=5)  # buf has exited: the write has failed or ended
        _remove(self.directory)


def _private_directory() -> Path:
    """A new directory only this user can enter (tempfile.mkdtemp's guarantees, without
    importing tempfile and what it imports on the path before buf starts)."""
    base = Path(os.environ.get("TMPDIR") or "/tmp")
    for _ in range(100):
        candidate = base / f"protoforge-buf-{os.urandom(6).hex()}"
        try:
            os.mkdir(candidate, 0o700)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary directory name in {base}")


def _remove(directory: Path) -> None:
    """Remove the run's directory: its two pipes, unless buf left more (then shutil does it)."""
    try:
        for name in os.listdir(directory):
            os.unlink(directory / name)
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
