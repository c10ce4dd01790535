"""Configuration: find it, validate it once, resolve it with CLI flags into one frozen `Config`.

Nothing downstream reads TOML or environment variables. `model.py` holds what the rest of
protoforge sees: the frozen dataclasses. `load.py` finds and reads the file, `schema.py` checks
every key: the key tables are derived from the dataclasses' fields, so an unknown key is an error
that names the key, the file and the line. This package module only re-exports.
"""

from __future__ import annotations

from protoforge.config.load import config_from_mapping, find_config_file, load_config
from protoforge.config.model import (
    BUILTIN_GENERATORS,
    MAX_DURATION_SECONDS,
    PYPROJECT,
    STANDALONE,
    STATUS_CODES,
    ClientOptions,
    Config,
    RetryPolicy,
    Target,
    nanoseconds,
)

__all__ = [
    "BUILTIN_GENERATORS",
    "MAX_DURATION_SECONDS",
    "PYPROJECT",
    "STANDALONE",
    "STATUS_CODES",
    "ClientOptions",
    "Config",
    "RetryPolicy",
    "Target",
    "config_from_mapping",
    "find_config_file",
    "load_config",
    "nanoseconds",
]
