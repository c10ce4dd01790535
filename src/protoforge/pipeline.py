"""The library API: `generate(config) -> GenPlan`, then `write(config, plan, outcome)`. The
CLI is a thin shell around them. This module is only the wiring of the stages:

    source:  discover -> [incremental: what changed?] -> compile (protoc, mypy-protobuf)
    codegen: protoc's modules, servers/clients/scaffolds, markers, runtimes, stubs, targets
    output:  Plan -> compare (plan.py) -> write, then record the cache state for the next run
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from protoforge.codegen.generators.markers import marker_files
from protoforge.codegen.generators.protoc_python import python_package_files
from protoforge.codegen.generators.provided_modules import module_paths, provided_module_files
from protoforge.codegen.generators.provided_stubs import provided_stub_files, stub_path
from protoforge.codegen.generators.rendered import rendered_files
from protoforge.codegen.generators.runtime import RUNTIME_PROTO_IMPORTS, runtime_files
from protoforge.codegen.generators.targets import target_files
from protoforge.codegen.layout import Layout
from protoforge.codegen.rules import VALIDATE_PROTO
from protoforge.config import Config
from protoforge.naming import module_to_path, pb2_module
from protoforge.output import cache, incremental
from protoforge.output.ownership import manifest_owned
from protoforge.output.plan import GeneratedFile, Outcome, Owner, Plan, apply, sorted_by_path
from protoforge.source import contracts as source
from protoforge.source.discover import ContractFile
from protoforge.source.protoc import CompileResult, Progress
from protoforge.source.provided import ProvidedCopy, untyped_closure, written_by_gen


@dataclass(frozen=True)
class Inputs:
    """What a run generates from before the cache is consulted: the contracts, the provided
    copies, and the global key (tool versions, config, templates). One-shot gen computes them
    every run; `gen --watch` keeps them in memory until the config or a template changes."""

    contracts: tuple[ContractFile, ...]
    copies: tuple[ProvidedCopy, ...]
    key: str


def inputs(config: Config) -> Inputs:
    contracts, copies = source.contracts_to_generate(config)
    key = incremental.global_key(config, _homes(copies), _template_dirs(config))
    return Inputs(contracts, tuple(copies), key)


@dataclass(frozen=True)
class _Pending:
    """What the cache records once the plan is written (absent with `use_cache=False`)."""

    key: str
    previous: cache.GenState | None


@dataclass(frozen=True)
class GenPlan(Plan):
    """A Plan, the cache record of every contract, and the provided copies it compiled against."""

    records: dict[str, cache.ContractRecord] = field(default_factory=dict)
    # Contracts under the proto roots that installed distributions provide: not generated.
    provided: tuple[ProvidedCopy, ...] = ()
    inputs: Inputs | None = None  # what the plan was generated from (gen --watch keeps it)
    _pending: _Pending | None = field(default=None, repr=False)


def generate(
    config: Config,
    *,
    use_cache: bool = True,
    progress: Progress | None = None,
    warm: tuple[Inputs, incremental.Selection] | None = None,
) -> GenPlan:
    """The full output tree for the contracts the config names, in memory (unchanged files that
    the cache vouches for are listed in `kept` instead). `warm`: the inputs and the selection a
    watcher kept in memory (its last run's state and the contracts it saw change), instead of
    discovering, stamping and hashing every contract and loading the state from disk."""
    if warm is None:
        given = inputs(config)
        selection = incremental.select(config, given.contracts, given.key, use_cache=use_cache)
    else:
        given, selection = warm
    contracts, copies, key = given.contracts, list(given.copies), given.key
    layout = Layout(config.package)
    selected = selection.selected(contracts)
    everything = len(selected) == len(contracts)
    result = source.compile_selected(
        config, contracts, selected, everything=everything, progress=progress
    )
    kept: dict[str, Owner] = {}
    try:
        source.check_provided_imports(result, selected, copies)
        files, records = _contract_files(config, layout, contracts, selected, selection, result)
        incremental.carry_over(selection, records, kept)
        _shared_files(config, layout, selection, records, files, kept)
        if config.targets:
            recorded = incremental.kept_target_outputs(selection, contracts, changed=bool(selected))
            if recorded is not None:
                kept.update(dict.fromkeys(recorded, Owner.GENERATED))
            else:
                ran = result if everything else source.compile_targets(config, contracts)
                for path, data in target_files(config.targets, ran.target_outputs).items():
                    files[path] = GeneratedFile(data)
    except BaseException:
        result.cancel()  # generation failed: its typed stubs are not needed
        raise

    target_dirs = tuple(target.out for target in config.targets)
    return GenPlan(
        files=sorted_by_path(files),
        managed_dirs=(config.out, *target_dirs),
        warnings=result.warnings,
        kept=kept,
        stale_candidates=incremental.stale_candidates(selection.previous),
        manifest_owned=manifest_owned(
            target_dirs, selection.state.files if selection.state else {}
        ),
        scaffold_dir=config.impl_out or config.project_dir,
        records=records,
        provided=tuple(copies),
        inputs=given,
        _pending=_Pending(key, selection.previous) if use_cache else None,
    )


def _contract_files(
    config: Config,
    layout: Layout,
    contracts: tuple[ContractFile, ...],
    selected: tuple[ContractFile, ...],
    selection: incremental.Selection,
    result: CompileResult,
) -> tuple[dict[Path, GeneratedFile], dict[str, cache.ContractRecord]]:
    """Every file generated from the selected contracts, and the cache record of each."""
    files: dict[Path, GeneratedFile] = {}
    records: dict[str, cache.ContractRecord] = {}
    if not selected:
        return files, records
    all_names = [c.name for c in contracts]
    # Rendered first: it needs only the descriptors, while protoc's outputs include the typed
    # stubs that are still being generated in the background (source/protoc.py).
    rendered, services = rendered_files(config, all_names, selected, result, layout)
    generated = python_package_files(selected, result, layout, all_names)
    for contract in selected:
        name = contract.name
        outputs = {config.out / path: GeneratedFile(data) for path, data in generated[name]}
        outputs.update(rendered.get(name, {}))
        files.update(outputs)
        records[name] = incremental.contract_record(
            selection, name, result.file(name), outputs, services=name in services
        )
    return files, records


def _shared_files(
    config: Config,
    layout: Layout,
    selection: incremental.Selection,
    records: dict[str, cache.ContractRecord],
    files: dict[Path, GeneratedFile],
    kept: dict[str, Owner],
) -> None:
    """Package markers, runtime modules and provided stubs depend only on which contracts exist
    and which declare services: computed in full every time, generated again only when the last
    run's copy is not on disk as it was left."""
    markers = _markers(config.out, tuple(record.outputs for record in records.values()), layout)
    for name in incremental.kept_or_missing(selection, map(str, markers), kept):
        files[Path(name)] = GeneratedFile(markers[Path(name)])
    services = [pb2_module(name) for name, record in records.items() if record.services]
    imported = {name for record in records.values() for name in record.imports}
    runtimes = {
        config.out / module_to_path(module): text
        for module, text in runtime_files(
            layout.package, services, validated=VALIDATE_PROTO in imported
        ).items()
    }
    for name in incremental.kept_or_missing(selection, map(str, runtimes), kept):
        files[Path(name)] = GeneratedFile(runtimes[Path(name)].encode())
    if runtimes:
        imported.update(RUNTIME_PROTO_IMPORTS)
    untyped = {str(config.out / stub_path(found)): found for found in untyped_closure(imported)}
    stubs = [untyped[name] for name in incremental.kept_or_missing(selection, untyped, kept)]
    for relative, data in provided_stub_files(stubs).items():
        files[config.out / relative] = GeneratedFile(data)
    written = {
        str(config.out / path): found
        for found in written_by_gen(imported)
        for path in module_paths(found)
    }
    modules = {written[name] for name in incremental.kept_or_missing(selection, written, kept)}
    for relative, data in provided_module_files(
        sorted(modules, key=lambda found: found.name)
    ).items():
        files[config.out / relative] = GeneratedFile(data)


# Memoised (the last call only): gen --watch computes the shared files run after run from
# records of which all but a few are the same, and each walks every contract's outputs.
@lru_cache(maxsize=1)
def _markers(out: Path, outputs: tuple[tuple[str, ...], ...], layout: Layout) -> dict[Path, bytes]:
    return marker_files(out, (output for names in outputs for output in names), layout)


def _homes(copies: list[ProvidedCopy]) -> list[tuple[str, str]]:
    return [(copy.name, str(copy.provided.path)) for copy in copies]


def _template_dirs(config: Config) -> tuple[Path | None, ...]:
    from protoforge.codegen.render import generator_inputs

    return generator_inputs(config)


def write(
    config: Config,
    plan: GenPlan,
    outcome: Outcome,
    *,
    use_cache: bool = True,
    written: Callable[[], None] | None = None,
) -> cache.GenState | None:
    """Apply the outcome to disk, then record what was generated for the next run (unless the
    plan was made, or this write is asked to run, without the cache). Returns the state that
    now describes the output tree (None without the cache). `written` is called once the files
    are on disk, before the state is recorded (gen --watch reports the run there)."""
    apply(outcome, plan.managed_dirs, jobs=config.jobs)
    if written is not None:
        written()
    pending = plan._pending
    if pending is None or not use_cache:
        return None
    state = incremental.next_state(
        config, pending.key, plan.records, pending.previous, plan.files, plan.kept, outcome
    )
    if state is None:
        return pending.previous  # a no-op run: the recorded state is still exact
    cache.save_state(config.project_dir, state)
    return state
