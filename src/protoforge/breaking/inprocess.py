"""protoc in this process, for the small compiles of check-breaking.

`compile.compile_contracts` runs protoc as `python -m grpc_tools.protoc` subprocesses (sharded
over the CPUs): right for `gen` and for large trees, but each process costs an interpreter
start-up and a grpc_tools import (~70 ms), and a breaking check of a small tree or of the few
packages a change touches runs two of them (current side and baseline) for a few milliseconds of
compiling. Here protoc runs in-process instead (source/protoc_main.py), and its messages are
parsed as compile.py parses a subprocess's stderr: the same diagnostics.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from protoforge.errors import CompileError, Diagnostic
from protoforge.source.discover import ContractFile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    import tempfile

# Up to this many files a single in-process protoc beats sharded subprocesses.
IN_PROCESS_LIMIT = 400


def compile_descriptor_set(
    contracts: Sequence[ContractFile],
    roots: Sequence[Path],
    jobs: int = 0,
    *,
    source_info: bool = True,
    project_dir: Path | None = None,
) -> bytes:
    """A FileDescriptorSet (imports included) of `contracts`; CompileError with protoc's
    diagnostics, located in the project's files, as `compile_contracts` raises it. Without
    `source_info` (the baseline side: buf places every finding in the current image) the set is
    smaller and quicker for protoc to write and for buf to read. `project_dir` is where the
    missing-import hint looks for an imported file outside every root (as gen's does)."""
    if not contracts:
        return b""
    import grpc_tools

    well_known_types = Path(grpc_tools.__file__).parent / "_proto"  # as compile.py passes it
    if len(contracts) > IN_PROCESS_LIMIT:
        from protoforge.source.protoc import compile_contracts

        return compile_contracts(
            contracts,
            roots,
            python=False,
            jobs=jobs,
            project_dir=project_dir,
            descriptor_set_in=_installed(contracts, roots, well_known_types),
        ).descriptor_set
    # Imports that only installed distributions provide (google/api/annotations.proto with
    # nothing vendored) compile against their descriptors, exactly as gen compiles them. Most
    # trees have none, and finding out costs more than a small compile: so protoc runs first
    # without them, and only if it fails are they looked up and protoc run again with them (a
    # success without them is the same set: they are only ever used for imports that are on no
    # import path).
    code, stderr, data = _protoc(contracts, roots, well_known_types, b"", source_info)
    if code != 0:
        installed = _installed(contracts, roots, well_known_types)
        if installed:
            code, stderr, data = _protoc(contracts, roots, well_known_types, installed, source_info)
    if code == 0:
        return data  # warnings are not a breaking check's business (gen reports them)
    # compile.py's parsing of protoc's messages (imported only now: it costs a few imports)
    from protoforge.source.diagnostics import hint_for, parse_stderr, relocate

    diagnostics = parse_stderr(stderr)
    if not any(d.severity == "error" for d in diagnostics):
        diagnostics.append(Diagnostic("protoc", 0, 0, "error", f"protoc exited with {code}"))
    located = relocate(diagnostics, tuple(contracts), tuple(roots))
    raise CompileError(
        f"protoc rejected the contracts ({len(located)} error{'s' * (len(located) != 1)})",
        diagnostics=located,
        hint=hint_for(located, roots, project_dir),
    )


def _installed(contracts: Sequence[ContractFile], roots: Sequence[Path], wkt: Path) -> bytes:
    from protoforge.source.provided import scan_imports

    return scan_imports([contract.path for contract in contracts], (*roots, wkt), ()).descriptor_set


def _protoc(
    contracts: Sequence[ContractFile],
    roots: Sequence[Path],
    well_known_types: Path,
    installed: bytes,
    source_info: bool,
) -> tuple[int, str, bytes]:
    """(exit code, messages, FileDescriptorSet) of one in-process protoc run."""
    from protoforge.source.protoc_main import run_protoc

    with _Scratch() as scratch:
        args = [f"--proto_path={root}" for root in roots]
        if installed:
            args.append(f"--descriptor_set_in={scratch.file('installed', installed)}")
        args += [
            f"--proto_path={well_known_types}",
            f"--descriptor_set_out={scratch.file('descriptors')}",
            "--include_imports",
            *(["--include_source_info"] if source_info else []),
            *(contract.name for contract in contracts),
        ]
        code = run_protoc(args, scratch.descriptor(scratch.file("stderr")))
        stderr = scratch.read("stderr").decode("utf-8", "replace")
        data = scratch.read("descriptors") if code == 0 else b""
    return code, stderr, data


class _Scratch:
    """The files of one protoc run. In memory where the system has anonymous memory files
    (Linux: memfd, which protoc opens as /proc/self/fd/N), so that no directory is created and
    removed for a compile of a few milliseconds (removing written files costs more than that on
    some disks); else in a temporary directory."""

    def __init__(self) -> None:
        self.in_memory = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")
        self.files: dict[str, int] = {}  # name -> memfd
        self.directory: tempfile.TemporaryDirectory[str] | None = None
        self.opened: list[int] = []

    def __enter__(self) -> _Scratch:
        if not self.in_memory:
            import tempfile  # only without memory files (it costs a few imports)

            self.directory = tempfile.TemporaryDirectory(prefix="protoforge-")
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in (*self.files.values(), *self.opened):
            os.close(fd)
        if self.directory is not None:
            self.directory.cleanup()

    def file(self, name: str, data: bytes = b"") -> str:
        """The path protoc reads or writes `name` at."""
        if self.directory is not None:
            path = Path(self.directory.name) / name
            path.write_bytes(data)
            return str(path)
        fd = os.memfd_create(name)  # type: ignore[attr-defined,unused-ignore]
        self.files[name] = fd
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return f"/proc/self/fd/{fd}"

    def descriptor(self, path: str) -> int:
        """A file descriptor open for writing at `path` (for protoc's fd 2)."""
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        self.opened.append(fd)
        return fd

    def read(self, name: str) -> bytes:
        if self.directory is not None:
            return (Path(self.directory.name) / name).read_bytes()
        fd = self.files[name]
        return os.pread(fd, os.fstat(fd).st_size, 0)
