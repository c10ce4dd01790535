"""Renderers for `check-breaking` and `lint` reports (`Report.command` names which). Each
returns the whole output as one string; all are deterministic (sorted findings, no timestamps,
no absolute paths).

The JSON format (`--format json`) is a stable, versioned schema, documented in docs/breaking.md:

    {"version": 1, "tool": "protoforge", "command": "check-breaking", "baseline": str,
     "summary": {"breaking": int, "suppressed": int},
     "findings": [{"rule": str, "message": str, "path": str, "line": int, "column": int,
                   "import_path": str, "suppressed": bool, "reason": str | null,
                   "inferred_location": bool}]}

`lint`'s JSON has the same shape with "command": "lint", no "baseline" and
"summary": {"findings": int, "suppressed": int}.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from protoforge import __version__
from protoforge.breaking.findings import Finding, Report

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any

JSON_SCHEMA_VERSION = 1
INFORMATION_URI = "https://github.com/protoforge/protoforge/blob/main/docs/breaking.md"
LINT_INFORMATION_URI = "https://github.com/protoforge/protoforge/blob/main/README.md"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FORMATS = ("text", "json", "github", "junit", "sarif", "markdown")


def render(report: Report, fmt: str, rules: Callable[[], dict[str, Any]] | None = None) -> str:
    if fmt == "sarif":
        return sarif(report, rules() if rules else {})
    renderer: dict[str, Callable[[Report], str]] = {
        "text": text,
        "json": as_json,
        "github": github,
        "junit": junit,
        "markdown": markdown,
    }
    return renderer[fmt](report)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _is_lint(report: Report) -> bool:
    return report.command == "lint"


def summary_line(report: Report) -> str:
    broken = len(report.breaking)
    suppressed = len(report.suppressed)
    tail = f" ({suppressed} suppressed)" if suppressed else ""
    if _is_lint(report):
        return f"{_plural(broken, 'lint finding') if broken else 'no lint findings'}{tail}"
    if not broken:
        return f"no breaking changes against {report.baseline}{tail}"
    return f"{_plural(broken, 'breaking change')} against {report.baseline}{tail}"


def text(report: Report) -> str:
    lines: list[str] = []
    by_file: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_file.setdefault(finding.path or "<no file>", []).append(finding)
    for path, findings in by_file.items():
        lines.append(path)
        for finding in findings:
            where = f"{finding.line}:{finding.column}" if finding.line else "-"
            lines.append(f"  {where:<8} {finding.rule:<40} {finding.message}")
            if finding.suppressed:
                lines.append(f"  {'':<8} suppressed: {finding.reason}")
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    head: dict[str, Any] = {"version": JSON_SCHEMA_VERSION, "tool": "protoforge"}
    if _is_lint(report):
        head |= {
            "command": "lint",
            "summary": {"findings": len(report.breaking), "suppressed": len(report.suppressed)},
        }
    else:
        head |= {
            "command": "check-breaking",
            "baseline": report.baseline,
            "summary": {"breaking": len(report.breaking), "suppressed": len(report.suppressed)},
        }
    document = {
        **head,
        "findings": [
            {
                "rule": f.rule,
                "message": f.message,
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "import_path": f.import_path,
                "suppressed": f.suppressed,
                "reason": f.reason or None,
                "inferred_location": f.inferred_location,
            }
            for f in report.findings
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    """GitHub Actions workflow commands: an error annotation per finding (breaking change or lint
    finding), a notice per suppressed one."""
    lines: list[str] = []
    for f in report.findings:
        command = "notice" if f.suppressed else "error"
        props: list[str] = []
        if f.path:
            props.append(f"file={_escape_property(f.path)}")
            if f.line:
                props.append(f"line={f.line}")
                if f.column:
                    props.append(f"col={f.column}")
        title = f"{f.rule} (suppressed)" if f.suppressed else f.rule
        props.append(f"title={_escape_property(title)}")
        message = f.message + (f" Suppressed: {f.reason}" if f.suppressed else "")
        lines.append(f"::{command} {','.join(props)}::{_escape_data(message)}")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def junit(report: Report) -> str:
    from xml.etree import ElementTree  # only for this format

    lint = _is_lint(report)
    classname = "protoforge.lint" if lint else "protoforge.breaking"
    suite = ElementTree.Element(
        "testsuite",
        name=f"protoforge {report.command}",
        tests=str(max(1, len(report.findings))),
        failures=str(len(report.breaking)),
        errors="0",
        skipped=str(len(report.suppressed)),
    )
    if not report.findings:
        ElementTree.SubElement(
            suite,
            "testcase",
            classname=classname,
            name="no lint findings" if lint else "no breaking changes",
        )
    for f in report.findings:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f.path or classname,
            name=f"{f.rule} {f.location}",
        )
        if f.suppressed:
            ElementTree.SubElement(case, "skipped", message=f"suppressed: {f.reason}")
        else:
            failure = ElementTree.SubElement(case, "failure", message=f.message, type=f.rule)
            failure.text = f"{f.location}: {f.rule}: {f.message}"
    root = ElementTree.Element(
        "testsuites",
        name="protoforge",
        tests=suite.get("tests", "0"),
        failures=suite.get("failures", "0"),
    )
    root.append(suite)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode") + "\n"


def sarif(report: Report, catalog: dict[str, Any]) -> str:
    lint = _is_lint(report)
    help_uri = (
        "https://buf.build/docs/lint/rules/" if lint else "https://buf.build/docs/breaking/rules/"
    )
    used = sorted({f.rule for f in report.findings})
    rules = []
    for rule_id in used:
        known = catalog.get(rule_id)
        purpose = getattr(known, "purpose", "") or rule_id
        rules.append(
            {
                "id": rule_id,
                "name": rule_id,
                "shortDescription": {"text": purpose},
                "helpUri": help_uri,
                "properties": {"categories": list(getattr(known, "categories", ()))},
            }
        )
    index = {rule_id: position for position, rule_id in enumerate(used)}
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "error",
            "message": {"text": f.message},
        }
        if f.path:
            physical: dict[str, Any] = {"artifactLocation": {"uri": f.path}}
            if f.line:
                physical["region"] = {"startLine": f.line, "startColumn": max(1, f.column)}
            result["locations"] = [{"physicalLocation": physical}]
        if f.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": f.reason}]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "protoforge",
                        "version": __version__,
                        "informationUri": LINT_INFORMATION_URI if lint else INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    broken = len(report.breaking)
    icon = ":x:" if broken else ":white_check_mark:"
    lines = [f"### {icon} protoforge {report.command}: {summary_line(report)}", ""]
    if report.findings:
        lines += ["| | Location | Rule | Change |", "|---|---|---|---|"]
        for f in report.findings:
            mark = ":no_bell:" if f.suppressed else ":x:"
            change = _md(f.message) + (f" *(suppressed: {_md(f.reason)})*" if f.suppressed else "")
            lines.append(f"| {mark} | `{f.location}` | `{f.rule}` | {change} |")
        lines.append("")
    if broken and _is_lint(report):
        lines.append(
            "Fix the contract, or if the style is intended add "
            "`// protoforge:allow-lint RULE_ID -- reason` to the element."
        )
        lines.append("")
    elif broken:
        lines.append(
            "If a break is intended, add `// protoforge:allow-breaking RULE_ID -- reason` "
            "to the element, or bump the major version of the package."
        )
        lines.append("")
    return "\n".join(lines)
