"""Find the configuration file and turn it into a `Config`: TOML parsed, every table checked
against the schema (schema.py), paths resolved and cross-checked. Each error names the file and
the line of the offending key (`_Locator`: tomllib keeps no positions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from protoforge.config.model import (
    BUILTIN_GENERATORS,
    PYPROJECT,
    STANDALONE,
    ClientOptions,
    Config,
    RetryPolicy,
    Target,
)
from protoforge.config.schema import (
    CLIENT_KEYS,
    REQUIRED,
    RETRY_KEYS,
    TARGET_KEYS,
    TOP_KEYS,
    validate,
)
from protoforge.errors import ConfigError, Diagnostic
from protoforge.paths import display_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any


def find_config_file(start: Path) -> Path | None:
    """The nearest protoforge.toml, or pyproject.toml with a [tool.protoforge] table, walking up."""
    for directory in (start, *start.parents):
        standalone = directory / STANDALONE
        if standalone.is_file():
            return standalone
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        data = parse_toml(pyproject, pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # tomllib.TOMLDecodeError and UnicodeDecodeError included
        return False
    return isinstance(data.get("tool"), dict) and "protoforge" in data["tool"]


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """`text` (the file at `path`) parsed. A short command (check-breaking on a small tree)
    would otherwise spend ~15 ms importing tomllib (typing, datetime, and regular expressions
    compiled at import) for a file of a few lines, so tomllib is the last resort: the TOML most
    protoforge.toml and pyproject.toml files are made of is read by toml_subset (tomllib's
    answer, without its import); other files are remembered in the user's cache directory
    (cachedir) with the text they came from (an entry is used only if its text is exactly
    `text`; one that cannot be read is a miss).
    Raises tomllib.TOMLDecodeError (a ValueError), or ValueError for TOML nested too deeply."""
    from protoforge.config.toml_subset import loads_simple

    simple = loads_simple(text)
    if simple is not None:
        return simple
    import zlib

    from protoforge.cachedir import load_value, store_value

    name = f"{zlib.crc32(str(path).encode()):08x}"
    match load_value("config", name):
        case (str(cached_text), dict(cached)) if cached_text == text:
            return cached
    import tomllib

    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ValueError("arrays or inline tables nested too deeply") from None
    store_value("config", name, (text, data))  # not with TOML dates: such a file is parsed anew
    return data


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> Config:
    """Load and validate the configuration at `path`, or the one found from `cwd` upwards."""
    cwd = (cwd or Path.cwd()).resolve()
    if path is None:
        path = find_config_file(cwd)
        if path is None:
            raise ConfigError(
                f"no protoforge configuration found in {display_path(cwd)} or its parents",
                hint="add a [tool.protoforge] table to pyproject.toml, create protoforge.toml, "
                "pass --config PATH, or run `protoforge init`",
            )
    path = (cwd / path).resolve() if not path.is_absolute() else path
    if not path.is_file():
        raise ConfigError(f"config file not found: {display_path(path)}")
    text = path.read_text(encoding="utf-8")
    try:
        data = parse_toml(path, text)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        # tomllib puts the position in the message: "... (at line 3, column 7)".
        position = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(position[1]), int(position[2])) if position else (0, 0)
        if not position and "end of document" in str(exc):
            line = len(text.splitlines())
        reason = re.sub(r" \(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise ConfigError(
            "invalid TOML",
            diagnostics=(Diagnostic(display_path(path), line, column, "error", reason),),
        ) from None
    if path.name == PYPROJECT:
        table = data.get("tool", {}).get("protoforge")
        prefix: tuple[str, ...] = ("tool", "protoforge")
        if not isinstance(table, dict):
            raise ConfigError(f"{display_path(path)} has no [tool.protoforge] table")
    else:
        table, prefix = data, ()
    return _build(table, path, text, prefix)


def config_from_mapping(table: Mapping[str, Any], project_dir: Path) -> Config:
    """Build a Config from an in-memory table (tests and `protoforge init` use it)."""
    return _build(dict(table), None, "", (), project_dir=project_dir)


def _build(
    table: dict[str, Any],
    path: Path | None,
    text: str,
    prefix: tuple[str, ...],
    *,
    project_dir: Path | None = None,
) -> Config:
    where = _Locator(path, text)
    top = validate(table, TOP_KEYS, prefix, where.error)
    for key in REQUIRED:
        if key not in top:
            raise where.error(prefix, key, f"missing required key {'.'.join((*prefix, key))!r}")
    client_table = validate(top.get("client", {}), CLIENT_KEYS, (*prefix, "client"), where.error)
    retry: RetryPolicy | None = None
    if "retry" in client_table:
        retry_prefix = (*prefix, "client", "retry")
        retry_values = validate(client_table["retry"], RETRY_KEYS, retry_prefix, where.error)
        retry = RetryPolicy(**retry_values)
        if retry.max_backoff < retry.initial_backoff:
            raise where.error(retry_prefix, "max_backoff", "max_backoff must be >= initial_backoff")
        if retry.max_attempts > 5:
            # gRPC silently caps maxAttempts at 5: say so instead of pretending.
            raise where.error(
                retry_prefix, "max_attempts", "gRPC caps max_attempts at 5; use a value of 2..5"
            )

    base = project_dir or (path.parent if path else Path.cwd())
    roots = tuple((base / root).resolve() for root in top["proto_roots"])
    if not roots:
        raise where.error(prefix, "proto_roots", "proto_roots is empty: name at least one root")
    for root in roots:
        if not root.is_dir():
            raise where.error(
                prefix, "proto_roots", f"proto root does not exist: {display_path(root)}"
            )
    for outer in roots:
        for inner in roots:
            if outer != inner and inner.is_relative_to(outer):
                raise where.error(
                    prefix,
                    "proto_roots",
                    f"proto roots overlap: {display_path(inner)} is inside {display_path(outer)}"
                    " (a contract would have two import paths)",
                )
    dependency_roots = tuple((base / root).resolve() for root in top.get("dependency_roots", ()))
    for root in dependency_roots:
        if not root.is_dir():
            raise where.error(
                prefix, "dependency_roots", f"dependency root does not exist: {display_path(root)}"
            )
        for other in (*roots, *dependency_roots):
            if other != root and (other.is_relative_to(root) or root.is_relative_to(other)):
                raise where.error(
                    prefix,
                    "dependency_roots",
                    f"import roots overlap: {display_path(root)} and {display_path(other)}"
                    " (a file would have two import paths)",
                )
        if root in roots:
            raise where.error(
                prefix,
                "dependency_roots",
                f"{display_path(root)} is both a proto root and a dependency root",
            )
    templates_dir = (base / top["templates_dir"]).resolve() if "templates_dir" in top else None
    if templates_dir is not None and not templates_dir.is_dir():
        raise where.error(
            prefix, "templates_dir", f"templates_dir does not exist: {display_path(templates_dir)}"
        )
    out = (base / top["out"]).resolve()
    if any(out == root or root.is_relative_to(out) for root in (*roots, *dependency_roots)):
        raise where.error(
            prefix, "out", "out must not contain a proto root (stale-file cleanup would reach it)"
        )
    return Config(
        project_dir=base.resolve(),
        config_path=path,
        proto_roots=roots,
        dependency_roots=dependency_roots,
        out=out,
        package=top.get("package"),
        exclude=top.get("exclude", ()),
        templates_dir=templates_dir,
        impl_out=(base / top["impl_out"]).resolve() if "impl_out" in top else None,
        client=ClientOptions(timeout=client_table.get("timeout"), retry=retry),
        jobs=top.get("jobs", 0),
        targets=_targets(top.get("targets", {}), base, out, roots, prefix, where),
    )


_TARGET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _targets(
    table: Any,
    base: Path,
    python_out: Path,
    roots: tuple[Path, ...],
    prefix: tuple[str, ...],
    where: _Locator,
) -> tuple[Target, ...]:
    targets_prefix = (*prefix, "targets")
    if not isinstance(table, dict):
        raise where.error(prefix, "targets", "targets must be a table of [targets.NAME] tables")
    targets: list[Target] = []
    for name, entry in sorted(table.items()):
        entry_prefix = (*targets_prefix, name)
        if not _TARGET_NAME.match(name):
            raise where.error(
                targets_prefix, name, f"target name {name!r} is not a NAME protoc takes"
            )
        values = validate(entry, TARGET_KEYS, entry_prefix, where.error)
        if "out" not in values:
            raise where.error(targets_prefix, name, f"targets.{name}: missing required key 'out'")
        generator = values.get("generator")
        if generator is not None and generator not in BUILTIN_GENERATORS:
            raise where.error(
                entry_prefix,
                "generator",
                f"targets.{name}.generator: {generator!r} is not built into this protoc; built in:"
                f" {', '.join(BUILTIN_GENERATORS)} (use `plugin` for any other protoc-gen-NAME)",
            )
        if generator is not None and "plugin" in values:
            raise where.error(
                entry_prefix, "plugin", f"targets.{name}: set either `generator` or `plugin`"
            )
        out = (base / values["out"]).resolve()
        if out == python_out or any(out == root or root.is_relative_to(out) for root in roots):
            raise where.error(
                entry_prefix,
                "out",
                f"targets.{name}.out must be a directory of its own (not `out` or a proto root)",
            )
        plugin = values.get("plugin")
        if plugin is not None and ("/" in plugin or plugin.startswith(".")):
            plugin = str((base / plugin).resolve())
        targets.append(Target(name, out, plugin, generator, values.get("options", ())))
    return tuple(targets)


class _Locator:
    """Finds the line of `key` inside table `[a.b]` by reading the TOML text: tomllib keeps no
    positions, and a message without a line number makes users hunt."""

    def __init__(self, path: Path | None, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: tuple[str, ...], key: str) -> int:
        current: tuple[str, ...] = ()
        header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
        for number, line in enumerate(self.lines, start=1):
            match = header.match(line)
            if match:
                current = tuple(part.strip().strip('"') for part in match.group(1).split("."))
                if current == (*table, key):
                    return number
                continue
            # `key = …` inside the table, or `client.retry = …`-style dotted keys above it.
            for depth in range(len(table) + 1):
                if current == table[:depth]:
                    dotted = r"\s*\.\s*".join(re.escape(p) for p in (*table[depth:], key))
                    if re.match(rf"^\s*{dotted}\s*=", line):
                        return number
        return 0

    def error(self, table: tuple[str, ...], key: str, message: str) -> ConfigError:
        if self.path is None:
            return ConfigError(message)
        line = self.line_of(table, key) if key else 0
        diagnostic = Diagnostic(display_path(self.path), line, 1 if line else 0, "error", message)
        return ConfigError("invalid configuration", diagnostics=(diagnostic,))
