"""The contracts of a config, judged and compiled: which files gen generates (minus those that
installed distributions provide), and protoc runs over them with the right import paths and the
installed descriptors they import."""

from __future__ import annotations

from pathlib import Path

from protoforge.config import Config
from protoforge.errors import CompileError, Diagnostic, ProtoforgeError
from protoforge.naming import check_distinct_modules, check_importable, check_top_level, pb2_module
from protoforge.paths import display_path
from protoforge.source import provided
from protoforge.source.discover import ContractFile, discover, nothing_found
from protoforge.source.protoc import (
    CompileResult,
    Progress,
    compile_contracts,
    well_known_types_include,
)


def contracts_to_generate(
    config: Config,
) -> tuple[tuple[ContractFile, ...], list[provided.ProvidedCopy]]:
    """The contracts gen writes Python for, and the copies of files that installed
    distributions provide (compiled against, never generated). Every module path gen will write
    is judged here, before anything runs."""
    found = discover(config)
    if not found:
        raise nothing_found(config)
    names, copies = provided.split_provided([(c.name, c.display) for c in found], config.package)
    keep = set(names)
    contracts = tuple(c for c in found if c.name in keep)
    displays = {c.name: c.display for c in contracts}
    for contract in contracts:
        check_importable(contract.name, contract.display)
    check_distinct_modules(displays, displays.__getitem__)
    check_top_level(displays, config.package, displays.__getitem__)
    return contracts, copies


def check_provided_imports(
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


def import_paths(config: Config) -> tuple[Path, ...]:
    return (*config.proto_roots, *config.dependency_roots)


def installed_imports(config: Config, contracts: tuple[ContractFile, ...]) -> bytes:
    """The descriptors of what `contracts` import from installed distributions only; every
    file they import from a dependency root must have an installed Python module."""
    scan = provided.scan_imports(
        [c.path for c in contracts],
        (*import_paths(config), well_known_types_include()),
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


def compile_selected(
    config: Config,
    contracts: tuple[ContractFile, ...],
    selected: tuple[ContractFile, ...],
    *,
    everything: bool,
    progress: Progress | None,
) -> CompileResult:
    """Compile the selected contracts (nothing selected: a no-op run compiles nothing); the
    other-language targets run in the same pass when everything is compiled."""
    if not selected:
        return compile_contracts((), import_paths(config))
    try:
        return compile_contracts(
            selected,
            import_paths(config),
            jobs=config.jobs,
            project_dir=config.project_dir,
            targets=config.targets if everything else (),
            progress=progress,
            descriptor_set_in=installed_imports(config, selected),
        )
    except CompileError:
        if everything:
            raise
        # The diagnostics of a partial compile can differ from a full one (an importer that was
        # not recompiled); report exactly what a clean run reports.
        compile_contracts(
            contracts,
            import_paths(config),
            jobs=config.jobs,
            project_dir=config.project_dir,
            descriptor_set_in=installed_imports(config, contracts),
        )
        raise


def compile_targets(config: Config, contracts: tuple[ContractFile, ...]) -> CompileResult:
    """The other-language targets alone, over all contracts (an incremental run: a plugin's
    output cannot be attributed to the contract it came from)."""
    return compile_contracts(
        contracts,
        import_paths(config),
        python=False,
        jobs=config.jobs,
        project_dir=config.project_dir,
        targets=config.targets,
        descriptor_set_in=installed_imports(config, contracts),
    )
