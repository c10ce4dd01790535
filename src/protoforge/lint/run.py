"""`buf lint` over the project, its findings placed in the project's files.

buf reads the project's buf.yaml itself (v1beta1, v1 or v2: rule IDs, categories, `except`,
`ignore`, `ignore_only`, comment ignores and every other lint option keep exactly buf's meaning),
so buf runs in the directory of that buf.yaml, on that directory; its paths are relative to it.
Contracts that protoforge's `exclude` skips are not linted (buf's `--exclude-path`).
Without a buf.yaml, buf lints each proto root with its default v2 config (STANDARD); with
`dependency_roots`, one buf run over a v2 workspace of the proto and dependency roots (so that
imports resolve as in gen) that lints only the proto roots. A contract
that does not compile is a user error (exit 2) with buf's `path:line:col`, as a buf.yaml that
buf rejects is.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from protoforge.breaking.buf import buf_environment, find_buf
from protoforge.breaking.errors import BufError
from protoforge.breaking.findings import Finding, Report
from protoforge.breaking.suppress import Directive
from protoforge.config import Config
from protoforge.errors import CompileError, Diagnostic
from protoforge.paths import display_path
from protoforge.source.discover import excluded

if TYPE_CHECKING:
    from protoforge.breaking.suppress import Suppression

DIRECTIVE = "protoforge:allow-lint"
BUF_FINDINGS_EXIT = 100
LIST_JSON = ("--include-deprecated", "--format", "json")
DEFAULT_CONFIG = '{"version": "v2"}'  # buf's defaults, independent of any buf.yaml above


class Target(NamedTuple):
    """One `buf lint` run: the directory it runs in (and lints), and a --config if any."""

    directory: Path
    config: str | None
    buf_yaml: Path | None
    version: str


def targets(config: Config) -> list[Target]:
    from protoforge.breaking.bufconfig import find_buf_yaml, read_buf_yaml

    path = find_buf_yaml(config)
    if path is None and config.dependency_roots:
        return [_workspace(config)]
    if path is None:
        return [Target(root, DEFAULT_CONFIG, None, "v2") for root in config.proto_roots]
    document = read_buf_yaml(path)  # version and YAML errors with file and line
    return [Target(path.parent, None, path, str(document.data["version"]))]


def _workspace(config: Config) -> Target:
    """A v2 workspace config: every root a module, the dependency roots ignored by lint."""
    import os

    roots = (*config.proto_roots, *config.dependency_roots)
    directory = Path(os.path.commonpath(roots))

    def module(root: Path) -> str:
        return root.relative_to(directory).as_posix() or "."

    document = {
        "version": "v2",
        "modules": [{"path": module(root)} for root in roots],
        "lint": {"ignore": [module(root) for root in config.dependency_roots]},
    }
    return Target(directory, json.dumps(document), None, "v2")


def lint_report(config: Config) -> Report:
    findings: list[Finding] = []
    version = "v2"
    skipped = excluded(config)
    for target in targets(config):
        findings += run_lint(target, config, skipped)
        version = target.version
    findings = sorted(set(findings))
    suppressions = _suppressions(config, version)
    if suppressions and findings:
        from protoforge.breaking.suppress import apply

        catalog = lint_catalog(version)
        findings = apply(findings, suppressions, lambda rule: catalog.get(rule, ()))
    return Report(baseline="", findings=tuple(findings), command="lint")


def run_lint(target: Target, config: Config, skipped: Iterable[Path]) -> list[Finding]:
    """`buf lint` of one target; `skipped`: the contracts `exclude` removes (not linted)."""
    command = [str(find_buf()), "lint", "--error-format", "json"]
    if target.config is not None:
        command += ["--config", target.config]
    command += exclude_paths(skipped, target.directory)
    done = subprocess.run(
        command,
        capture_output=True,
        check=False,
        cwd=target.directory,
        env=buf_environment(True),
    )
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    items = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    compile_errors = [i for i in items if i.get("type") == "COMPILE"]
    if compile_errors:
        hint = "fix the contract; `protoforge gen` shows the same errors"
        installed = _installed_imports(target.directory, compile_errors)
        if installed:
            hint = _installed_imports_hint(installed)
        elif target.buf_yaml is not None and config.dependency_roots:
            hint = (
                f"buf resolves imports through {display_path(target.buf_yaml)} (its modules and "
                "deps), not protoforge's dependency_roots: add those directories as modules there"
            )
        raise CompileError(
            "the contracts do not compile",
            diagnostics=tuple(
                sorted(
                    Diagnostic(
                        display_path(target.directory / str(i.get("path", ""))),
                        int(i.get("start_line", 0)),
                        int(i.get("start_column", 0)),
                        "error",
                        str(i.get("message", "")),
                    )
                    for i in compile_errors
                )
            ),
            hint=hint,
        )
    if done.returncode not in (0, BUF_FINDINGS_EXIT) or (
        done.returncode == BUF_FINDINGS_EXIT and not items
    ):
        message = (err.strip() or out.strip()).removeprefix("Failure: ")
        where = (
            (Diagnostic(display_path(target.buf_yaml), 1, 1, "error", message),)
            if target.buf_yaml
            else ()
        )
        raise BufError(
            f"buf lint failed: {message}",
            diagnostics=where,
            hint="check the lint section of buf.yaml (rule and category IDs: "
            f"`buf config ls-lint-rules --version {target.version} --include-deprecated`)",
        )
    return [_place(item, target.directory, config) for item in items]


def _installed_imports(directory: Path, errors: list[dict[str, object]]) -> list[tuple[str, str]]:
    """(import path, distribution) of the imports buf could not find that protoforge takes from
    an installed distribution (gen compiles them against its descriptors; buf lints sources and
    sees only the files in its modules). buf names the importing line, not the file."""
    from protoforge.source.provided import provider

    found: dict[str, str] = {}
    for error in errors:
        if "does not exist" not in str(error.get("message", "")):
            continue
        path = directory / str(error.get("path", ""))
        try:
            lines = path.read_bytes().decode("utf-8", "replace").splitlines()
            line = lines[int(str(error.get("start_line", 0))) - 1]
        except (OSError, IndexError, ValueError):
            continue
        imported = _IMPORT_LINE.search(line)
        provided = provider(imported[1]) if imported else None
        if imported and provided is not None:
            found.setdefault(imported[1], provided.distribution)
    return sorted(found.items())


def _installed_imports_hint(installed: list[tuple[str, str]]) -> str:
    names = ", ".join(f"{name} (from {distribution})" for name, distribution in installed[:3])
    more = f" and {len(installed) - 3} more" if len(installed) > 3 else ""
    return (
        f"buf lints sources, and cannot see {names}{more}: protoforge takes those from the "
        "installed package, buf does not. Vendor their .proto files into a directory listed in "
        "`dependency_roots` (lint then resolves them and does not lint them), or, with a "
        "buf.yaml, add a module or a `deps` entry that provides them"
    )


_IMPORT_LINE = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"')


def exclude_paths(excluded: Iterable[Path], directory: Path) -> list[str]:
    """`--exclude-path` for every file of `excluded` (the contracts protoforge's `exclude` skips,
    `discover.excluded`) below `directory` (buf's paths are relative to where it runs).
    Excluded files are still compiled as imports."""
    arguments: list[str] = []
    base = directory.resolve()
    for path in excluded:
        if path.resolve().is_relative_to(base):
            arguments += ["--exclude-path", path.resolve().relative_to(base).as_posix()]
    return arguments


def _place(item: dict[str, object], directory: Path, config: Config) -> Finding:
    relative = str(item.get("path", ""))
    absolute = (directory / relative).resolve() if relative else None
    import_path = relative
    if absolute is not None:
        for root in config.proto_roots:
            if absolute.is_relative_to(root):
                import_path = absolute.relative_to(root).as_posix()
                break
    return Finding(
        display_path(absolute) if absolute is not None else "",
        int(str(item.get("start_line", 0))),
        int(str(item.get("start_column", 0))),
        str(item.get("type", "")),
        str(item.get("message", "")),
        import_path,
    )


@functools.cache
def lint_catalog(version: str) -> dict[str, tuple[str, ...]]:
    """Rule ID -> categories of every lint rule buf knows in `version`."""
    done = subprocess.run(
        [str(find_buf()), "config", "ls-lint-rules", "--version", version, *LIST_JSON],
        capture_output=True,
        text=True,
        check=False,
        env=buf_environment(True),
    )
    rules: dict[str, tuple[str, ...]] = {}
    for line in done.stdout.splitlines():
        if line.strip().startswith("{"):
            item = json.loads(line)
            rules[item["id"]] = tuple(item.get("categories") or ())
    return rules


def _suppressions(config: Config, version: str) -> list[Suppression]:
    """The contracts' `protoforge:allow-lint` comments, validated (a missing reason or an unknown
    rule is exit 2 with file:line). Contracts are compiled for their comments' places only when
    one of them has such a comment."""
    from protoforge.source.discover import discover, locate

    contracts = discover(config)
    if not any(DIRECTIVE.encode() in c.path.read_bytes() for c in contracts):
        return []
    from protoforge.breaking.sides import compile_current_subset
    from protoforge.breaking.suppress import collect

    catalog = lint_catalog(version)
    categories = tuple(sorted({c for cats in catalog.values() for c in cats}))
    directive = Directive(
        DIRECTIVE,
        "why this style is intended",
        categories,
        f"buf config ls-lint-rules --version {version}",
    )
    data = compile_current_subset(config, contracts)
    return collect(
        data,
        frozenset(c.name for c in contracts),
        lambda name: locate(contracts, config.proto_roots, name),
        lambda: catalog,
        directive,
    )
