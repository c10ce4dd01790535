"""Incremental gen: which contracts a run must regenerate, what it carries over from the last
run as `kept` files, and the state it records for the next run (the state's format and the
digests are `cache.py`).

Only contracts whose output can have changed are compiled and rendered: a changed contract and
its importers. Everything else is carried over, verified on disk by size, mtime and inode.
Without a usable cache (none, another global key, `--no-cache`), everything is generated.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from protoforge.config import Config
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.output import cache
from protoforge.output.ownership import inside
from protoforge.output.plan import GeneratedFile, Outcome, Owner, Status
from protoforge.paths import display_path
from protoforge.source.discover import ContractFile

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto


@dataclass(frozen=True)
class Selection:
    """What the last run's state says about this run's contracts."""

    state: cache.GenState | None  # the last run's state, whatever its global key
    previous: cache.GenState | None  # the same, if its global key is this run's: usable
    stamps: dict[str, tuple[int, ...]]  # per contract: see cache.stamp
    digests: dict[str, str]  # per contract: the hash of its bytes
    regenerate: frozenset[str]  # the contracts whose outputs must be generated

    def selected(self, contracts: tuple[ContractFile, ...]) -> tuple[ContractFile, ...]:
        return tuple(c for c in contracts if c.name in self.regenerate)

    def intact(self, name: str) -> bool:
        """The last run generated `name`, and it is on disk as that run left it."""
        previous = self.previous
        return (
            previous is not None
            and name in previous.files
            and previous.files[name].matches_disk(name)
        )


def select(
    config: Config, contracts: tuple[ContractFile, ...], key: str, *, use_cache: bool
) -> Selection:
    """Load the last run's state and choose the contracts to regenerate."""
    state = cache.load_state(config.project_dir) if use_cache else None
    previous = state if state is not None and state.global_key == key else None
    if previous is not None:
        check_cache_paths(config, previous)
    stamps = {c.name: cache.stamp(c.path) for c in contracts}
    digests = {
        c.name: cache.contract_digest(c.path, stamps[c.name], previous, c.name) for c in contracts
    }
    regenerate = to_regenerate(previous, digests) if previous else set(digests)
    return Selection(state, previous, stamps, digests, frozenset(regenerate))


def reselect(
    previous: cache.GenState,
    contracts: tuple[ContractFile, ...],
    changed: Iterable[str],
    damaged: Iterable[str] = (),
) -> Selection:
    """The selection of a run that already knows which contracts may have changed since
    `previous` was recorded (gen --watch: watchfiles names the saved files): only those are
    stamped and hashed, every other contract keeps the stamp and digest `previous` recorded.
    `damaged`: contracts whose generated files were edited or deleted on disk. A contract not
    in `previous` counts as changed; a contract gone from `contracts` as deleted. Raises
    OSError when a changed contract cannot be read (deleted meanwhile: discover again)."""
    current = {c.name: c for c in contracts}
    stamps: dict[str, tuple[int, ...]] = {}
    digests: dict[str, str] = {}
    for name, record in previous.contracts.items():
        if name in current:
            stamps[name], digests[name] = record.stamp, record.digest
    fresh = {name for name in changed if name in current} | (current.keys() - stamps.keys())
    for name in fresh:
        path = current[name].path
        stamps[name] = cache.stamp(path)
        digests[name] = cache.digest(path.read_bytes())
    edited = {
        name
        for name in fresh
        if name not in previous.contracts or previous.contracts[name].digest != digests[name]
    }
    deleted = previous.contracts.keys() - current.keys()
    broken = {name for name in damaged if name in current}
    regenerate = cache.affected_contracts(edited | deleted | broken, previous.contracts, digests)
    return Selection(previous, previous, stamps, digests, frozenset(regenerate))


def global_key(
    config: Config, homes: Iterable[tuple[str, str]], templates: Iterable[Path | None]
) -> str:
    """Everything that every output depends on: tool versions, config, templates, and which
    files installed distributions provide (`homes`: name and installed path; a change there
    moves imports)."""
    return cache.global_key(repr((config, list(homes))), templates)


def to_regenerate(previous: cache.GenState, digests: dict[str, str]) -> set[str]:
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


def contract_record(
    selection: Selection,
    name: str,
    descriptor: FileDescriptorProto | None,
    outputs: Iterable[Path],
    *,
    services: bool,
) -> cache.ContractRecord:
    """What the cache records for a contract generated in this run."""
    imports, public = _imports_of(descriptor)
    return cache.ContractRecord(
        digest=selection.digests[name],
        imports=imports,
        public_imports=public,
        outputs=tuple(sorted(str(path) for path in outputs)),
        services=services,
        stamp=selection.stamps[name],
    )


def _imports_of(
    descriptor: FileDescriptorProto | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if descriptor is None:
        return (), ()
    dependencies = tuple(descriptor.dependency)
    public = tuple(dependencies[index] for index in descriptor.public_dependency)
    return dependencies, public


def carry_over(
    selection: Selection, records: dict[str, cache.ContractRecord], kept: dict[str, Owner]
) -> None:
    """Contracts that need no regeneration keep their record and their files (as `kept`)."""
    previous = selection.previous
    if previous is None:
        return
    stamps = selection.stamps
    for name in selection.digests.keys() - selection.regenerate:
        record = previous.contracts[name]
        # The stamp is refreshed so that a touched but unchanged file is trusted again.
        records[name] = (
            record if record.stamp == stamps[name] else replace(record, stamp=stamps[name])
        )
        for output in record.outputs:
            kept[output] = Owner.USER if previous.files[output].user_owned else Owner.GENERATED


def kept_or_missing(
    selection: Selection, names: Iterable[str], kept: dict[str, Owner]
) -> list[str]:
    """Shared files (package markers, runtimes, provided stubs) depend only on which contracts
    exist: the ones the last run left intact are kept, the others returned (to be generated)."""
    missing: list[str] = []
    for name in names:
        if selection.intact(name):
            kept[name] = Owner.GENERATED
        else:
            missing.append(name)
    return missing


def kept_target_outputs(
    selection: Selection, contracts: tuple[ContractFile, ...], *, changed: bool
) -> tuple[str, ...] | None:
    """The other-language targets' files to keep as the cache recorded them, or None when the
    targets must run: a plugin's output cannot be attributed to the contract it came from, so
    any change (or a deleted contract, or a damaged file) runs them over all contracts."""
    previous = selection.previous
    if previous is None or changed:
        return None
    if previous.contracts.keys() - {c.name for c in contracts}:
        return None
    recorded = previous.target_outputs
    if not all(selection.intact(path) for path in recorded):
        return None
    return recorded


def stale_candidates(previous: cache.GenState | None) -> tuple[str, ...] | None:
    """The generated files of the previous run (user-owned scaffolds are never stale)."""
    if previous is None:
        return None
    return tuple(name for name, record in previous.files.items() if not record.user_owned)


def check_cache_paths(config: Config, state: cache.GenState) -> None:
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


def next_state(
    config: Config,
    key: str,
    records: Mapping[str, cache.ContractRecord],
    previous: cache.GenState | None,
    files: Mapping[Path, GeneratedFile],
    kept: Mapping[str, Owner],
    outcome: Outcome,
) -> cache.GenState | None:
    """The state to record after writing `outcome` (None: a no-op run, whose recorded state
    is still exact)."""
    if (
        previous is not None
        and previous.contracts == records
        and not any(change.is_change for change in outcome.changes)
        and all(str(path) in previous.files for path in files)
    ):
        return None
    recorded: dict[str, cache.FileRecord] = {}
    if previous is not None:
        # kept files: verified against their previous record, content never loaded
        recorded.update({name: previous.files[name] for name in kept})
    for change in outcome.changes:
        if change.status is Status.REMOVED:
            continue
        planned = files[change.path]
        recorded[str(change.path)] = cache.FileRecord.of(
            change.path, user_owned=planned.owner is Owner.USER
        )
    target_dirs = tuple(str(target.out) + os.sep for target in config.targets)
    target_outputs = tuple(sorted(path for path in recorded if path.startswith(target_dirs)))
    return cache.GenState(key, dict(records), recorded, target_outputs, saved_at_ns=time.time_ns())
