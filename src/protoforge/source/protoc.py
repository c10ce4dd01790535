"""compile: run protoc (from grpcio-tools) as a subprocess and collect everything it produces in
memory: the four Python outputs per contract and a FileDescriptorSet with source info.

Why a subprocess: in-process `grpc_tools.protoc.main` writes its errors straight to fd 2, so they
cannot be captured and turned into diagnostics. Why shards: protoc is single-threaded; on large
trees, several protoc processes over disjoint slices of the contracts use the machine's cores.

Two steps per shard: protoc (messages, gRPC modules, other-language targets, descriptors), then
mypy-protobuf's typed stubs from the descriptors protoc wrote (source/stubs.py). The stubs are
the slowest step, and `compile_contracts` returns as soon as protoc is done: the caller renders
servers and clients from the descriptors while the stubs are generated in the background, and
`CompileResult.outputs` waits for them. protoc and mypy-protobuf never run side by side for one
shard, so their memory does not add up.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from protoforge.config import Target
from protoforge.errors import CompileError, Diagnostic, ProtoforgeError
from protoforge.source.diagnostics import hint_for, parse_stderr, relocate
from protoforge.source.discover import ContractFile

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

# Below this many contracts one protoc process is faster than starting several.
MIN_FILES_PER_SHARD = 64
# Up to this many contracts (in one shard) protoc runs in gen's own process (compile_contracts).
IN_PROCESS_UP_TO = 100


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CompileResult:
    # output path relative to the out dir -> content (without the typed stubs still pending)
    protoc_outputs: dict[str, bytes]
    descriptor_set: bytes  # serialized FileDescriptorSet (imports and source info included)
    warnings: tuple[Diagnostic, ...]
    # target name -> output path relative to the target's out dir -> content
    target_outputs: dict[str, dict[str, bytes]] = field(default_factory=dict)
    # the typed stubs of each shard, being generated in the background
    pending_stubs: tuple[Future[dict[str, bytes]], ...] = ()
    stub_processes: _Processes | None = None

    def cancel(self) -> None:
        """Stop generating the typed stubs (nobody will read them: generation failed)."""
        for stubs in self.pending_stubs:
            stubs.cancel()
        if self.stub_processes is not None:
            self.stub_processes.kill_all()

    @cached_property
    def outputs(self) -> dict[str, bytes]:
        """Every Python output: protoc's and the typed stubs (waits for them). Raises
        CompileError when mypy-protobuf failed."""
        outputs = dict(self.protoc_outputs)
        for stubs in self.pending_stubs:
            outputs.update(stubs.result())
        return outputs

    @cached_property
    def _files_by_name(self) -> dict[str, FileDescriptorProto]:
        from google.protobuf import descriptor_pb2

        parsed = descriptor_pb2.FileDescriptorSet.FromString(self.descriptor_set)
        return {proto_file.name: proto_file for proto_file in parsed.file}

    def file(self, name: str) -> FileDescriptorProto | None:
        """The descriptor of one compiled file (a contract or one of its imports)."""
        return self._files_by_name.get(name)

    @property
    def files(self) -> list[FileDescriptorProto]:
        """Every compiled file, parsed once, dependencies first."""
        return list(self._files_by_name.values())


class _Processes:
    """The subprocesses started for one compile, so that they can be stopped early: when the
    generation fails (`CompileResult.cancel`), or when gen is interrupted or terminated
    (`stop_subprocesses`, from cli.py's signal handler). Each runs in a process group of its
    own, so that stopping it also stops the plugins protoc started."""

    _live: ClassVar[weakref.WeakSet[_Processes]] = weakref.WeakSet()

    def __init__(self) -> None:
        # Re-entrant: a signal handler may stop processes while the main thread holds it.
        self._lock = threading.RLock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._killed = False
        _Processes._live.add(self)

    @property
    def stopped(self) -> bool:
        """Whether `kill_all` has been called (nothing more is to start)."""
        return self._killed

    def run(self, command: list[str], stdin: bytes) -> tuple[int, bytes]:
        """Run `command` to completion: (exit code, stderr)."""
        with self._lock:
            if self._killed:
                return -signal.SIGKILL, b"stopped"
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                process_group=0,
            )
            self._running.add(process)
        try:
            _, stderr = process.communicate(stdin)
        finally:
            with self._lock:
                self._running.discard(process)
        return process.returncode, stderr

    def kill_all(self) -> None:
        with self._lock:
            self._killed = True
            for process in self._running:
                if process.returncode is None:  # not reaped yet: its group id is still its own
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)


def stop_subprocesses() -> None:
    """Stop every protoc and mypy-protobuf process this process started, and start no more:
    their threads then finish at once and remove their temporary directories."""
    for processes in list(_Processes._live):
        processes.kill_all()


def well_known_types_include() -> Path:
    import grpc_tools

    return Path(grpc_tools.__file__).parent / "_proto"


def compile_contracts(
    contracts: Sequence[ContractFile],
    roots: Sequence[Path],
    *,
    python: bool = True,
    jobs: int = 0,
    project_dir: Path | None = None,
    targets: Sequence[Target] = (),
    progress: Progress | None = None,
    descriptor_set_in: bytes = b"",
) -> CompileResult:
    """Compile `contracts` with `roots` as the import paths (proto roots, then dependency
    roots) and, when given, `descriptor_set_in`: the descriptors of imports that only installed
    distributions provide (provided.scan_imports). With `python`, also run the Python, gRPC
    and mypy generators; each of `targets` (other languages) runs in the same protoc pass.
    Raises CompileError with one Diagnostic per protoc message when any contract is broken.
    `progress(done, total)` is called as contracts finish compiling (shard by shard, stubs
    included), possibly from other threads and after this function has returned."""
    if not contracts:
        return CompileResult({}, b"", ())
    plugins = {target.name: resolve_plugin(target, project_dir) for target in targets}
    shards = _shard(contracts, jobs)
    workers = min(len(shards), jobs or os.cpu_count() or 1)
    done = 0
    counting = threading.Lock()

    def report(count: int) -> None:
        nonlocal done
        with counting:
            done += count
            finished = done
        if progress is not None:
            progress(finished, len(contracts))

    processes = _Processes()
    # A small tree in one shard is compiled in this process: protoc takes milliseconds there,
    # and its interpreter's start would cost ~0.1 s of CPU. Not with a plugin of the user's,
    # which protoc would start as a process that a stopped gen could not stop.
    in_process = (
        len(shards) == 1
        and len(contracts) <= IN_PROCESS_UP_TO
        and not any(plugin is not None for plugin in plugins.values())
    )

    def run(names: list[str]) -> _ShardResult:
        shard = _run_protoc(
            names, roots, python, targets, plugins, processes, descriptor_set_in, in_process
        )
        if not python:
            report(len(names))  # with Python output, a shard is done when its stubs are
        return shard

    def stubs(names: list[str], descriptor_set: bytes) -> dict[str, bytes]:
        files = _run_stubs(names, descriptor_set, processes)
        report(len(names))
        return files

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(run, shards))
    errors = [d for shard in results if not shard.ok for d in shard.diagnostics]
    if errors:
        located = relocate(errors, tuple(contracts), tuple(roots))
        raise CompileError(
            f"protoc rejected the contracts ({len(located)} error{'s' * (len(located) != 1)})",
            diagnostics=located,
            hint=hint_for(located, roots, project_dir),
        )
    outputs: dict[str, bytes] = {}
    target_outputs: dict[str, dict[str, bytes]] = {target.name: {} for target in targets}
    for shard in results:
        outputs.update(shard.outputs)
        for name, files in shard.target_outputs.items():
            target_outputs[name].update(files)
    pending: tuple[Future[dict[str, bytes]], ...] = ()
    if python:
        # Not awaited here: these threads only wait for mypy-protobuf processes.
        stubs_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="protoforge-stubs")
        pending = tuple(
            stubs_pool.submit(stubs, names, shard.descriptor_set)
            for names, shard in zip(shards, results, strict=True)
        )
        stubs_pool.shutdown(wait=False)
    descriptor_set = _merge_descriptor_sets([shard.descriptor_set for shard in results])
    warnings = relocate(
        [d for shard in results for d in shard.diagnostics], tuple(contracts), tuple(roots)
    )
    return CompileResult(outputs, descriptor_set, warnings, target_outputs, pending, processes)


def resolve_plugin(target: Target, project_dir: Path | None) -> str | None:
    """The executable of a plugin target (None for a built-in generator): a path, or a command
    found on PATH or in the project's node_modules/.bin (where npm puts protoc-gen-es & co)."""
    if target.generator is not None:
        return None
    command = target.plugin or f"protoc-gen-{target.name}"
    if os.sep in command:
        if os.access(command, os.X_OK) and Path(command).is_file():
            return command
        found = None
    else:
        search = [os.environ.get("PATH", "")]
        if project_dir is not None:
            search.insert(0, str(project_dir / "node_modules" / ".bin"))
        found = shutil.which(command, path=os.pathsep.join(search))
    if found is None:
        raise ProtoforgeError(
            f"target {target.name!r}: plugin {command} not found or not executable",
            hint=f"install it (it must be on PATH or in node_modules/.bin), or set "
            f"targets.{target.name}.plugin to its path; protoc's built-in generators are "
            f"used with targets.{target.name}.generator",
        )
    return found


@dataclass(frozen=True)
class _ShardResult:
    ok: bool
    outputs: dict[str, bytes]
    descriptor_set: bytes
    diagnostics: list[Diagnostic]
    target_outputs: dict[str, dict[str, bytes]]


def _shard(contracts: Sequence[ContractFile], jobs: int) -> list[list[str]]:
    """One contiguous slice of the sorted contracts per worker, cut at equal shares of their
    total size. Contiguous: neighbours share a package and so most of their imports, which each
    protoc process must parse again (measured: more slices than workers cost more than they
    win back). By size: in real trees later files often import more and cost more."""
    workers = jobs or os.cpu_count() or 1
    count = max(1, min(workers, len(contracts) // MIN_FILES_PER_SHARD))
    if count == 1:
        return [[c.name for c in contracts]]
    sizes = [max(1, _size(c.path)) for c in contracts]
    share = sum(sizes) / count
    shards: list[list[str]] = [[]]
    running = 0
    for contract, size in zip(contracts, sizes, strict=True):
        if running >= share * len(shards) and len(shards) < count:
            shards.append([])
        shards[-1].append(contract.name)
        running += size
    return shards


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


_ZIP_UTF8_FLAG = 0x800


def _read_zip(archive: Path) -> dict[str, bytes]:
    """The files of a zip archive protoc wrote. protoc stores entry names as UTF-8 without the
    zip's UTF-8 flag, so Python decodes them as cp437 (`café_pb2.py` would come back as
    `caf├⌐_pb2.py` and be missed): such names are decoded again as what they are."""
    if not archive.exists():
        return {}
    with zipfile.ZipFile(archive) as bundle:
        files: dict[str, bytes] = {}
        for info in bundle.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if not info.flag_bits & _ZIP_UTF8_FLAG:
                with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                    name = name.encode("cp437").decode("utf-8")
            files[name] = bundle.read(info)
        return dict(sorted(files.items()))


def _run_protoc(
    names: list[str],
    roots: Sequence[Path],
    python: bool,
    targets: Sequence[Target],
    plugins: dict[str, str | None],
    processes: _Processes,
    descriptor_set_in: bytes = b"",
    in_process: bool = False,
) -> _ShardResult:
    # protoc writes each generator's output into a zip archive (a `.zip` out path): one file
    # instead of thousands of small ones that would be created, read back and deleted again.
    with tempfile.TemporaryDirectory(prefix="protoforge-") as tmp:
        work = Path(tmp)
        archives = [work / "python.zip", work / "grpc.zip"]
        descriptor_path = work / "descriptors.binpb"
        args = [f"--proto_path={root}" for root in roots]
        args.append(f"--proto_path={well_known_types_include()}")
        if descriptor_set_in:
            installed = work / "installed.binpb"
            installed.write_bytes(descriptor_set_in)
            args.append(f"--descriptor_set_in={installed}")
        args += [
            f"--descriptor_set_out={descriptor_path}",
            "--include_imports",
            "--include_source_info",
        ]
        if python:
            args += [f"--python_out={archives[0]}", f"--grpc_python_out={archives[1]}"]
        for target in targets:
            args.append(f"--{target.flag}_out={work / f'target-{target.name}.zip'}")
            if target.options:
                args.append(f"--{target.flag}_opt={','.join(target.options)}")
            plugin = plugins.get(target.name)
            if plugin is not None:
                args.append(f"--plugin=protoc-gen-{target.flag}={plugin}")
        args += names
        # A response file keeps thousands of contracts clear of the OS's command-line limit.
        response = work / "args.txt"
        response.write_text("\n".join(args) + "\n", encoding="utf-8")
        if in_process:
            # as `python -m grpc_tools.protoc` runs it: the well-known types last on the path
            arguments = [f"@{response}", f"-I{well_known_types_include()}"]
            returncode, stderr = _protoc_in_process(arguments, work / "stderr.txt", processes)
        else:
            returncode, stderr = processes.run(
                [sys.executable, "-m", "grpc_tools.protoc", f"@{response}"], b""
            )
        diagnostics = parse_stderr(stderr.decode("utf-8", "replace"))
        if returncode != 0:
            if not any(d.severity == "error" for d in diagnostics):
                diagnostics.append(
                    Diagnostic("protoc", 0, 0, "error", f"protoc exited with {returncode}")
                )
            return _ShardResult(False, {}, b"", diagnostics, {})
        outputs: dict[str, bytes] = {}
        for archive in archives:
            outputs.update(_read_zip(archive))
        return _ShardResult(
            True,
            outputs,
            descriptor_path.read_bytes(),
            diagnostics,
            {target.name: _read_zip(work / f"target-{target.name}.zip") for target in targets},
        )


def _protoc_in_process(
    arguments: list[str], stderr_path: Path, processes: _Processes
) -> tuple[int, bytes]:
    """(exit code, messages) of protoc run in this process, as `processes.run` reports a
    protoc subprocess's (a gen already being stopped starts nothing)."""
    from protoforge.source.protoc_main import run_protoc

    if processes.stopped:
        return -signal.SIGKILL, b"stopped"
    fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        code = run_protoc(arguments, fd)
    finally:
        os.close(fd)
    return code, stderr_path.read_bytes()


def python_from_descriptors(names: list[str], descriptor_set: bytes) -> dict[str, bytes]:
    """protoc's `_pb2.py` for `names`, compiled from `descriptor_set` alone (files no import
    path holds), keyed by output path."""
    result = _run_protoc(names, (), True, (), {}, _Processes(), descriptor_set)
    if not result.ok:
        raise CompileError(
            "protoc could not compile installed descriptors",
            diagnostics=tuple(result.diagnostics),
            hint="a bug in protoforge or a broken installed distribution; please report it",
        )
    return {path: data for path, data in result.outputs.items() if path.endswith("_pb2.py")}


def typed_stubs(names: list[str], descriptor_set: bytes) -> dict[str, bytes]:
    """mypy-protobuf's stubs for `names` (all of whose imports `descriptor_set` holds), keyed
    by output path (`google/rpc/status_pb2.pyi`). Used for installed descriptors, which are the
    same on every run: the stubs are kept in the user's cache directory (cachedir), keyed by
    everything they are made from (the descriptors, the names, mypy-protobuf's and protoforge's
    stub code), and a cached copy saves a subprocess (0.1-0.2 s of CPU)."""
    import hashlib

    from protoforge.cachedir import load_value, store_value

    key = hashlib.sha256(descriptor_set)
    key.update("\0".join(names).encode())
    key.update(_stub_generator_digest())
    name = key.hexdigest()
    cached = load_value("stubs", name)
    if isinstance(cached, dict) and all(isinstance(v, bytes) for v in cached.values()):
        return cached
    stubs = _run_stubs(names, descriptor_set)
    store_value("stubs", name, stubs)
    return stubs


@functools.cache
def _stub_generator_digest() -> bytes:
    """What else the stubs depend on: mypy-protobuf's generator and protoforge's driver of it
    (source/stubs.py), by their sources, so that an upgrade of either misses the cache."""
    import hashlib
    import importlib.util

    digest = hashlib.sha256()
    for module in ("mypy_protobuf.main", "protoforge.source.stubs"):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin is not None:
            digest.update(Path(spec.origin).read_bytes())
    return digest.digest()


def _run_stubs(
    names: list[str], descriptor_set: bytes, processes: _Processes | None = None
) -> dict[str, bytes]:
    """mypy-protobuf's `_pb2.pyi` and `_pb2_grpc.pyi` for `names`, from their shard's
    descriptors (a plugin request built from them: source/stubs.py)."""
    with tempfile.TemporaryDirectory(prefix="protoforge-stubs-") as tmp:
        names_path = Path(tmp) / "names.txt"
        names_path.write_text("\n".join(names) + "\n", encoding="utf-8")
        archive = Path(tmp) / "stubs.zip"
        command = [sys.executable, "-m", "protoforge.source.stubs", "stubs-from-set"]
        code, stderr = (processes or _Processes()).run(
            [*command, str(names_path), str(archive)], descriptor_set
        )
        if code != 0:
            lines = stderr.decode("utf-8", "replace").strip().splitlines()
            raise CompileError(
                "mypy-protobuf failed to generate the typed stubs",
                diagnostics=(
                    Diagnostic("mypy-protobuf", 0, 0, "error", lines[-1] if lines else "failed"),
                ),
                hint="a bug in mypy-protobuf or protoforge; please report it with the contract",
            )
        return _read_zip(archive)


def _merge_descriptor_sets(sets: list[bytes]) -> bytes:
    """One FileDescriptorSet from the shards', each file once, dependencies before dependents
    (each shard's set is already in dependency order, so first-seen order preserves that)."""
    if len(sets) == 1:
        return sets[0]
    from google.protobuf import descriptor_pb2

    merged = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()
    for data in sets:
        shard = descriptor_pb2.FileDescriptorSet.FromString(data)
        for proto_file in shard.file:
            if proto_file.name not in seen:
                seen.add(proto_file.name)
                merged.file.append(proto_file)
    return merged.SerializeToString()
