"""buf, run as a subprocess:
`buf breaking <current.binpb> --against <baseline.binpb> --error-format json`.

buf takes FileDescriptorSet images (`.binpb`) as inputs, so both sides are compiled by protoforge's
own protoc and buf only compares. buf exits 100 both for findings and for build errors; with images
there is nothing to build, and any exit other than 0 or 100, or a 100 without findings, is reported
as an error of its own (usually the generated config).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from protoforge.breaking.bufconfig import BreakingConfig, BufSettings
from protoforge.breaking.errors import BufError

if TYPE_CHECKING:
    import threading

BUF_FINDINGS_EXIT = 100


# NamedTuples, not dataclasses: a dataclass costs about a millisecond to create at import, and
# these are imported by every check-breaking run (benchmarks/bench.py --breaking-only).


class RawFinding(NamedTuple):
    """One buf finding, positions 1-based, `path` an import path of the current image ("" when
    buf points at no file, e.g. a deleted file or a package-level deletion)."""

    path: str
    line: int
    column: int
    rule: str
    message: str


class Rule(NamedTuple):
    id: str
    categories: tuple[str, ...]
    purpose: str


def find_buf() -> Path:
    """The `buf` of the running interpreter's environment (the buf-bin package installs it next to
    python), else the one on PATH."""
    name = "buf.exe" if os.name == "nt" else "buf"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which("buf")
    if found:
        return Path(found)
    raise BufError(
        "buf is not installed: protoforge uses the `buf` CLI to detect breaking changes",
        hint=f"install it into this environment: {sys.executable} -m pip install buf-bin",
    )


# buf is a short-lived Go process whose garbage collector, on a small input, costs more than the
# comparison itself (on 2 shared cores, `buf breaking` over two 10-file images took about 40%
# less wall time with the collector off; see docs/performance.md). So on small images it runs
# with the collector off up to a heap limit, above which Go collects again (GOMEMLIMIT). Large
# images (a --full check of thousands of files) keep Go's default, as does a GOGC or GOMEMLIMIT
# the user set.
BUF_GC = {"GOGC": "off", "GOMEMLIMIT": "1GiB"}
SMALL_IMAGES = 4 << 20  # bytes of both images together


def buf_environment(small: bool) -> dict[str, str] | None:
    """The environment buf runs in (None: the user's, unchanged)."""
    if not small or "GOGC" in os.environ or "GOMEMLIMIT" in os.environ:
        return None
    return {**os.environ, **BUF_GC}


def run_breaking(current: bytes, baseline: bytes, config: BreakingConfig) -> list[RawFinding]:
    buf = find_buf()
    if not baseline:
        return []  # nothing was published: nothing can break
    with tempfile.TemporaryDirectory(prefix="protoforge-buf-") as tmp:
        current_path = Path(tmp) / "current.binpb"
        baseline_path = Path(tmp) / "baseline.binpb"
        current_path.write_bytes(current or empty_image())
        baseline_path.write_bytes(baseline)
        done = subprocess.run(
            _command(buf, str(current_path), str(baseline_path), config),
            capture_output=True,
            check=False,
            cwd=tmp,
            env=buf_environment(len(current) + len(baseline) <= SMALL_IMAGES),
        )
    return _result(done.returncode, done.stdout, done.stderr, config.version)


def _command(buf: Path, current: str, baseline: str, config: BreakingConfig) -> list[str]:
    return [
        str(buf),
        "breaking",
        current,
        "--against",
        baseline,
        "--error-format",
        "json",
        "--config",
        config.to_buf_json(),
    ]


def _result(code: int, stdout: bytes, stderr: bytes, version: str) -> list[RawFinding]:
    out, err = stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")
    findings = _parse(out)
    if code == 0:
        return findings
    if code == BUF_FINDINGS_EXIT and findings:
        return findings
    message = (err.strip() or out.strip()).removeprefix("Failure: ")
    raise BufError(
        f"buf breaking failed: {message}",
        hint="check the breaking section of buf.yaml (rule and category IDs: "
        f"`buf config ls-breaking-rules --version {version} --include-deprecated`)",
    )


def start_buf(settings: BufSettings, *, small: bool = False) -> EarlyBuf | None:
    """buf, started before the images exist (see EarlyBuf); None with several rule groups (one
    buf run each, over images cut to the group's files). `small`: the images will be small (a
    small tree), see BUF_GC."""
    if len(settings.groups) != 1:
        return None
    return EarlyBuf.start(settings.groups[0].config, small=small)


class EarlyBuf:
    """`buf breaking` started before its images exist. buf's start-up does not depend on the
    images: started first, it runs on another core while protoforge compiles both sides, and the
    images reach it through a pipe (the current image on stdin, handed over as soon as it is
    compiled, so that buf reads it while the baseline compiles) and a named pipe (the baseline).
    POSIX only (`start` returns None elsewhere); the findings are those of `run_breaking`."""

    def __init__(
        self, process: subprocess.Popen[bytes], directory: Path, fifo: Path, version: str
    ) -> None:
        self.version = version
        self.process = process
        self.directory = directory
        self.fifo = fifo
        self.done = False
        self.current_writer: threading.Thread | None = None

    @classmethod
    def start(cls, config: BreakingConfig, *, small: bool = False) -> EarlyBuf | None:
        if not hasattr(os, "mkfifo"):
            return None
        buf = find_buf()
        directory = Path(tempfile.mkdtemp(prefix="protoforge-buf-"))
        fifo = directory / "baseline.binpb"
        try:
            os.mkfifo(fifo, 0o600)
            process = subprocess.Popen(
                _command(buf, "-#format=binpb", f"{fifo}#format=binpb", config),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=directory,
                env=buf_environment(small),
            )
        except OSError:
            shutil.rmtree(directory, ignore_errors=True)
            return None
        return cls(process, directory, fifo, config.version)

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

    def finish(self, current: bytes, baseline: bytes) -> list[RawFinding]:
        import threading

        if not baseline:
            self.cancel()
            return []  # nothing was published: nothing can break
        self.done = True
        self.send_current(current)

        def feed_baseline() -> None:
            try:
                with open(self.fifo, "wb") as stream:  # blocks until buf opens it
                    stream.write(baseline)
            except OSError:
                pass  # buf stopped before reading it (e.g. a config error): its stderr says why

        writer = threading.Thread(target=feed_baseline, daemon=True)
        writer.start()
        try:
            stdout, stderr = self.process.communicate()
        finally:
            self._release(writer)
        return _result(self.process.returncode, stdout, stderr, self.version)

    def cancel(self) -> None:
        """Stop buf if its images will not come (e.g. a side does not compile)."""
        if self.done:
            return
        self.done = True
        if self.process.poll() is None:
            self.process.kill()
        if self.current_writer is None and self.process.stdin is not None:
            self.process.stdin.close()
            self.process.stdin = None
        self.process.communicate()
        self._release(None)

    def _release(self, writer: threading.Thread | None) -> None:
        if writer is not None and writer.is_alive():
            # buf exited without opening the pipe: open it for reading so the writer returns
            try:
                reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                reader = -1
            writer.join(timeout=5)
            if reader >= 0:
                os.close(reader)
        if self.current_writer is not None:
            self.current_writer.join(timeout=5)  # buf has exited: the write has failed or ended
        shutil.rmtree(self.directory, ignore_errors=True)


def _parse(stdout: str) -> list[RawFinding]:
    findings: list[RawFinding] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        findings.append(
            RawFinding(
                path=str(item.get("path", "")),
                line=int(item.get("start_line", 0)),
                column=int(item.get("start_column", 0)),
                rule=str(item.get("type", "")),
                message=str(item.get("message", "")),
            )
        )
    return sorted(set(findings))


def without_files(image: bytes, drop: frozenset[str]) -> bytes:
    """The image without the files in `drop` (but with everything the kept files import, so
    that it still links). With several v2 modules buf compares each module's own image: its
    files and their imports; files of other modules are not in it at all (ignoring them by path
    would still leave their package-level deletions visible)."""
    if not image or not drop:
        return image
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet.FromString(image)
    by_name = {f.name: f for f in files.file}
    keep = {name for name in by_name if name not in drop}
    stack = list(keep)
    while stack:
        for dependency in by_name[stack.pop()].dependency:
            if dependency in by_name and dependency not in keep:
                keep.add(dependency)
                stack.append(dependency)
    result = descriptor_pb2.FileDescriptorSet()
    result.file.extend(f for f in files.file if f.name in keep)
    return result.SerializeToString()


def empty_image() -> bytes:
    """buf rejects an image without files; one empty file stands for "no contracts" (only ever on
    the current side, where an added file cannot be a finding)."""
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet()
    files.file.add(name="protoforge_empty.proto", syntax="proto3")
    return files.SerializeToString()


@functools.cache
def rule_catalog() -> dict[str, Rule]:
    """Every breaking rule buf knows (ID, categories, purpose): `buf config ls-breaking-rules`."""
    done = subprocess.run(
        [str(find_buf()), "config", "ls-breaking-rules", "--version", "v2", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=buf_environment(True),
    )
    rules: dict[str, Rule] = {}
    for line in done.stdout.splitlines():
        if line.strip().startswith("{"):
            item = json.loads(line)
            rules[item["id"]] = Rule(
                item["id"], tuple(item.get("categories") or ()), item.get("purpose", "")
            )
    return rules
