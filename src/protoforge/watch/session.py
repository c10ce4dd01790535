"""`gen --watch`'s memory between runs, and what one batch of saved files makes it do.

A one-shot gen learns what changed by reading the whole project: it discovers every contract,
stats and (when in doubt) hashes each one, hashes every template for the global key, loads the
cache state and stats every generated file. On 5,000 contracts that is most of a one-edit run.
A session does all of that once (its first run is a plain gen), then keeps in memory what the
next run needs: the contracts, the provided copies, the global key and the cache state it
recorded. watchfiles names the saved files, so a run stamps and hashes only those and
regenerates only the contracts that changed and their importers (`incremental.reselect`).

What reloads everything: the config file (when the resolved config differs), a file of the
user's templates_dir, a contract added or deleted (discovery again), and another gen writing
the project's cache meanwhile (found by the state file's stamp before every run).

A failed run changes nothing on disk (gen's plan-then-write) and keeps its changes pending, so
the run after the fix regenerates them too. Only `cli/` prints: a run returns what it did.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from protoforge.config import Config, load_config
from protoforge.output import cache, incremental
from protoforge.output.plan import Outcome
from protoforge.pipeline import GenPlan, Inputs
from protoforge.source.discover import is_excluded

StateStamp = tuple[int, int, int] | None  # the cache state file's size, mtime and inode


@dataclass
class Changes:
    """A batch of saved files, sorted by what each kind makes the session do."""

    contracts: set[str] = field(default_factory=set)  # import paths of contracts saved
    rediscover: bool = False  # a contract appeared or disappeared
    config: bool = False  # the config file
    templates: set[str] = field(default_factory=set)  # files of the user's templates_dir
    outputs: set[str] = field(default_factory=set)  # generated files touched on disk

    def merge(self, other: Changes) -> None:
        self.contracts |= other.contracts
        self.rediscover |= other.rediscover
        self.config |= other.config
        self.templates |= other.templates
        self.outputs |= other.outputs

    def __bool__(self) -> bool:
        return bool(
            self.contracts or self.rediscover or self.config or self.templates or self.outputs
        )


@dataclass(frozen=True)
class Run:
    """One regeneration: why it ran, what it wrote, how long it took (seconds, from the start
    of the run to the last file written and the cache state recorded)."""

    reason: str
    plan: GenPlan
    outcome: Outcome
    seconds: float


@dataclass
class _Memory:
    """What the last successful run leaves for the next one."""

    inputs: Inputs
    state: cache.GenState
    state_stamp: StateStamp
    _owners: dict[str, str] | None = None  # generated file -> its contract, built on demand
    _names: frozenset[str] | None = None  # the contracts' import paths, built on demand

    def knows(self, name: str) -> bool:
        if self._names is None:
            self._names = frozenset(contract.name for contract in self.inputs.contracts)
        return name in self._names

    def owner(self, output: str) -> str | None:
        if self._owners is None:
            self._owners = {
                path: name
                for name, record in self.state.contracts.items()
                for path in record.outputs
            }
        return self._owners.get(output)


class Session:
    """Runs gen for each batch of saved files, with the state kept in memory."""

    def __init__(
        self,
        config_path: Path,
        *,
        lock_timeout: float = 60.0,
        on_lock_wait: Callable[[], None] | None = None,
    ) -> None:
        self.config_path = config_path
        self.config: Config | None = None
        self._lock_timeout = lock_timeout
        self._on_lock_wait = on_lock_wait
        self._memory: _Memory | None = None
        self._pending = Changes(config=True)  # the first run loads the config
        self._generated = False  # until the first run succeeds

    # -- what to watch, and what a saved path is --------------------------------------------

    def watched(self) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
        """(directories watched recursively, directories whose entries are watched): the proto
        roots, the templates_dir and the output trees; the config file's directory."""
        flat = (self.config_path.parent,)
        config = self.config
        if config is None:
            return (), flat
        recursive = [*config.proto_roots, config.out, *(t.out for t in config.targets)]
        if config.templates_dir is not None:
            recursive.append(config.templates_dir)
        return tuple(recursive), flat

    def classify(self, paths: Iterable[str]) -> Changes:
        changes = Changes()
        config = self.config
        for path in paths:
            if path == str(self.config_path):
                changes.config = True
            elif config is None:
                continue
            elif config.templates_dir is not None and _below(path, config.templates_dir):
                changes.templates.add(path)
            elif any(_below(path, out) for out in _outs(config)):
                changes.outputs.add(path)
            else:
                self._classify_contract(config, path, changes)
        return changes

    def _classify_contract(self, config: Config, path: str, changes: Changes) -> None:
        if not path.endswith(".proto"):
            return  # an editor's backup or swap file, a directory
        index = next((i for i, root in enumerate(config.proto_roots) if _below(path, root)), None)
        if index is None:
            return
        name = Path(path).relative_to(config.proto_roots[index]).as_posix()
        if is_excluded(name, index, config.exclude):
            return
        changes.contracts.add(name)
        memory = self._memory
        known = memory is not None and memory.knows(name)
        if not known or not os.path.isfile(path):
            changes.rediscover = True

    # -- one run -----------------------------------------------------------------------------

    def run(self, changes: Changes, *, written: Callable[[Run], None] | None = None) -> Run | None:
        """Regenerate for `changes` (and whatever a failed run left pending); None when they
        change nothing gen depends on. `written(run)` is called as soon as the files are on
        disk, before the cache state is recorded. Raises ProtoforgeError as gen does; the
        changes then stay pending."""
        pending = self._pending
        pending.merge(changes)
        reason = _reason(pending, first=not self._generated)
        if pending.config or self.config is None:
            self.load()
        config = self.config
        assert config is not None
        if pending.templates:
            self._memory = None  # the global key hashes every template
        memory = self._memory
        damaged: set[str] = set()
        if memory is not None and not self._needs_run(pending, memory, damaged):
            self._pending = Changes()
            return None
        started = time.perf_counter()
        done: list[Run] = []

        def on_written(plan: GenPlan, outcome: Outcome) -> None:
            done.append(Run(reason, plan, outcome, time.perf_counter() - started))
            if written is not None:
                written(done[0])

        self._generate(config, pending, damaged, on_written)
        self._pending = Changes()
        self._generated = True
        return done[0]

    def load(self) -> None:
        """(Re)load the config; a different one drops the memory (a new global key). Raises
        ConfigError with file and line, as gen does."""
        config = load_config(self.config_path)
        if config != self.config:
            self.config, self._memory = config, None

    def _needs_run(self, pending: Changes, memory: _Memory, damaged: set[str]) -> bool:
        """Whether `pending` touches anything gen reads; fills `damaged` with the contracts
        whose generated files were edited or deleted by someone else (gen's own writes match
        the recorded state and are ignored)."""
        shared = False
        for path in pending.outputs:
            record = memory.state.files.get(path)
            if record is None or record.matches_disk(path):
                continue
            owner = memory.owner(path)
            if owner is None:
                shared = True  # a package marker or runtime module: every run checks those
            else:
                damaged.add(owner)
        return bool(pending.contracts or pending.rediscover or damaged or shared)

    def _generate(
        self,
        config: Config,
        pending: Changes,
        damaged: set[str],
        written: Callable[[GenPlan, Outcome], None],
    ) -> None:
        from protoforge.output.lock import gen_lock
        from protoforge.output.plan import compare
        from protoforge.pipeline import generate, inputs, write

        with gen_lock(config.project_dir, timeout=self._lock_timeout, on_wait=self._on_lock_wait):
            memory = self._memory
            if memory is not None and _state_stamp(config) != memory.state_stamp:
                memory = None  # another gen wrote the tree and the cache meanwhile
            warm = None
            if memory is not None:
                given = inputs(config) if pending.rediscover else memory.inputs
                if given.key == memory.inputs.key:
                    try:
                        selection = incremental.reselect(
                            memory.state, given.contracts, pending.contracts, damaged
                        )
                        warm = (given, selection)
                    except OSError:
                        pass  # a contract vanished after it was seen: a plain gen sorts it out
            plan = generate(config, warm=warm)
            outcome = compare(plan)
            # No memory until the write is through: a failed write's rollback leaves files
            # whose stamps the memory would not know of (the next run then reads the disk).
            self._memory = None
            state = write(config, plan, outcome, written=lambda: written(plan, outcome))
            if state is not None and plan.inputs is not None:
                self._memory = _Memory(plan.inputs, state, _state_stamp(config))


def _state_stamp(config: Config) -> StateStamp:
    try:
        info = os.stat(cache.state_path(config.project_dir))
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino


def _outs(config: Config) -> tuple[Path, ...]:
    return (config.out, *(target.out for target in config.targets))


def _below(path: str, directory: Path) -> bool:
    return path.startswith(str(directory) + os.sep)


def _reason(pending: Changes, *, first: bool) -> str:
    """What the status line says the run was for."""
    if first:
        return "first run"
    parts = []
    if pending.config:
        parts.append("config")
    if pending.templates:
        # an editor's temporary files in the directory count as changes, not as templates
        templates = {name for name in pending.templates if name.endswith(".jinja")}
        parts.append(_counted(templates, "template") if templates else "templates")
    if pending.contracts:
        parts.append(_counted(pending.contracts, "contract"))
    if pending.outputs and not parts:
        parts.append("generated files edited")
    return ", ".join(parts) or "changes"


def _counted(names: set[str], kind: str) -> str:
    if len(names) == 1:
        (name,) = names
        return Path(name).name if kind == "template" else name
    return f"{len(names)} {kind}s"
