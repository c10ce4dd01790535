"""`protoforge lint` and `protoforge format`: buf's linter and formatter on the project's
contracts, run as subprocesses (see docs/architecture.md, "lint and format").

    lint:    buf.yaml (any version, read by buf itself) ─► `buf lint` ─► findings placed in the
             project's files ─► `protoforge:allow-lint` suppressions ─► breaking/formats
    format:  `buf format` per proto root into a temporary tree ─► compared with the contracts

The report model, renderers and suppression machinery are check-breaking's (`breaking/`): lint
findings are the same kind of thing (a buf rule, a place, a message), so they are rendered in
the same six formats by the same code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protoforge.breaking.findings import Report
    from protoforge.config import Config
    from protoforge.lint.formatting import Reformatted


def lint(config: Config) -> Report:
    """buf's lint findings on the contracts under the project's buf.yaml, suppressions applied."""
    from protoforge.lint.run import lint_report

    return lint_report(config)


def reformat(config: Config) -> list[Reformatted]:
    """The contracts `buf format` would change (nothing is written)."""
    from protoforge.lint.formatting import formatted_contracts

    return formatted_contracts(config)
