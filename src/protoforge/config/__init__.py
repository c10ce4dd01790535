"""Configuration: find it, validate it once, resolve it with CLI flags into one frozen `Config`.

Nothing downstream reads TOML or environment variables. Every key is declared once in `_KEYS`
(and the nested tables below it), so an unknown key is an error that names the key, the file and
the line, and the README's config reference can be checked against this table.
"""

from __future__ import annotations

import keyword
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protoforge.errors import ConfigError, Diagnostic
from protoforge.paths import display_path

PYPROJECT = "pyproject.toml"
STANDALONE = "protoforge.toml"

# gRPC status codes a retry policy may name (grpc service config, "retryableStatusCodes").
STATUS_CODES = (
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)


@dataclass(frozen=True)
class RetryPolicy:
    """A gRPC retry policy, emitted into the generated clients' service config."""

    max_attempts: int = 3
    initial_backoff: float = 0.1
    max_backoff: float = 1.0
    backoff_multiplier: float = 2.0
    retryable_status_codes: tuple[str, ...] = ("UNAVAILABLE",)

    def service_config_entry(self) -> dict[str, Any]:
        return {
            "maxAttempts": self.max_attempts,
            "initialBackoff": _duration(self.initial_backoff),
            "maxBackoff": _duration(self.max_backoff),
            "backoffMultiplier": self.backoff_multiplier,
            "retryableStatusCodes": list(self.retryable_status_codes),
        }


@dataclass(frozen=True)
class ClientOptions:
    timeout: float | None = None  # default deadline in seconds for every call; None = no deadline
    retry: RetryPolicy | None = None


# Generators compiled into grpcio-tools' protoc (checked: cpp, java, go, ... are not).
BUILTIN_GENERATORS = ("python", "pyi", "grpc_python")


@dataclass(frozen=True)
class Target:
    """An extra output of the same compile pass: a protoc built-in generator or a
    `protoc-gen-NAME` plugin (any language). `plugin` is a command name or a path."""

    name: str
    out: Path
    plugin: str | None = None
    generator: str | None = None  # one of BUILTIN_GENERATORS
    options: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        """The NAME in protoc's `--NAME_out`."""
        return self.generator or self.name


@dataclass(frozen=True)
class Config:
    """Everything the pipeline needs, resolved to absolute paths. Frozen: build a new one with
    `dataclasses.replace`."""

    project_dir: Path
    proto_roots: tuple[Path, ...]
    out: Path
    config_path: Path | None = None
    # Import roots that contracts may import from but that are never generated (vendored
    # third-party contracts whose Python modules an installed distribution provides).
    dependency_roots: tuple[Path, ...] = ()
    package: str | None = None
    exclude: tuple[str, ...] = ()
    templates_dir: Path | None = None
    impl_out: Path | None = None
    client: ClientOptions = field(default_factory=ClientOptions)
    jobs: int = 0  # parallel protoc and mypy-protobuf processes and file writers; 0 = one per CPU
    targets: tuple[Target, ...] = ()


# The range of a protobuf Duration (and so of a gRPC service-config duration): +-10,000 years.
MAX_DURATION_SECONDS = 315_576_000_000


def _duration(seconds: float) -> str:
    """A gRPC service-config duration: the protobuf Duration JSON form, decimal seconds with up
    to 9 fractional digits and an "s" suffix ("0.0001s", "1.5s", "2s"). Exact: config values
    are checked to be whole nanoseconds (`_duration_seconds`), so nothing rounds to "0s"."""
    nanos = _nanoseconds(seconds)
    whole, fraction = divmod(nanos, 1_000_000_000)
    text = str(whole) if not fraction else f"{whole}.{fraction:09d}".rstrip("0")
    return f"{text}s"


def _nanoseconds(seconds: float) -> int:
    """`seconds` as written (its shortest decimal form, not the binary float) in nanoseconds;
    ValueError if that needs more than 9 fractional digits."""
    from decimal import Decimal

    exact = Decimal(repr(seconds)) * 1_000_000_000
    if exact != exact.to_integral_value():
        raise ValueError("more precise than a nanosecond")
    return int(exact)


# ---------------------------------------------------------------------------------------------
# Validation schema. A checker returns the converted value or raises _Invalid(reason).


class _Invalid(Exception):
    pass


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _Invalid("expected a non-empty string")
    return value


def _str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid("expected a list of strings")
    return tuple(value)


def _positive_number(value: Any) -> float:
    """A finite number > 0 (TOML has `inf` and `nan`; either would render code that does not
    import, or a service config gRPC rejects)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid("expected a positive number")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise _Invalid(f"expected a positive, finite number, not {value!r}")
    return number


def _seconds(minimum: float, why: str) -> Callable[[Any], float]:
    """A duration in seconds that gRPC can take: at least `minimum`, at most a protobuf
    Duration's range, and a whole number of nanoseconds, so that it renders exactly (a finer
    value would be rounded, e.g. to "0s", which gRPC rejects on every call)."""

    def check(value: Any) -> float:
        number = _positive_number(value)
        if number < minimum:
            raise _Invalid(f"{value!r} seconds is below {minimum:g} ({why})")
        if number > MAX_DURATION_SECONDS:
            raise _Invalid(
                f"{value!r} seconds is more than gRPC's limit ({MAX_DURATION_SECONDS} s)"
            )
        try:
            _nanoseconds(number)
        except ValueError:
            raise _Invalid(
                f"{value!r} seconds is not a whole number of nanoseconds; "
                "use at most 9 decimal places"
            ) from None
        return number

    return check


# gRPC's retry code keeps backoffs in whole milliseconds, randomised by +-20%: 0.0009 s is
# rejected ("initialBackoff must be greater than 0") and 0.001 s made 5 of 8 retried calls hang
# until their deadline (grpcio 1.85, measured); 2-20 ms retried every time. 10 ms leaves a margin.
_backoff = _seconds(
    0.01, "gRPC counts backoffs in milliseconds and jitters them; shorter ones hang"
)


def _int_at_least(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Invalid(f"expected an integer >= {minimum}")
        return value

    return check


def _python_package(value: Any) -> str:
    name = _str(value)
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        raise _Invalid(f"{name!r} is not a dotted Python package name")
    bad = [part for part in parts if keyword.iskeyword(part)]
    if bad:
        raise _Invalid(f"{bad[0]!r} is a Python keyword")
    from protoforge.naming import NAMESPACE_ROOTS, shadowing_problem

    problem = shadowing_problem(parts[0])
    if problem is None and parts[0] in NAMESPACE_ROOTS:
        problem = f"{parts[0]!r} is a namespace that installed packages share"
    if problem:
        raise _Invalid(f"{problem}: choose a package name of your own")
    return name


def _status_codes(value: Any) -> tuple[str, ...]:
    codes = tuple(code.upper() for code in _str_list(value))
    unknown = [code for code in codes if code not in STATUS_CODES]
    if unknown:
        raise _Invalid(f"unknown status code {unknown[0]!r}; known: {', '.join(STATUS_CODES)}")
    if not codes:
        raise _Invalid("name at least one status code")
    return codes


_TOP_KEYS: dict[str, Callable[[Any], Any]] = {
    "proto_roots": _str_list,
    "dependency_roots": _str_list,
    "out": _str,
    "package": _python_package,
    "exclude": _str_list,
    "templates_dir": _str,
    "impl_out": _str,
    "jobs": _int_at_least(0),
    "client": dict,  # validated as a nested table below
    "targets": dict,  # a table of tables, one per target
}
_TARGET_KEYS: dict[str, Callable[[Any], Any]] = {
    "out": _str,
    "plugin": _str,
    "generator": _str,
    "options": _str_list,
}
_CLIENT_KEYS: dict[str, Callable[[Any], Any]] = {
    "timeout": _seconds(0.000000001, "gRPC's resolution is a nanosecond"),
    "retry": dict,
}
_RETRY_KEYS: dict[str, Callable[[Any], Any]] = {
    "max_attempts": _int_at_least(2),
    "initial_backoff": _backoff,
    "max_backoff": _backoff,
    "backoff_multiplier": _positive_number,
    "retryable_status_codes": _status_codes,
}
_REQUIRED = ("proto_roots", "out")


# ---------------------------------------------------------------------------------------------


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
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data.get("tool"), dict) and "protoforge" in data["tool"]


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
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
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
    top = _validate(table, _TOP_KEYS, prefix, where)
    for key in _REQUIRED:
        if key not in top:
            raise where.error(prefix, key, f"missing required key {'.'.join((*prefix, key))!r}")
    client_table = _validate(top.get("client", {}), _CLIENT_KEYS, (*prefix, "client"), where)
    retry: RetryPolicy | None = None
    if "retry" in client_table:
        retry_prefix = (*prefix, "client", "retry")
        retry_values = _validate(client_table["retry"], _RETRY_KEYS, retry_prefix, where)
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
        values = _validate(entry, _TARGET_KEYS, entry_prefix, where)
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


def _validate(
    table: Any,
    schema: Mapping[str, Callable[[Any], Any]],
    prefix: tuple[str, ...],
    where: _Locator,
) -> dict[str, Any]:
    dotted = ".".join(prefix) or "the top level"
    if not isinstance(table, dict):
        raise where.error(prefix[:-1], prefix[-1] if prefix else "", f"{dotted} must be a table")
    result: dict[str, Any] = {}
    for key, value in table.items():
        checker = schema.get(key)
        if checker is None:
            known = ", ".join(sorted(schema))
            suggestion = _closest(key, schema)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise where.error(prefix, key, f"unknown key {key!r} in {dotted}{hint}; known: {known}")
        try:
            result[key] = checker(value)
        except _Invalid as exc:
            raise where.error(prefix, key, f"{'.'.join((*prefix, key))}: {exc}") from None
        except (TypeError, ValueError):
            raise where.error(prefix, key, f"{'.'.join((*prefix, key))} must be a table") from None
    return result


def _closest(key: str, schema: Mapping[str, Any]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
    return matches[0] if matches else None


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
