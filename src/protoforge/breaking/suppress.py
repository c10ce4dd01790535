"""Inline, reviewed suppressions.

    // protoforge:allow-breaking FIELD_SAME_TYPE -- widening qty to int64, all clients updated

in a leading or trailing comment of an element suppresses that rule for findings on the element
and everything inside it (a comment on a message covers its fields, one on a service its RPCs,
one on the `package` statement the whole file). Several IDs may be separated by commas; a buf
category (FILE, PACKAGE, WIRE_JSON, WIRE) stands for all its rules. The reason after ` -- ` is
mandatory: a suppression without one, or with an unknown rule ID, is an input error (exit 2).
Suppressed findings stay in every report, marked with their reason.

`protoforge lint` uses the same machinery with `// protoforge:allow-lint RULE -- reason`
(`LINT`: buf's lint rules and categories).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import NamedTuple

from protoforge.breaking.descriptors import declarations, load_set
from protoforge.breaking.findings import DIRECTIVE, Finding
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.source.descriptors import Span

WHOLE_FILE = Span(1, 1, 1 << 30, 1 << 30)


class Directive(NamedTuple):
    """One kind of suppression comment: its marker, what a reason justifies, the rule
    categories it may name besides rule IDs, and where the rule IDs are listed."""

    marker: str
    justifies: str
    categories: tuple[str, ...]
    rules_command: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(
            re.escape(self.marker) + r"\b(?P<rules>[^\n]*?)(?:\s--(?P<reason>[^\n]*))?$",
            re.MULTILINE,
        )


BREAKING = Directive(
    DIRECTIVE,
    "why this break is acceptable",
    ("FILE", "PACKAGE", "WIRE_JSON", "WIRE", "CSR"),
    "buf config ls-breaking-rules --version v2",
)


class SuppressionError(ProtoforgeError):
    """A malformed `protoforge:allow-breaking` comment."""


class Suppression(NamedTuple):  # not a dataclass: see RawFinding in buf.py
    file: str  # import path
    span: Span
    element: str
    rules: tuple[str, ...]
    reason: str


def collect(
    current_set: bytes,
    names: frozenset[str],
    display: Callable[[str], str],
    known_rules: Callable[[], Mapping[str, tuple[str, ...]]],
    directive: Directive = BREAKING,
) -> list[Suppression]:
    """Every suppression in the current contracts. `known_rules` maps rule ID -> categories (asked
    only when a suppression exists, since it runs buf)."""
    if not current_set:
        return []
    found: list[Suppression] = []
    problems: list[Diagnostic] = []
    catalog: Mapping[str, tuple[str, ...]] | None = None
    marker, pattern = directive.marker, directive.pattern
    for proto_file in load_set(current_set).file:
        if proto_file.name not in names:
            continue
        for declaration in declarations(proto_file):
            if marker not in declaration.comments:
                continue
            for match in pattern.finditer(declaration.comments):
                where = Diagnostic(
                    display(proto_file.name),
                    declaration.span.start_line,
                    declaration.span.start_column,
                    "error",
                    "",
                )
                rules = tuple(r for r in re.split(r"[\s,]+", match["rules"].strip()) if r)
                reason = (match["reason"] or "").strip()
                if not rules:
                    problems.append(replace(where, message=f"{marker} names no rule ID"))
                    continue
                if not reason:
                    problems.append(
                        replace(
                            where,
                            message=f"{marker} {','.join(rules)} on {declaration.name} has no "
                            f"reason: write `-- {directive.justifies}`",
                        )
                    )
                    continue
                catalog = catalog if catalog is not None else known_rules()
                unknown = [r for r in rules if r not in catalog and r not in directive.categories]
                if unknown:
                    problems.append(
                        replace(
                            where,
                            message=f"{marker}: unknown rule ID {unknown[0]!r} "
                            f"(see `{directive.rules_command}`)",
                        )
                    )
                    continue
                # on the package statement: the whole file
                span = WHOLE_FILE if declaration.kind == "file" else declaration.span
                found.append(Suppression(proto_file.name, span, declaration.name, rules, reason))
    if problems:
        raise SuppressionError(
            f"{len(problems)} invalid suppression comment{'s' * (len(problems) != 1)}",
            diagnostics=tuple(sorted(problems)),
            hint=f"the syntax is `// {marker} RULE_ID -- reason`",
        )
    return found


def apply(
    findings: list[Finding],
    suppressions: list[Suppression],
    categories: Callable[[str], tuple[str, ...]],
) -> list[Finding]:
    result: list[Finding] = []
    for finding in findings:
        match = next(
            (
                s
                for s in _innermost_first(suppressions, finding)
                if finding.rule in s.rules or set(categories(finding.rule)) & set(s.rules)
            ),
            None,
        )
        result.append(finding._replace(suppressed=True, reason=match.reason) if match else finding)
    return result


def _innermost_first(suppressions: list[Suppression], finding: Finding) -> list[Suppression]:
    if not finding.import_path or not finding.line:
        return []
    column = finding.column or 1
    covering = [
        s
        for s in suppressions
        if s.file == finding.import_path and s.span.contains(finding.line, column)
    ]
    return sorted(covering, key=lambda s: (s.span.start_line, s.span.start_column), reverse=True)
