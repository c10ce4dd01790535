"""The config schema on its own: the key tables follow the dataclasses, and each checker
accepts what gRPC can take and says why it rejects the rest."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from protoforge.config import ClientOptions, Config, RetryPolicy, Target
from protoforge.config.schema import (
    CLIENT_KEYS,
    RETRY_KEYS,
    TARGET_KEYS,
    TOP_KEYS,
    Invalid,
    validate,
)
from protoforge.errors import ConfigError


def test_every_config_field_a_user_sets_is_a_key() -> None:
    assert set(TOP_KEYS) == {f.name for f in fields(Config)} - {"project_dir", "config_path"}
    assert set(TARGET_KEYS) == {f.name for f in fields(Target)} - {"name"}
    assert set(CLIENT_KEYS) == {f.name for f in fields(ClientOptions)}
    assert set(RETRY_KEYS) == {f.name for f in fields(RetryPolicy)}


def _error(table: tuple[str, ...], key: str, message: str) -> ConfigError:
    return ConfigError(message)


def test_validate_converts_values() -> None:
    values = validate(
        {"proto_roots": "proto", "out": "gen", "jobs": 2}, TOP_KEYS, ("tool", "protoforge"), _error
    )
    assert values == {"proto_roots": ("proto",), "out": "gen", "jobs": 2}


def test_unknown_key_names_the_table_and_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as caught:
        validate({"proto_root": ["proto"]}, TOP_KEYS, ("tool", "protoforge"), _error)
    message = caught.value.message
    assert message.startswith("unknown key 'proto_root' in tool.protoforge")
    assert "(did you mean 'proto_roots'?)" in message
    assert "known: client, dependency_roots, exclude," in message  # sorted


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("max_attempts", 1, "expected an integer >= 2"),
        ("max_attempts", True, "expected an integer >= 2"),
        ("initial_backoff", 0.001, "is below 0.01"),
        ("initial_backoff", float("inf"), "expected a positive, finite number"),
        ("max_backoff", 0.0100000001, "not a whole number of nanoseconds"),
        ("retryable_status_codes", ["unavailable", "NOPE"], "unknown status code 'NOPE'"),
        ("retryable_status_codes", [], "name at least one status code"),
    ],
)
def test_retry_checkers_reject_what_grpc_cannot_take(key: str, value: object, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        RETRY_KEYS[key](value)


def test_status_codes_are_upper_cased() -> None:
    assert RETRY_KEYS["retryable_status_codes"](["unavailable"]) == ("UNAVAILABLE",)


@pytest.mark.parametrize(
    ("name", "reason"),
    [("acme-api", "not a dotted Python package name"), ("acme.class", "is a Python keyword")],
)
def test_package_must_be_an_importable_name(name: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        TOP_KEYS["package"](name)


def test_a_non_table_is_reported_as_such() -> None:
    with pytest.raises(ConfigError, match=re.escape("tool.protoforge.client must be a table")):
        validate("x", CLIENT_KEYS, ("tool", "protoforge", "client"), _error)
