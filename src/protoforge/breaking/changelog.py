"""`protoforge diff`: the full API changelog between two FileDescriptorSets.

The list of changes is computed in Python; whether a change is breaking is buf's answer, under
the project's buf.yaml, exactly as `check-breaking` gives it (one source of truth):

- major: a change that an (unsuppressed) buf finding points at; a finding that points at no
  listed change is listed on its own, so the changelog never hides why it is major;
- minor: anything added, removed or changed that buf does not report (e.g. a rename under WIRE);
- patch: an option change that buf does not report (e.g. `deprecated`).

Elements are identified the way buf identifies them: messages, enums, services and RPCs by full
name, fields by number within their message and enum values by number within their enum, so a
field or an enum value renamed in place is one "renamed" change, not a removal and an addition.

The recommended next version follows semver, with its 0.x convention: while the major version is
0, a breaking change bumps the minor version (unless asked to bump the major).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from protoforge.breaking.descriptors import line_of, load_set
from protoforge.breaking.findings import Finding, Report
from protoforge.breaking.sides import Side
from protoforge.errors import ProtoforgeError
from protoforge.source.descriptors import elements

LEVELS = ("major", "minor", "patch")
# the level of a change before `compare` classifies it by buf's findings (never shown)
UNCLASSIFIED = ""
JSON_SCHEMA_VERSION = 1

_TYPE_NAMES = {
    1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
    8: "bool", 9: "string", 10: "group", 11: "message", 12: "bytes", 13: "uint32", 14: "enum",
    15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64",
}  # fmt: skip
_LABELS = {1: "optional", 2: "required", 3: "repeated"}


@dataclass(frozen=True, order=True)
class Change:
    path: str  # display path in the project
    line: int
    name: str  # full name
    # file, service, rpc, message, field, oneof, enum, enum_value, extension; "finding" for a
    # buf finding that points at no listed change
    kind: str
    action: str  # added, removed, renamed, changed; "breaking" for a finding
    level: str  # major, minor, patch
    detail: str
    rules: tuple[str, ...] = ()  # buf's rules that report this change as breaking


@dataclass(frozen=True)
class Changelog:
    baseline: str
    changes: tuple[Change, ...]

    @property
    def level(self) -> str:
        """The highest level of any change; "patch" when nothing changed."""
        for level in LEVELS:
            if any(change.level == level for change in self.changes):
                return level
        return "patch"


@dataclass(frozen=True)
class _Element:
    kind: str
    name: str
    file: str
    line: int
    attributes: tuple[tuple[str, str], ...]
    options: dict[str, str]
    parent: str


def compare(
    baseline: Side, current: Side, display: Callable[[str], str], report: Report
) -> Changelog:
    changes = _changes(baseline, current, display)
    breaking = report.breaking
    matched: set[Finding] = set()
    classified: list[Change] = []
    for change in changes:
        hits = [f for f in breaking if _points_at(f, change)]
        matched.update(hits)
        if hits:
            rules = tuple(sorted({f.rule for f in hits}))
            classified.append(replace(change, level="major", rules=rules))
        elif change.action == "added":
            classified.append(replace(change, level="minor"))
        elif change.detail.startswith("option "):
            classified.append(replace(change, level="patch"))
        else:
            classified.append(replace(change, level="minor"))
    for finding in breaking:
        if finding not in matched:
            classified.append(
                Change(
                    finding.path,
                    finding.line,
                    finding.rule,
                    "finding",
                    "breaking",
                    "major",
                    finding.message,
                    (finding.rule,),
                )
            )
    return Changelog(baseline.label, tuple(sorted(classified)))


def _points_at(finding: Finding, change: Change) -> bool:
    """Whether buf's finding is about this change: same file, and the same line or the
    element's (short) name quoted in the message."""
    if finding.path != change.path:
        return False
    if change.detail.startswith("option "):  # only a rule that guards this option
        option = change.detail.removeprefix("option ").split(":", 1)[0]
        return _guards(finding.rule, option)
    if change.line and finding.line == change.line:
        return True
    short = change.name if change.kind == "file" else change.name.rsplit(".", 1)[-1]
    return f'"{short}"' in finding.message


def _guards(rule: str, option: str) -> bool:
    """Whether buf's `rule` is about `option`, as buf says it: the rule's ID names the option
    (FILE_SAME_GO_PACKAGE, FIELD_SAME_CTYPE) or its purpose in buf's rule catalogue does
    (FIELD_SAME_CPP_STRING_TYPE: "based on ctype field option")."""
    if option.removeprefix("no_").upper() in rule:
        return True
    from protoforge.breaking.buf import rule_catalog

    known = rule_catalog().get(rule)
    return known is not None and re.search(rf"\b{re.escape(option)}\b", known.purpose) is not None


def _changes(baseline: Side, current: Side, display: Callable[[str], str]) -> list[Change]:
    """What changed, unclassified: only buf's findings say what is breaking (`compare`)."""
    old = _index(baseline)
    new = _index(current)
    changes: list[Change] = []

    def where(element: _Element, side: dict[str, _Element]) -> tuple[str, int]:
        if side is new:
            return display(element.file), element.line
        parent = new.get(element.parent)  # a removed element: point at its parent today
        if parent is not None:
            return display(parent.file), parent.line
        return display(element.file), 0

    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before is None and after is not None:
            path, line = where(after, new)
            changes.append(Change(path, line, after.name, after.kind, "added", UNCLASSIFIED, ""))
        elif after is None and before is not None:
            if before.parent in old and before.parent not in new:
                continue  # its parent's removal says it all
            path, line = where(before, old)
            changes.append(
                Change(path, line, before.name, before.kind, "removed", UNCLASSIFIED, "")
            )
        elif before is not None and after is not None:
            path, line = where(after, new)
            details = [
                f"{name}: {value} -> {dict(after.attributes).get(name, '')}"
                for name, value in before.attributes
                if dict(after.attributes).get(name, "") != value
            ]
            if details:
                renamed = len(details) == 1 and details[0].startswith("name: ")
                action = "renamed" if renamed else "changed"
                changes.append(
                    Change(
                        path, line, after.name, after.kind, action, UNCLASSIFIED, "; ".join(details)
                    )
                )
            for option in sorted(before.options.keys() | after.options.keys()):
                was, now = (
                    before.options.get(option, "(unset)"),
                    after.options.get(option, "(unset)"),
                )
                if was == now:
                    continue
                changes.append(
                    Change(
                        path,
                        line,
                        after.name,
                        after.kind,
                        "changed",
                        UNCLASSIFIED,
                        f"option {option}: {was} -> {now}",
                    )
                )
    return changes


def _index(side: Side) -> dict[str, _Element]:
    if not side.descriptor_set:
        return {}
    index: dict[str, _Element] = {}
    for proto_file in load_set(side.descriptor_set).file:
        if proto_file.name not in side.names:
            continue
        index[f"file {proto_file.name}"] = _Element(
            "file",
            proto_file.name,
            proto_file.name,
            line_of(proto_file, (2,)) or 1,
            (("package", proto_file.package), ("syntax", proto_file.syntax or "proto2")),
            _options(proto_file),
            "",
        )
        for kind, full, element, path in elements(proto_file):
            if kind == "message" and element.options.map_entry:
                continue
            parent = full.rsplit(".", 1)[0] if kind not in ("message", "enum", "service") else ""
            parent_key = ""
            if kind in ("field", "oneof", "extension"):
                parent_key = f"message {parent}"
            elif kind == "rpc":
                parent_key = f"service {parent}"
            elif kind == "enum_value":
                parent_key = f"enum {parent}"
            key = f"{kind} {full}"
            if kind == "field":  # buf compares fields by number, enum values by number
                key = f"field {parent}#{element.number}"
            elif kind == "enum_value":
                key = f"enum_value {parent}#{element.number}"
            if key in index:  # an enum value alias: keep the first name
                continue
            index[key] = _Element(
                kind,
                full,
                proto_file.name,
                line_of(proto_file, path),
                _attributes(kind, element, proto_file.name),
                _options(element),
                parent_key,
            )
    return index


def _attributes(kind: str, element: Any, file: str) -> tuple[tuple[str, str], ...]:
    if kind in ("field", "extension"):
        type_name = element.type_name.lstrip(".") or _TYPE_NAMES.get(element.type, "?")
        label = _LABELS.get(element.label, "?")
        if element.proto3_optional:
            label = "optional (explicit presence)"
        attributes = [
            ("name", element.name),
            ("type", type_name),
            ("label", label),
            ("json_name", element.json_name),
        ]
        if element.HasField("oneof_index") and not element.proto3_optional:
            attributes.append(("oneof", str(element.oneof_index)))
        if kind == "extension":
            attributes.append(("extendee", element.extendee.lstrip(".")))
        return tuple(attributes)
    if kind == "rpc":
        request = ("stream " if element.client_streaming else "") + element.input_type
        response = ("stream " if element.server_streaming else "") + element.output_type
        return (
            ("request", request.replace(" .", " ").lstrip(".")),
            ("response", response.replace(" .", " ").lstrip(".")),
        )
    if kind == "enum_value":
        return (("name", element.name),)
    if kind in ("message", "enum", "service"):
        return (("file", file),)
    return ()


def _options(element: Any) -> dict[str, str]:
    if not element.HasField("options"):
        return {}
    result: dict[str, str] = {}
    for descriptor, value in element.options.ListFields():
        if descriptor.name in ("uninterpreted_option", "features"):
            continue
        name = f"({descriptor.full_name})" if descriptor.is_extension else descriptor.name
        if descriptor.enum_type is not None and isinstance(value, int):
            value = descriptor.enum_type.values_by_number[value].name
        result[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return result


# --- versions and output ----------------------------------------------------------------------

_VERSION = re.compile(r"^(?P<prefix>v?)(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)$")


def next_version(current: str, level: str, *, major_in_zero: bool = False) -> str:
    """The next version after `current` for a change of `level`. semver's 0.x convention: while
    the major version is 0 a breaking change bumps the minor version (`major_in_zero` bumps the
    major, e.g. to release 1.0.0)."""
    match = _VERSION.match(current.strip())
    if not match:
        raise ProtoforgeError(
            f"--semver expects a version like 1.4.2 (or v1.4.2), got {current!r}",
        )
    major, minor, patch = (int(match[p]) for p in ("major", "minor", "patch"))
    if level == "major" and major == 0 and not major_in_zero:
        level = "minor"
    if level == "major":
        major, minor, patch = major + 1, 0, 0
    elif level == "minor":
        minor, patch = minor + 1, 0
    else:
        patch += 1
    return f"{match['prefix']}{major}.{minor}.{patch}"


def render(log: Changelog, fmt: str, current: str | None, recommended: str | None) -> str:
    if fmt == "json":
        return _json(log, current, recommended)
    if fmt == "markdown":
        return _markdown(log, current, recommended)
    return _text(log, current, recommended)


def _location(change: Change) -> str:
    return f"{change.path}:{change.line}" if change.line else change.path


def _ordered(log: Changelog) -> list[Change]:
    return sorted(log.changes, key=lambda c: (LEVELS.index(c.level), c.path, c.line, c.name))


def _text(log: Changelog, current: str | None, recommended: str | None) -> str:
    lines = [f"API changes against {log.baseline}: {len(log.changes)} ({log.level})", ""]
    for change in _ordered(log):
        detail = f"  ({change.detail})" if change.detail else ""
        if change.rules and change.kind != "finding":
            detail += f"  {', '.join(change.rules)}"
        lines.append(
            f"  {change.level:<6} {change.action:<8} {change.kind:<10} {change.name}{detail}"
            f"  [{_location(change)}]"
        )
    if log.changes:
        lines.append("")
    if recommended is not None:
        lines.append(f"recommended version: {current} -> {recommended} ({log.level})")
    return "\n".join(lines) + "\n"


def _json(log: Changelog, current: str | None, recommended: str | None) -> str:
    document = {
        "version": JSON_SCHEMA_VERSION,
        "tool": "protoforge",
        "command": "diff",
        "baseline": log.baseline,
        "level": log.level,
        "current_version": current,
        "recommended_version": recommended,
        "changes": [
            {
                "level": c.level,
                "action": c.action,
                "kind": c.kind,
                "name": c.name,
                "detail": c.detail,
                "path": c.path,
                "line": c.line,
                "rules": list(c.rules),
            }
            for c in _ordered(log)
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _markdown(log: Changelog, current: str | None, recommended: str | None) -> str:
    lines = [f"### API changes against {log.baseline} ({log.level})", ""]
    if recommended is not None:
        lines += [f"Recommended version: **{recommended}** (from {current})", ""]
    if not log.changes:
        lines += ["No API changes.", ""]
    for level in LEVELS:
        group = [c for c in _ordered(log) if c.level == level]
        if not group:
            continue
        lines += [f"#### {level} ({len(group)})", ""]
        for c in group:
            detail = f": {c.detail}" if c.detail else ""
            lines.append(f"- {c.action} {c.kind} `{c.name}`{detail} (`{_location(c)}`)")
        lines.append("")
    return "\n".join(lines)
