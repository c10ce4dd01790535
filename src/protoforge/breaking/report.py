"""The shared tail of every check: buf over two images, rule group by rule group, and its findings
placed in the project's files with suppressions applied. The full check (`full`) and the fast
path (`incremental`) differ only in the images they build; from there on both come here, so
that they cannot drift apart in what they report."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from protoforge.breaking.buf import buf_result, rule_catalog, run_breaking, without_files

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
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
    outside: Callable[[RuleGroup], frozenset[str]],
    early: EarlyBuf | None = None,
) -> list[RawFinding]:
    """buf's findings between the two images, one buf run per rule group. With several groups
    (v2 modules with their own breaking sections) each run sees only its group's files and what
    they import: `outside(group)` names the files to leave out of both images."""
    raw: list[RawFinding] = []
    for group in settings.groups:
        current_image, baseline_image = current, baseline
        if len(settings.groups) > 1:
            others = outside(group)
            current_image = without_files(current_image, others)
            baseline_image = without_files(baseline_image, others)
        outcome = None
        if early is not None and baseline_image:
            outcome = early.finish(current_image, baseline_image)
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
    imports: Callable[[str], Iterable[str]],
) -> tuple[str, ...]:
    """The files of both sides that a module's buf run must ignore. buf compares module by
    module, each under its own rules, over the module's files *and the files they import*
    (from other modules too): so a module checks its own files (each side's file belongs to the
    module of its own root) and, on either side, everything they import."""
    mine = {config.proto_roots[i] for i in roots}
    inside = {c.name for c in contracts if c.root in mine}
    outside = {c.name for c in contracts if c.root not in mine}
    if baseline_root_of is not None:
        inside |= {n for n, i in baseline_root_of.items() if i in roots}
        outside |= {n for n, i in baseline_root_of.items() if i not in roots}
        stack = list(inside)
        while stack:
            for imported in imports(stack.pop()):
                if imported not in inside:
                    inside.add(imported)
                    stack.append(imported)
        return tuple(sorted(outside - inside))
    # a snapshot has no roots: a file that is not in the current tree is owned by the root
    # whose tree has its directory
    for name in baseline_names - inside - outside:
        first = name.split("/")[0]
        if not any((config.proto_roots[i] / first).exists() for i in roots):
            outside.add(name)
    return tuple(sorted(outside))
