"""The shared tail of every check: buf over two images, rule group by rule group, and its findings
placed in the project's files with suppressions applied. The full check (`full`) and the fast
path (`incremental`) differ only in the images they build; from there on both come here, so
that they cannot drift apart in what they report."""

from __future__ import annotations

from protoforge.breaking.buf import buf_result, rule_catalog, run_breaking, without_files

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Callable

    from protoforge.breaking.buf import RawFinding
    from protoforge.breaking.bufconfig import BufSettings, RuleGroup
    from protoforge.breaking.early import EarlyBuf
    from protoforge.breaking.findings import Locator, Report
    from protoforge.breaking.suppress import Suppression
    from protoforge.config import Config
    from protoforge.source.discover import ContractFile


def categories() -> dict[str, tuple[str, ...]]:
    """Rule ID -> its categories, from buf's own rule catalogue (read only when needed: it is one
    more buf run)."""
    return {rule.id: rule.categories for rule in rule_catalog().values()}


def run_groups(
    settings: BufSettings,
    current: bytes,
    baseline: bytes,
    outside: Callable[[RuleGroup], tuple[frozenset[str], frozenset[str]]],
    early: tuple[EarlyBuf, ...] = (),
) -> list[RawFinding]:
    """buf's findings between the two images, one buf run per rule group. With several groups
    (modules) each run sees only its group's files and what they import: `outside(group)` names
    the files to leave out of the current and the baseline image (see names_outside). `early`:
    bufs started for the groups, in order (start_buf); all get their inputs before any is
    waited for, so that they compare at the same time. A group without one, or whose buf
    cannot use them, runs buf the ordinary way."""
    images: list[tuple[RuleGroup, bytes, bytes]] = []
    for group in settings.groups:
        current_image, baseline_image = current, baseline
        if len(settings.groups) > 1:
            current_others, baseline_others = outside(group)
            current_image = without_files(current_image, current_others)
            baseline_image = without_files(baseline_image, baseline_others)
        images.append((group, current_image, baseline_image))
    handed: list[bool] = []
    for index, (_, current_image, baseline_image) in enumerate(images):
        usable = index < len(early) and bool(baseline_image)
        handed.append(usable and early[index].hand_over(current_image, baseline_image))
    raw: list[RawFinding] = []
    for index, (group, current_image, baseline_image) in enumerate(images):
        outcome = early[index].collect() if handed[index] else None
        if outcome is not None:
            raw += buf_result(*outcome, group.config.version)
        else:  # no early buf, or it could not be used; no baseline: nothing can break
            raw += run_breaking(current_image, baseline_image, group.config)
    return raw


def finish(
    label: str,
    settings: BufSettings,
    locator: Locator,
    raw: list[RawFinding],
    suppressions: list[Suppression],
) -> Report:
    """buf's findings placed in the project's files, with suppressions applied."""
    from protoforge.breaking.findings import Report

    findings = sorted({locator.place(r) for r in raw})
    if suppressions:
        from protoforge.breaking import suppress

        catalog = categories()
        findings = suppress.apply(findings, suppressions, lambda rule: catalog.get(rule, ()))
    return Report(
        baseline=label,
        findings=tuple(findings),
        rule_groups=tuple(group.config.to_buf_json() for group in settings.groups),
    )


def names_outside(
    roots: tuple[int, ...],
    contracts: tuple[ContractFile, ...],
    baseline_names: frozenset[str],
    baseline_root_of: dict[str, int] | None,
    config: Config,
) -> tuple[frozenset[str], frozenset[str]]:
    """The files of the current and of the baseline image that a module's buf run leaves out:
    those of the other modules. buf compares module by module, each under its own rules, and
    each side's image of a module is the module's files and what they import *on that side*
    (from other modules too), so a file that only the baseline imports is deleted as far as the
    module is concerned. `without_files` keeps, in each image, what the kept files import; here
    each side's file belongs to the module of its own root."""
    mine = {config.proto_roots[i] for i in roots}
    current_other = frozenset(c.name for c in contracts if c.root not in mine)
    if baseline_root_of is not None:
        baseline_other = frozenset(n for n, i in baseline_root_of.items() if i not in roots)
        return current_other, baseline_other
    # a snapshot has no roots: a file of the current tree belongs where it is now, any other to
    # the root whose tree has its directory
    owned = {c.name for c in contracts if c.root in mine}
    others = set()
    for name in baseline_names - owned:
        first = name.split("/")[0]
        if name in current_other or not any((root / first).exists() for root in mine):
            others.add(name)
    return current_other, frozenset(others)
