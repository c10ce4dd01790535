"""One error hierarchy. Anything a user can cause is a `ProtoforgeError`: `cli.py` prints it
(diagnostics first, then the hint) and exits with its `exit_code`; it never shows a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # the check found something: breaking changes, stale generated code
    USER_ERROR = 2  # the input is wrong: compile error, bad config, bad flag, missing baseline
    INTERNAL = 3  # a bug in protoforge


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One message about one place in a user's file: `path:line:col: severity: message`."""

    path: str
    line: int = 0
    column: int = 0
    severity: str = "error"
    message: str = ""

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.severity}: {self.message}"


class ProtoforgeError(Exception):
    """An error the user can fix. `diagnostics` point into their files; `hint` says what to do."""

    exit_code: ExitCode = ExitCode.USER_ERROR

    def __init__(
        self,
        message: str,
        *,
        diagnostics: tuple[Diagnostic, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics
        self.hint = hint


class ConfigError(ProtoforgeError):
    """The configuration is wrong: unknown key, wrong type, missing root."""


class CompileError(ProtoforgeError):
    """protoc rejected a contract."""


class NamingError(ProtoforgeError):
    """A contract maps to a Python name that cannot exist (a keyword or a hyphen in a package)."""
