"""Breaking-change detection and API changelogs: the compiler as API gatekeeper in CI.

The pipeline, one module per step:

    baseline (resolve + compile both sides) ─► runner (buf breaking over two images)
      (fastpath: only the packages a change touches, same findings; basecache: by commit)
      ─► findings (placed in the project's files) ─► suppress (inline, reviewed) ─► formats

`changelog` compares the two FileDescriptorSets in Python for `protoforge diff`.
Only `cli_breaking.py` prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from protoforge.breaking.baseline import Side
    from protoforge.breaking.bufconfig import BufSettings
    from protoforge.breaking.changelog import Changelog
    from protoforge.breaking.findings import Locator, Report
    from protoforge.breaking.runner import EarlyBuf, RawFinding
    from protoforge.breaking.suppress import Suppression
    from protoforge.config import Config
    from protoforge.source.discover import ContractFile


def check_breaking(config: Config, against: str, *, full: bool = False) -> Report:
    """Compare the current contracts with the baseline `against` under the project's buf.yaml.

    By default only the packages that the change touches are compiled and compared (see
    `fastpath`), with the same findings as the full check; `full=True` compiles and compares
    every contract on both sides."""
    from protoforge.breaking.bufconfig import load_buf_settings

    settings = load_buf_settings(config)
    config = with_buf_excludes(config, settings)
    if not full and not _small(config):
        from protoforge.breaking import fastpath

        report = fastpath.check(config, against, settings)
        if report is not None:
            return report
    return _check_full(config, against, settings)


# Up to this many current contracts the full check is the quick one: two in-process protoc runs
# and one buf run over whole images cost less than the fast path's scanning, shaping and
# re-serialising of images in Python (measured with benchmarks/bench.py --breaking-only).
FULL_CHECK_UP_TO = 200


def _small(config: Config) -> bool:
    from protoforge.source.discover import discover

    return len(discover(config)) <= FULL_CHECK_UP_TO


def with_buf_excludes(config: Config, settings: BufSettings) -> Config:
    """The config with buf.yaml's excluded directories added to `exclude`: buf leaves them out
    of its images, so check-breaking does too."""
    from dataclasses import replace

    extra = tuple(glob for glob in settings.exclude if glob not in config.exclude)
    return replace(config, exclude=(*config.exclude, *extra)) if extra else config


def _check_full(config: Config, against: str, settings: BufSettings) -> Report:
    from protoforge.breaking.baseline import compile_current, resolve_baseline
    from protoforge.breaking.runner import EarlyBuf

    # buf starts now and gets the images when they are compiled (see EarlyBuf)
    early = EarlyBuf.start(settings.groups[0].config) if len(settings.groups) == 1 else None
    try:
        current, contracts = compile_current(config)
        return _compare(
            config, settings, current, contracts, lambda: resolve_baseline(against, config), early
        )
    finally:
        if early is not None:
            early.cancel()


def _compare(
    config: Config,
    settings: BufSettings,
    current: Side,
    contracts: tuple[ContractFile, ...],
    resolve: Callable[[], Side],
    early: EarlyBuf | None = None,
) -> Report:
    """buf's findings between two compiled sides (the baseline is resolved after the current
    side's suppression comments are validated)."""
    from protoforge.breaking import suppress
    from protoforge.breaking.findings import Locator
    from protoforge.breaking.runner import rule_catalog, run_breaking, without_files

    locator = Locator(config, contracts, current.descriptor_set)

    def categories() -> dict[str, tuple[str, ...]]:
        return {rule.id: rule.categories for rule in rule_catalog().values()}

    suppressions = (
        suppress.collect(
            current.descriptor_set, current.names, locator.place_import_path, categories
        )
        if current.has_directives
        else []
    )
    baseline = resolve()
    raw = []
    imports: dict[str, set[str]] = {}
    if len(settings.groups) > 1:
        from protoforge.breaking.descriptors import load_set

        for data in (current.descriptor_set, baseline.descriptor_set):
            for proto_file in load_set(data).file:
                imports.setdefault(proto_file.name, set()).update(proto_file.dependency)
    for group in settings.groups:
        current_image, baseline_image = current.descriptor_set, baseline.descriptor_set
        if len(settings.groups) > 1:
            # each group compares its own roots' files and what they import, as buf does
            others = frozenset(
                names_outside(
                    group.roots,
                    contracts,
                    baseline.names,
                    baseline.root_of,
                    config,
                    lambda name: imports.get(name, ()),
                )
            )
            current_image = without_files(current_image, others)
            baseline_image = without_files(baseline_image, others)
        if early is not None:
            raw += early.finish(current_image, baseline_image)
        else:
            raw += run_breaking(current_image, baseline_image, group.config)
    return finish(baseline.label, settings, locator, raw, suppressions, categories)


def finish(
    label: str,
    settings: BufSettings,
    locator: Locator,
    raw: list[RawFinding],
    suppressions: list[Suppression],
    categories: Callable[[], dict[str, tuple[str, ...]]],
) -> Report:
    """buf's findings placed in the project's files, with suppressions applied."""
    from protoforge.breaking import suppress
    from protoforge.breaking.findings import Report

    findings = sorted({locator.place(r) for r in raw})
    if suppressions:
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


def snapshot(config: Config) -> bytes:
    """Today's contracts as a FileDescriptorSet with source info: the published API to commit."""
    from protoforge.breaking.baseline import compile_current

    current, _ = compile_current(config)
    return current.descriptor_set


def changelog(config: Config, against: str) -> Changelog:
    """Every added, removed and changed API element between the baseline and the contracts,
    classified by buf's findings under the project's buf.yaml (the same findings as
    check-breaking): one source of truth for "is this breaking"."""
    from protoforge.breaking.baseline import compile_current, resolve_baseline
    from protoforge.breaking.bufconfig import load_buf_settings
    from protoforge.breaking.changelog import compare
    from protoforge.breaking.findings import Locator

    settings = load_buf_settings(config)
    config = with_buf_excludes(config, settings)
    current, contracts = compile_current(config)
    baseline = resolve_baseline(against, config)
    report = _compare(config, settings, current, contracts, lambda: baseline)
    locator = Locator(config, contracts, current.descriptor_set)
    return compare(baseline, current, locator.place_import_path, report)
