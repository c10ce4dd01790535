"""The library API: `generate(config) -> Plan`, then `write(config, plan)`. The CLI is a thin
shell around them.

    config -> discover -> [cache: what changed?] -> compile (protoc) -> package files
           -> model -> render (servers, clients, runtime, scaffolds) -> Plan

With the cache (cache.py), only contracts whose output can have changed are compiled and
rendered: a changed contract and its direct importers. Everything else is carried over as `kept`
files, verified on disk by size and mtime. Without a usable cache, everything is generated.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from protoforge.codegen.layout import Layout, header, rewrite_imports
from protoforge.config import Config
from protoforge.errors import CompileError, Diagnostic, ProtoforgeError
from protoforge.naming import (
    check_distinct_modules,
    check_importable,
    check_top_level,
    module_to_path,
    pb2_grpc_module,
    pb2_module,
    runtime_module,
)
from protoforge.output import cache
from protoforge.output.ownership import NotRegular, clean_relative, inside, read_regular
from protoforge.output.plan import (
    GeneratedFile,
    Outcome,
    Owner,
    Plan,
    Status,
    apply,
    digest,
    sorted_by_path,
)
from protoforge.paths import display_path
from protoforge.source import provided
from protoforge.source.discover import ContractFile, discover
from protoforge.source.protoc import CompileResult, Progress, compile_contracts

PY_TYPED = header(None).encode()


@dataclass(frozen=True)
class GenPlan(Plan):
    """A Plan plus what the cache needs to record after a successful write."""

    global_key: str = ""
    records: dict[str, cache.ContractRecord] = field(default_factory=dict)
    previous: cache.GenState | None = None
    # Contracts under the proto roots that installed distributions provide: not generated.
    provided: tuple[provided.ProvidedCopy, ...] = ()


def generate(
    config: Config, *, use_cache: bool = True, progress: Progress | None = None
) -> GenPlan:
    """The full output tree for the contracts the config names, in memory (unchanged files that
    the cache vouches for are listed in `kept` instead)."""
    contracts, copies = _contracts_to_generate(config)
    layout = Layout(config.package)
    key = _global_key(config, copies)
    state = cache.load_state(config.project_dir) if use_cache else None
    previous = state if state is not None and state.global_key == key else None
    if previous is not None:
        _check_cache_paths(config, previous)
    stamps = {c.name: cache.stamp(c.path) for c in contracts}
    digests = {
        c.name: cache.contract_digest(c.path, stamps[c.name], previous, c.name) for c in contracts
    }
    regenerate = _targets(previous, digests) if previous else set(digests)
    selected = tuple(c for c in contracts if c.name in regenerate)
    everything = len(selected) == len(contracts)
    result = _compile(config, contracts, selected, everything=everything, progress=progress)

    try:
        _check_provided_imports(result, selected, copies)
        all_names = [c.name for c in contracts]
        files, records = _contract_outputs(config, layout, all_names, selected, result)
        for name, record in records.items():  # what the files were generated from
            records[name] = replace(record, digest=digests[name], stamp=stamps[name])
        kept: dict[str, Owner] = {}
        if previous:
            _carry_over(previous, digests.keys() - regenerate, stamps, records, kept)
        _shared_files(config, layout, records, previous, files, kept)
        target_files, target_kept = _language_target_files(
            config, contracts, result, previous, everything=everything, changed=bool(selected)
        )
        files.update(target_files)
        kept.update(target_kept)
    except BaseException:
        result.cancel()  # generation failed: its typed stubs are not needed
        raise

    return GenPlan(
        files=sorted_by_path(files),
        managed_dirs=(config.out, *(target.out for target in config.targets)),
        warnings=result.warnings,
        kept=kept,
        stale_candidates=_stale_candidates(previous),
        manifest_owned=_manifest_owned(config, state),
        scaffold_dir=config.impl_out or config.project_dir,
        global_key=key,
        records=records,
        previous=previous,
        provided=tuple(copies),
    )


def _contracts_to_generate(
    config: Config,
) -> tuple[tuple[ContractFile, ...], list[provided.ProvidedCopy]]:
    """The contracts gen writes Python for, and the copies of files that installed
    distributions provide (compiled against, never generated). Every module path gen will write
    is judged here, before anything runs."""
    found = discover(config)
    names, copies = provided.split_provided([(c.name, c.display) for c in found], config.package)
    keep = set(names)
    contracts = tuple(c for c in found if c.name in keep)
    displays = {c.name: c.display for c in contracts}
    for contract in contracts:
        check_importable(contract.name, contract.display)
    check_distinct_modules(displays, displays.__getitem__)
    check_top_level(displays, config.package, displays.__getitem__)
    return contracts, copies


def _check_provided_imports(
    result: CompileResult,
    selected: tuple[ContractFile, ...],
    copies: list[provided.ProvidedCopy],
) -> None:
    """Provided copies that protoc read must match what is installed, and no contract may
    import a copy its distribution registers under another file name."""
    by_name = {copy.name: copy for copy in copies}
    for copy in copies:
        descriptor = result.file(copy.name)
        if descriptor is not None:
            provided.check_copy(descriptor, copy.provided, copy.display)
    for contract in selected:
        descriptor = result.file(contract.name)
        for dependency in descriptor.dependency if descriptor is not None else ():
            imported = by_name.get(dependency)
            if imported is not None and imported.provided.registered_as != imported.name:
                raise provided.renamed_import_error(contract.name, contract.display, imported)


def _import_paths(config: Config) -> tuple[Path, ...]:
    return (*config.proto_roots, *config.dependency_roots)


def _installed_imports(config: Config, contracts: tuple[ContractFile, ...]) -> bytes:
    """The descriptors of what `contracts` import from installed distributions only; every
    file they import from a dependency root must have an installed Python module."""
    from protoforge.source.protoc import well_known_types_include

    scan = provided.scan_imports(
        [c.path for c in contracts],
        (*_import_paths(config), well_known_types_include()),
        config.dependency_roots,
    )
    for name in scan.dependency_files:
        if provided.provider(name) is None:
            location = next(
                (str(root / name) for root in config.dependency_roots if (root / name).is_file()),
                name,
            )
            raise ProtoforgeError(
                f"{name} is imported from a dependency root, and no installed package provides "
                "its Python module",
                diagnostics=(
                    Diagnostic(
                        display_path(Path(location)),
                        0,
                        0,
                        "error",
                        f"the generated code would import {pb2_module(name)}, which is not "
                        "installed",
                    ),
                ),
                hint="install the distribution that provides it, or move the file into "
                "proto_roots to generate it",
            )
    return scan.descriptor_set


def _compile(
    config: Config,
    contracts: tuple[ContractFile, ...],
    selected: tuple[ContractFile, ...],
    *,
    everything: bool,
    progress: Progress | None,
) -> CompileResult:
    """Compile the selected contracts (nothing selected: a no-op run compiles nothing)."""
    if not selected:
        return compile_contracts((), _import_paths(config))
    try:
        return compile_contracts(
            selected,
            _import_paths(config),
            jobs=config.jobs,
            project_dir=config.project_dir,
            targets=config.targets if everything else (),
            progress=progress,
            descriptor_set_in=_installed_imports(config, selected),
        )
    except CompileError:
        if everything:
            raise
        # The diagnostics of a partial compile can differ from a full one (an importer that was
        # not recompiled); report exactly what a clean run reports.
        compile_contracts(
            contracts,
            _import_paths(config),
            jobs=config.jobs,
            project_dir=config.project_dir,
            descriptor_set_in=_installed_imports(config, contracts),
        )
        raise


def _contract_outputs(
    config: Config,
    layout: Layout,
    all_names: list[str],
    selected: tuple[ContractFile, ...],
    result: CompileResult,
) -> tuple[dict[Path, GeneratedFile], dict[str, cache.ContractRecord]]:
    """Every file generated from the selected contracts, and a cache record per contract
    (without its digest and stamp, which describe the source file: the caller adds them)."""
    files: dict[Path, GeneratedFile] = {}
    records: dict[str, cache.ContractRecord] = {}
    if not selected:
        return files, records
    # Rendered first: it needs only the descriptors, while protoc's outputs include the typed
    # stubs that are still being generated in the background (compile.py).
    rendered, services = _rendered_files(config, all_names, selected, result, layout)
    generated = python_package_files(selected, result, layout, all_names)
    for contract in selected:
        outputs = {
            config.out / path: GeneratedFile(content) for path, content in generated[contract.name]
        }
        outputs.update(rendered.get(contract.name, {}))
        files.update(outputs)
        imports, public = _imports_of(result, contract.name)
        records[contract.name] = cache.ContractRecord(
            digest="",
            imports=imports,
            public_imports=public,
            outputs=tuple(sorted(str(path) for path in outputs)),
            services=contract.name in services,
        )
    return files, records


def _carry_over(
    previous: cache.GenState,
    unchanged: Iterable[str],
    stamps: dict[str, tuple[int, ...]],
    records: dict[str, cache.ContractRecord],
    kept: dict[str, Owner],
) -> None:
    """Contracts that need no regeneration keep their record and their files (as `kept`)."""
    for name in unchanged:
        record = previous.contracts[name]
        # The stamp is refreshed so that a touched but unchanged file is trusted again.
        records[name] = (
            record if record.stamp == stamps[name] else replace(record, stamp=stamps[name])
        )
        for output in record.outputs:
            kept[output] = Owner.USER if previous.files[output].user_owned else Owner.GENERATED


def _shared_files(
    config: Config,
    layout: Layout,
    records: dict[str, cache.ContractRecord],
    previous: cache.GenState | None,
    files: dict[Path, GeneratedFile],
    kept: dict[str, Owner],
) -> None:
    """Package markers and runtime modules depend only on which contracts exist and which
    declare services: computed in full every time, re-rendered or re-read only when the previous
    run's copy is not on disk as it was left."""

    def intact(name: str) -> bool:
        return (
            previous is not None
            and name in previous.files
            and (previous.files[name].matches_disk(name))
        )

    out_prefix = str(config.out) + os.sep
    relative_outputs = {
        output[len(out_prefix) :].replace(os.sep, "/")
        for record in records.values()
        for output in record.outputs
        if output.startswith(out_prefix)
    }
    for relative, content in package_marker_files(relative_outputs, layout).items():
        name = f"{out_prefix}{relative}"
        if intact(name):
            kept[name] = Owner.GENERATED
        else:
            files[config.out / relative] = GeneratedFile(content)
    runtimes = {
        runtime_module(layout.package, pb2_module(name))
        for name, record in records.items()
        if record.services
    }
    missing = set()
    for module in runtimes:
        name = str(config.out / module_to_path(module))
        if intact(name):
            kept[name] = Owner.GENERATED
        else:
            missing.add(module)
    if missing:
        from protoforge.codegen.render import render_runtimes

        for path, text in render_runtimes(missing, config).items():
            files[path] = GeneratedFile(text.encode())
    _provided_stubs(config, records, intact, files, kept)


def _provided_stubs(
    config: Config,
    records: dict[str, cache.ContractRecord],
    intact: Callable[[str], bool],
    files: dict[Path, GeneratedFile],
    kept: dict[str, Owner],
) -> None:
    """Typed stubs (`.pyi` only, at the installed module's path in `out`) for the provided
    modules the contracts use that ship no types (googleapis-common-protos): mypy reads them
    from `out`, Python still imports the installed module (a namespace package such as
    `google.rpc` spans both directories)."""
    imported = {name for record in records.values() for name in record.imports}
    missing: list[provided.ProvidedFile] = []
    for found in provided.untyped_closure(imported):
        path = config.out / module_to_path(found.module, ".pyi")
        if intact(str(path)):
            kept[str(path)] = Owner.GENERATED
        else:
            missing.append(found)
    if not missing:
        return
    from protoforge.source.protoc import typed_stubs

    stubs = typed_stubs([f.registered_as for f in missing], provided.descriptor_set_of(missing))
    for found in missing:
        relative = module_to_path(found.module, ".pyi")
        text = stubs[relative].decode("utf-8")
        files[config.out / relative] = GeneratedFile(
            (header(found.registered_as) + _stub_note(found) + text).encode()
        )


def _stub_note(found: provided.ProvidedFile) -> str:
    return (
        f"# Types for {found.module}, which {found.distribution} installs without them;\n"
        "# Python imports the installed module, type checkers read this file.\n"
    )


def write(config: Config, plan: GenPlan, outcome: Outcome, *, use_cache: bool = True) -> None:
    """Apply the outcome to disk, then record what was generated for the next run."""
    apply(outcome, plan.managed_dirs, jobs=config.jobs)
    if not use_cache:
        return
    previous = plan.previous
    if (
        previous is not None
        and previous.contracts == plan.records
        and not any(change.is_change for change in outcome.changes)
        and all(str(path) in previous.files for path in plan.files)
    ):
        return  # a no-op run: the recorded state is still exact
    files: dict[str, cache.FileRecord] = {}
    if previous is not None:
        # kept files: verified against their previous record, content never loaded
        files.update({name: previous.files[name] for name in plan.kept})
    for change in outcome.changes:
        if change.status is Status.REMOVED:
            continue
        planned = plan.files[change.path]
        files[str(change.path)] = cache.FileRecord.of(
            change.path, user_owned=planned.owner is Owner.USER
        )
    target_dirs = tuple(str(target.out) + os.sep for target in config.targets)
    target_outputs = tuple(sorted(path for path in files if path.startswith(target_dirs)))
    state = cache.GenState(
        plan.global_key, dict(plan.records), files, target_outputs, saved_at_ns=time.time_ns()
    )
    cache.save_state(config.project_dir, state)


def _language_target_files(
    config: Config,
    contracts: tuple[ContractFile, ...],
    result: CompileResult,
    previous: cache.GenState | None,
    *,
    everything: bool,
    changed: bool,
) -> tuple[dict[Path, GeneratedFile], dict[str, Owner]]:
    """Files of the other-language targets. A plugin's output cannot be attributed to the
    contract it came from, so when anything changed every target runs over all contracts (in the
    same protoc pass on a full run, in a pass of its own on an incremental one); when nothing
    changed, their files are kept as the cache recorded them."""
    if not config.targets:
        return {}, {}
    deleted = previous is not None and bool(previous.contracts.keys() - {c.name for c in contracts})
    recorded = previous.target_outputs if previous is not None else ()
    intact = all(
        previous is not None and path in previous.files and previous.files[path].matches_disk(path)
        for path in recorded
    )
    if previous is not None and not changed and not deleted and intact:
        return {}, {path: Owner.GENERATED for path in recorded}
    if not everything:
        result = compile_contracts(
            contracts,
            _import_paths(config),
            python=False,
            jobs=config.jobs,
            project_dir=config.project_dir,
            targets=config.targets,
            descriptor_set_in=_installed_imports(config, contracts),
        )
    files: dict[Path, GeneratedFile] = {}
    for target in config.targets:
        outputs = result.target_outputs.get(target.name, {})
        unsafe = sorted(name for name in outputs if not clean_relative(name) or name == MANIFEST)
        if unsafe:
            raise ProtoforgeError(
                f"target {target.name!r}: the plugin returned file names outside its directory",
                diagnostics=tuple(
                    Diagnostic(
                        f"targets.{target.name}",
                        0,
                        0,
                        "error",
                        f"{name!r} is not a relative path inside {display_path(target.out)}",
                    )
                    for name in unsafe
                ),
                hint="protoforge writes a plugin's files only inside the target's `out`; "
                "nothing was written. Fix the plugin or its options",
            )
        for relative, content in outputs.items():
            files[target.out / relative] = GeneratedFile(content)
        files[target.out / MANIFEST] = GeneratedFile(manifest_text(outputs).encode())
    return files, {}


MANIFEST = ".protoforge-manifest"


def manifest_text(outputs: Mapping[str, bytes]) -> str:
    """The files gen wrote into a target's directory, one `<sha256> <relative path>` line each:
    what may be overwritten there (other-language files carry no protoforge header), and what
    may be removed once stale - only while its content is still what gen wrote."""
    return header(None) + "".join(f"{digest(outputs[path])} {path}\n" for path in sorted(outputs))


def read_manifest(directory: Path) -> dict[str, str | None]:
    """Absolute path -> recorded digest (None for a line without one, as older versions wrote
    them) of every file a target's manifest lists. A line that is not a plain relative path
    (absolute, `..`) is an error naming the manifest and the line: it could only come from a
    tampered or hand-edited manifest, and gen must not act on it."""
    path = directory / MANIFEST
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ProtoforgeError(
            f"cannot read {display_path(path)}: {error}",
            hint="restore it from version control, or delete it together with the files it lists",
        ) from None
    owned: dict[str, str | None] = {}
    bad: list[Diagnostic] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        recorded, _, name = line.partition(" ")
        if not (len(recorded) == 64 and all(c in "0123456789abcdef" for c in recorded)):
            recorded, name = "", line  # an older manifest: paths only
        if not clean_relative(name) or name == MANIFEST:
            message = f"{name!r} is not a relative path inside {display_path(directory)}"
            bad.append(Diagnostic(display_path(path), number, 0, "error", message))
            continue
        owned[str(directory / name)] = recorded or None
    if bad:
        raise ProtoforgeError(
            "a target manifest names files outside its directory",
            diagnostics=tuple(bad),
            hint="the manifest lists what gen wrote there; restore it from version control, "
            "or delete it together with the files it lists",
        )
    return owned


def _manifest_owned(config: Config, state: cache.GenState | None) -> dict[str, str | None]:
    """The files the targets' manifests list, with their recorded digests. A line without one
    (a manifest from before digests) gets the file's current digest when the last run's state
    (whatever its global key: an upgrade changes that) recorded the file exactly as it is on
    disk (size, mtime ns, inode): then it is removable when stale, as if the manifest had
    recorded it."""
    owned: dict[str, str | None] = {}
    for target in config.targets:
        owned.update(read_manifest(target.out))
    records = state.files if state is not None else {}
    for name, recorded in owned.items():
        if recorded is not None or name not in records or not records[name].matches_disk(name):
            continue
        try:
            content = read_regular(Path(name))
        except (NotRegular, OSError):
            continue
        if content is not None:
            owned[name] = digest(content)
    return owned


def _stale_candidates(previous: cache.GenState | None) -> tuple[str, ...] | None:
    """The generated files of the previous run (user-owned scaffolds are never stale)."""
    if previous is None:
        return None
    return tuple(name for name, record in previous.files.items() if not record.user_owned)


def _check_cache_paths(config: Config, state: cache.GenState) -> None:
    """Every path the cache names must be inside what gen owns (`out`, the targets' `out`, and
    for the user's scaffolds the implementation directory): a tampered cache must not point
    gen's stale-file removal anywhere else."""
    generated = (config.out, *(target.out for target in config.targets))
    scaffolds = (*generated, config.impl_out or config.project_dir)
    bad = sorted(
        {
            name
            for name, record in state.files.items()
            if not inside(name, scaffolds if record.user_owned else generated)
        }
        | {
            name
            for record in state.contracts.values()
            for name in record.outputs
            if not inside(name, scaffolds)
        }
        | {name for name in state.target_outputs if not inside(name, generated)}
    )
    if bad:
        where = display_path(cache.state_path(config.project_dir))
        raise ProtoforgeError(
            "the generation cache names files outside the output directories",
            diagnostics=tuple(
                Diagnostic(where, 0, 0, "error", f"{name!r} is outside what protoforge owns")
                for name in bad
            ),
            hint=f"delete {display_path(cache.state_path(config.project_dir).parent)} "
            "(always safe) and run gen again",
        )


def _targets(previous: cache.GenState, digests: dict[str, str]) -> set[str]:
    """The contracts to regenerate: changed, added or deleted ones, those whose outputs were
    edited or deleted on disk, and the contracts whose output can depend on any of those."""
    changed = {
        name
        for name, value in digests.items()
        if name not in previous.contracts or previous.contracts[name].digest != value
    }
    deleted = previous.contracts.keys() - digests.keys()
    damaged = {
        name
        for name, record in previous.contracts.items()
        if name in digests
        and not all(
            output in previous.files and previous.files[output].matches_disk(output)
            for output in record.outputs
        )
    }
    return cache.affected_contracts(changed | deleted | damaged, previous.contracts, digests)


def _global_key(config: Config, copies: list[provided.ProvidedCopy]) -> str:
    """Everything that every output depends on: tool versions, config, templates, and which
    files installed distributions provide (a change there moves imports)."""
    from protoforge.codegen.render import builtin_templates_dir

    homes = [(copy.name, str(copy.provided.path)) for copy in copies]
    return cache.global_key(repr((config, homes)), (builtin_templates_dir(), config.templates_dir))


def _imports_of(result: CompileResult, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    proto_file = result.file(name)
    if proto_file is None:
        return (), ()
    dependencies = tuple(proto_file.dependency)
    public = tuple(dependencies[index] for index in proto_file.public_dependency)
    return dependencies, public


def _rendered_files(
    config: Config,
    all_names: list[str],
    selected: tuple[ContractFile, ...],
    result: CompileResult,
    layout: Layout,
) -> tuple[dict[str, dict[Path, GeneratedFile]], set[str]]:
    """Servers and clients (generated) and implementation scaffolds (the user's, written only if
    absent) per contract that declares a service; and the names of those contracts."""
    from protoforge.codegen.model import build_contract
    from protoforge.codegen.render import render_files, reserved_names

    displays = {contract.name: contract.display for contract in selected}
    contract = build_contract(
        result.files,
        all_names,
        layout,
        only=displays.keys(),
        reserved=reserved_names(config),
        display=lambda name: displays.get(name, name),
    )
    by_contract: dict[str, dict[Path, GeneratedFile]] = {}
    services = {proto_file.name for proto_file in contract.service_files}
    if not services:
        return by_contract, services
    owner_of: dict[Path, str] = {}
    for proto_file in contract.service_files:
        for module in (proto_file.server_module, proto_file.client_module):
            owner_of[config.out / (module.replace(".", "/") + ".py")] = proto_file.name
        impl_dir = config.impl_out or config.project_dir
        owner_of[impl_dir / (proto_file.impl_module.replace(".", "/") + ".py")] = proto_file.name
    for path, (text, user_owned) in render_files(contract, config, layout).items():
        name = owner_of.get(path)
        if name is None:
            continue  # runtime modules: rendered for every package root by generate()
        owner = Owner.USER if user_owned else Owner.GENERATED
        by_contract.setdefault(name, {})[path] = GeneratedFile(text.encode("utf-8"), owner)
    return by_contract, services


def python_package_files(
    contracts: tuple[ContractFile, ...],
    result: CompileResult,
    layout: Layout,
    all_names: list[str],
) -> dict[str, list[tuple[str, bytes]]]:
    """protoc's outputs per contract: a header naming the contract and imports rewritten under
    the package prefix. Paths are relative to `out`."""
    local_modules = frozenset(
        module for name in all_names for module in (pb2_module(name), pb2_grpc_module(name))
    )
    files: dict[str, list[tuple[str, bytes]]] = {}
    for contract in contracts:
        outputs = files.setdefault(contract.name, [])
        for module in (pb2_module(contract.name), pb2_grpc_module(contract.name)):
            for suffix in (".py", ".pyi"):
                relative = module.replace(".", "/") + suffix
                content = result.outputs.get(relative)
                if content is None:
                    # protoc and mypy-protobuf write all four for every file: a missing one
                    # would leave a package that fails at import time.
                    raise ProtoforgeError(
                        f"protoc produced no {relative} for {contract.name}",
                        diagnostics=(
                            Diagnostic(contract.display, 0, 0, "error", f"{relative} missing"),
                        ),
                        hint="a protoforge bug if the file name is a valid module name; "
                        "please report it with the contract's path",
                    )
                text = rewrite_imports(content.decode("utf-8"), layout, local_modules)
                outputs.append((layout.path(relative), (header(contract.name) + text).encode()))
    return files


def package_marker_files(outputs: set[str], layout: Layout) -> dict[str, bytes]:
    """`__init__.py` in every directory holding generated modules, and `py.typed`."""
    shared: dict[str, bytes] = {}
    for directory in layout.package_dirs(outputs):
        shared[f"{directory}/__init__.py"] = header(None).encode()
    for directory in layout.typed_marker_dirs(outputs):
        shared[f"{directory}/py.typed"] = PY_TYPED
    return shared
