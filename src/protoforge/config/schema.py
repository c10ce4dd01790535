"""The config schema: a checker per key, which returns the converted value or raises
`Invalid(reason)`. The key tables are derived from the dataclasses' fields (`_keys`): a field
without a checker, or a checker without a field, fails at import."""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable, Mapping
from dataclasses import fields

from protoforge.config.model import (
    MAX_DURATION_SECONDS,
    STATUS_CODES,
    ClientOptions,
    Config,
    RetryPolicy,
    Target,
    nanoseconds,
)
from protoforge.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any

    Checker = Callable[[Any], Any]  # only in annotations: it names typing.Any
# Raises the error for `key` in table `prefix` (located by the loader, which knows the text).
ErrorAt = Callable[[tuple[str, ...], str, str], ConfigError]


class Invalid(Exception):
    """A value a checker rejects; the message says why."""


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid("expected a non-empty string")
    return value


def _str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid("expected a list of strings")
    return tuple(value)


def _positive_number(value: Any) -> float:
    """A finite number > 0 (TOML has `inf` and `nan`; either would render code that does not
    import, or a service config gRPC rejects)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid("expected a positive number")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise Invalid(f"expected a positive, finite number, not {value!r}")
    return number


def _seconds(minimum: float, why: str) -> Callable[[Any], float]:
    """A duration in seconds that gRPC can take: at least `minimum`, at most a protobuf
    Duration's range, and a whole number of nanoseconds, so that it renders exactly (a finer
    value would be rounded, e.g. to "0s", which gRPC rejects on every call)."""

    def check(value: Any) -> float:
        number = _positive_number(value)
        if number < minimum:
            raise Invalid(f"{value!r} seconds is below {minimum:g} ({why})")
        if number > MAX_DURATION_SECONDS:
            raise Invalid(f"{value!r} seconds is more than gRPC's limit ({MAX_DURATION_SECONDS} s)")
        try:
            nanoseconds(number)
        except ValueError:
            raise Invalid(
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
            raise Invalid(f"expected an integer >= {minimum}")
        return value

    return check


def _python_package(value: Any) -> str:
    name = _str(value)
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        raise Invalid(f"{name!r} is not a dotted Python package name")
    bad = [part for part in parts if keyword.iskeyword(part)]
    if bad:
        raise Invalid(f"{bad[0]!r} is a Python keyword")
    from protoforge.naming import NAMESPACE_ROOTS, shadowing_problem

    problem = shadowing_problem(parts[0])
    if problem is None and parts[0] in NAMESPACE_ROOTS:
        problem = f"{parts[0]!r} is a namespace that installed packages share"
    if problem:
        raise Invalid(f"{problem}: choose a package name of your own")
    return name


def _status_codes(value: Any) -> tuple[str, ...]:
    codes = tuple(code.upper() for code in _str_list(value))
    unknown = [code for code in codes if code not in STATUS_CODES]
    if unknown:
        raise Invalid(f"unknown status code {unknown[0]!r}; known: {', '.join(STATUS_CODES)}")
    if not codes:
        raise Invalid("name at least one status code")
    return codes


def _keys(
    cls: type, checkers: Mapping[str, Checker], *, besides: tuple[str, ...] = ()
) -> dict[str, Checker]:
    """One key per field of `cls` (minus `besides`: what the loader fills in), in field order."""
    return {f.name: checkers[f.name] for f in fields(cls) if f.name not in besides}


TOP_KEYS = _keys(
    Config,
    {
        "proto_roots": _str_list,
        "dependency_roots": _str_list,
        "out": _str,
        "package": _python_package,
        "exclude": _str_list,
        "templates_dir": _str,
        "impl_out": _str,
        "jobs": _int_at_least(0),
        "client": dict,  # validated as a nested table (CLIENT_KEYS)
        "targets": dict,  # a table of tables, one per target (TARGET_KEYS)
    },
    besides=("project_dir", "config_path"),
)
TARGET_KEYS = _keys(
    Target,
    {"out": _str, "plugin": _str, "generator": _str, "options": _str_list},
    besides=("name",),  # the table's name: [targets.NAME]
)
CLIENT_KEYS = _keys(
    ClientOptions,
    {
        "timeout": _seconds(0.000000001, "gRPC's resolution is a nanosecond"),
        "retry": dict,  # validated as a nested table (RETRY_KEYS)
    },
)
RETRY_KEYS = _keys(
    RetryPolicy,
    {
        "max_attempts": _int_at_least(2),
        "initial_backoff": _backoff,
        "max_backoff": _backoff,
        "backoff_multiplier": _positive_number,
        "retryable_status_codes": _status_codes,
    },
)
REQUIRED = ("proto_roots", "out")


def validate(
    table: Any, schema: Mapping[str, Checker], prefix: tuple[str, ...], error: ErrorAt
) -> dict[str, Any]:
    """The checked values of `table` (at `prefix`); an unknown key or a wrong value raises
    `error(...)`, which locates the key in the file."""
    dotted = ".".join(prefix) or "the top level"
    if not isinstance(table, dict):
        raise error(prefix[:-1], prefix[-1] if prefix else "", f"{dotted} must be a table")
    result: dict[str, Any] = {}
    for key, value in table.items():
        checker = schema.get(key)
        if checker is None:
            known = ", ".join(sorted(schema))
            suggestion = _closest(key, schema)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise error(prefix, key, f"unknown key {key!r} in {dotted}{hint}; known: {known}")
        try:
            result[key] = checker(value)
        except Invalid as exc:
            raise error(prefix, key, f"{'.'.join((*prefix, key))}: {exc}") from None
        except (TypeError, ValueError):
            raise error(prefix, key, f"{'.'.join((*prefix, key))} must be a table") from None
    return result


def _closest(key: str, schema: Mapping[str, Any]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
    return matches[0] if matches else None
