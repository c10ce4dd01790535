"""The configuration's data: frozen dataclasses and the constants they are checked against.
What the rest of protoforge sees of a project's config (`protoforge.config` re-exports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any

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
            "initialBackoff": duration_text(self.initial_backoff),
            "maxBackoff": duration_text(self.max_backoff),
            "backoffMultiplier": self.backoff_multiplier,
            "retryableStatusCodes": list(self.retryable_status_codes),
        }


@dataclass(frozen=True)
class ClientOptions:
    """Options of the generated clients: a default deadline and a retry policy."""

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


def duration_text(seconds: float) -> str:
    """A gRPC service-config duration: the protobuf Duration JSON form, decimal seconds with up
    to 9 fractional digits and an "s" suffix ("0.0001s", "1.5s", "2s"). Exact: config values
    are checked to be whole nanoseconds (`schema.seconds`), so nothing rounds to "0s"."""
    nanos = nanoseconds(seconds)
    whole, fraction = divmod(nanos, 1_000_000_000)
    text = str(whole) if not fraction else f"{whole}.{fraction:09d}".rstrip("0")
    return f"{text}s"


def nanoseconds(seconds: float) -> int:
    """`seconds` as written (its shortest decimal form, not the binary float) in nanoseconds;
    ValueError if that needs more than 9 fractional digits."""
    from decimal import Decimal

    exact = Decimal(repr(seconds)) * 1_000_000_000
    if exact != exact.to_integral_value():
        raise ValueError("more precise than a nanosecond")
    return int(exact)
