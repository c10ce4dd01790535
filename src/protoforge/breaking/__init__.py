"""Breaking-change detection and API changelogs: the compiler as API gatekeeper in CI.

The public API is `check_breaking`, `snapshot` and `changelog`; the steps, one module each:

    sides (resolve + compile both sides: layout, git) ─► full │ incremental (the two images)
      ─► report (buf per rule group, via buf) ─► findings (placed in the project's files)
      ─► suppress (inline, reviewed) ─► formats

`incremental` compiles only the packages a change touches (same findings as `full`; basecache
keeps a git baseline's compiled files by commit). `changelog` lists every API change between
the two FileDescriptorSets for `protoforge diff` and classifies it by buf's findings. Only
`protoforge.cli` prints.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from protoforge.breaking.changelog import Changelog
    from protoforge.breaking.early import EarlyBuf
    from protoforge.breaking.findings import Report
    from protoforge.config import Config

# Up to this many current contracts the full check is the quick one: two in-process protoc runs
# and one buf run over whole images cost less than the fast path's scanning, shaping and
# re-serialising of images in Python (measured with benchmarks/bench.py --breaking-only).
FULL_CHECK_UP_TO = 200


def check_breaking(
    config: Config, against: str, *, full: bool = False, started_buf: EarlyBuf | None = None
) -> Report:
    """Compare the current contracts with the baseline `against` under the project's buf.yaml.

    By default only the packages that the change touches are compiled and compared (see
    `incremental`), with the same findings as the full check; `full=True` compiles and compares
    every contract on both sides. `started_buf`: a `buf breaking` the caller launched before
    loading the configuration (`EarlyBuf.launch`, see `early`); it is used when it suits the
    check and stopped either way."""
    early: tuple[EarlyBuf, ...] = (started_buf,) if started_buf is not None else ()
    try:
        from protoforge.breaking.buf import start_buf
        from protoforge.breaking.bufconfig import load_buf_settings, with_buf_excludes

        settings = load_buf_settings(config)
        config = with_buf_excludes(config, settings)
        from protoforge.source.discover import discover

        contracts = discover(config)
        small = len(contracts) <= FULL_CHECK_UP_TO
        if full or small:
            # buf's start-up overlaps everything from here on, imports included (see EarlyBuf)
            early = start_buf(settings, small=small, started=started_buf)
        else:
            for buf in early:
                buf.cancel()
            early = ()
            from protoforge.breaking.incremental.check import check

            report = check(config, against, settings)
            if report is not None:
                return report
        from protoforge.breaking import full as full_check

        return full_check.check(config, against, settings, early or None, contracts)
    finally:
        for buf in early:
            buf.cancel()


def snapshot(config: Config) -> bytes:
    """Today's contracts as a FileDescriptorSet with source info: the published API to commit."""
    from protoforge.breaking.sides import compile_current

    current, _ = compile_current(config)
    return current.descriptor_set


def changelog(config: Config, against: str) -> Changelog:
    """Every added, removed and changed API element between the baseline and the contracts,
    classified by buf's findings under the project's buf.yaml (the same findings as
    check-breaking): one source of truth for "is this breaking"."""
    from protoforge.breaking.bufconfig import (
        load_buf_settings,
        needs_baseline_locations,
        with_buf_excludes,
    )
    from protoforge.breaking.changelog import compare
    from protoforge.breaking.findings import Locator
    from protoforge.breaking.full import compare as findings_between
    from protoforge.breaking.sides import compile_current, resolve_baseline

    settings = load_buf_settings(config)
    config = with_buf_excludes(config, settings)
    current, contracts = compile_current(config)
    baseline = resolve_baseline(against, config, source_info=needs_baseline_locations(settings))
    report = findings_between(config, settings, current, contracts, lambda: baseline)
    locator = Locator(config, contracts, current.descriptor_set)
    return compare(baseline, current, locator.place_import_path, report)
