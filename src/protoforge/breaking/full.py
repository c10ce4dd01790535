"""The full check: compile every contract on both sides and let buf compare the two images.

The reference that the fast path (`incremental`) must agree with, and the quick one on small
trees (see `protoforge.breaking.FULL_CHECK_UP_TO`)."""

from __future__ import annotations

from collections.abc import Callable

from protoforge.breaking.buf import start_buf
from protoforge.breaking.bufconfig import needs_baseline_locations
from protoforge.breaking.findings import Locator
from protoforge.breaking.report import categories, finish, names_outside, run_groups
from protoforge.breaking.sides import compile_current, resolve_baseline

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from protoforge.breaking.bufconfig import BufSettings, RuleGroup
    from protoforge.breaking.early import EarlyBuf
    from protoforge.breaking.findings import Report
    from protoforge.breaking.sides import Side
    from protoforge.config import Config
    from protoforge.source.discover import ContractFile


def check(
    config: Config,
    against: str,
    settings: BufSettings,
    early: tuple[EarlyBuf, ...] | None = None,
    contracts: tuple[ContractFile, ...] | None = None,
) -> Report:
    """buf's findings between the baseline `against` and the current contracts, both compiled
    in full. `early`: bufs already started for these settings (`start_buf`), else they start
    now (their start-up overlaps the compiles); they are stopped if the images do not come.
    `contracts`: the current contracts if the caller has discovered them already."""
    if early is None:
        early = start_buf(settings)
    try:
        current, contracts = compile_current(config, contracts)
        located = needs_baseline_locations(settings)

        def baseline() -> Side:
            return resolve_baseline(against, config, source_info=located)

        return compare(config, settings, current, contracts, baseline, early)
    finally:
        for buf in early:
            buf.cancel()


def compare(
    config: Config,
    settings: BufSettings,
    current: Side,
    contracts: tuple[ContractFile, ...],
    resolve: Callable[[], Side],
    early: tuple[EarlyBuf, ...] = (),
) -> Report:
    """buf's findings between two compiled sides (the baseline is resolved after the current
    side's suppression comments are validated)."""
    locator = Locator(config, contracts, current.descriptor_set)
    suppressions = []
    if current.has_directives:
        from protoforge.breaking import suppress

        suppressions = suppress.collect(
            current.descriptor_set, current.names, locator.place_import_path, categories
        )
    baseline = resolve()

    def outside(group: RuleGroup) -> tuple[frozenset[str], frozenset[str]]:
        return names_outside(group.roots, contracts, baseline.names, baseline.root_of, config)

    raw = run_groups(settings, current.descriptor_set, baseline.descriptor_set, outside, early)
    return finish(baseline.label, settings, locator, raw, suppressions)
