"""Every `check-breaking --format`, from one shared repository with two breaking changes and one
suppressed one: SARIF is validated against the OASIS 2.1.0 schema, JUnit parsed as XML."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from breaking_support import ORDERS_V1, change, check, git_project, isolated_cache  # noqa: F401
from conftest import Result

ORDERS = "acme/orders/v1/orders.proto"
SHOWN = f"proto/{ORDERS}"
SARIF_SCHEMA = Path(__file__).parents[1] / "schemas" / "sarif-2.1.0.json"

CURRENT = (
    ORDERS_V1.replace("int32 quantity = 2;", "int64 quantity = 2;")
    .replace(
        "string note = 3;",
        "// protoforge:allow-breaking FIELD_SAME_NAME, FIELD_SAME_JSON_NAME -- nobody, read it,"
        " ok\n      string remark = 3;",
    )
    .replace("rpc DeleteOrder(Order) returns (Order);", "")
)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    base = git_project(tmp_path_factory.mktemp("formats"), {ORDERS: ORDERS_V1})
    change(base, {ORDERS: CURRENT})
    formats = ("text", "json", "github", "junit", "sarif", "markdown")
    return {fmt: check(base, "--against", "main", "--format", fmt) for fmt in formats}


def test_every_format_exits_1(outputs: dict[str, Result]) -> None:
    for fmt, result in outputs.items():
        assert result.code == 1, (fmt, result.output)


def test_text_groups_by_file(outputs: dict[str, Result]) -> None:
    text = outputs["text"].stdout
    lines = text.splitlines()
    assert lines[0] == SHOWN
    assert any(line.split()[:2] == ["6:3", "FIELD_SAME_TYPE"] for line in lines)
    assert "suppressed: nobody, read it, ok" in text
    assert lines[-1].startswith("2 breaking changes against git ref main (")
    assert lines[-1].endswith("(2 suppressed)")


def test_json_schema(outputs: dict[str, Result]) -> None:
    document = json.loads(outputs["json"].stdout)
    assert document["version"] == 1 and document["command"] == "check-breaking"
    assert document["summary"] == {"breaking": 2, "suppressed": 2}
    keys = {
        "rule",
        "message",
        "path",
        "line",
        "column",
        "import_path",
        "suppressed",
        "reason",
        "inferred_location",
    }
    assert all(set(f) == keys for f in document["findings"])
    suppressed = {f["rule"]: f["reason"] for f in document["findings"] if f["suppressed"]}
    assert suppressed == {
        "FIELD_SAME_NAME": "nobody, read it, ok",
        "FIELD_SAME_JSON_NAME": "nobody, read it, ok",
    }


def test_github_annotations(outputs: dict[str, Result]) -> None:
    lines = outputs["github"].stdout.splitlines()
    assert f"::error file={SHOWN},line=6,col=3,title=FIELD_SAME_TYPE::" in "\n".join(lines)
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(notices) == 2
    # `,` in the reason is data, not a property separator: only properties are escaped
    assert all("title=FIELD_SAME_" in n and "Suppressed: nobody, read it, ok" in n for n in notices)
    errors = [line for line in lines if line.startswith("::error ")]
    assert {e.split("title=")[1].split("::")[0] for e in errors} == {
        "FIELD_SAME_TYPE",
        "RPC_NO_DELETE",
    }


def test_junit_xml(outputs: dict[str, Result]) -> None:
    root = ElementTree.fromstring(outputs["junit"].stdout)
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "2", "2")
    failures = {
        case.find("failure").get("type") for case in suite if case.find("failure") is not None
    }  # type: ignore[union-attr]
    assert failures == {"FIELD_SAME_TYPE", "RPC_NO_DELETE"}
    skipped = [case for case in suite if case.find("skipped") is not None]
    assert all(case.get("classname") == SHOWN for case in skipped)
    assert "FIELD_SAME_TYPE proto/acme/orders/v1/orders.proto:6:3" in {c.get("name") for c in suite}


def test_sarif_is_valid_2_1_0(outputs: dict[str, Result]) -> None:
    document = json.loads(outputs["sarif"].stdout)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(document)
    [run] = document["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert "FIELD_SAME_TYPE" in rules
    by_rule = {r["ruleId"]: r for r in run["results"]}
    location = by_rule["FIELD_SAME_TYPE"]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == SHOWN
    assert location["region"] == {"startLine": 6, "startColumn": 3}
    assert rules[by_rule["FIELD_SAME_TYPE"]["ruleIndex"]] == "FIELD_SAME_TYPE"
    assert by_rule["FIELD_SAME_NAME"]["suppressions"] == [
        {"kind": "inSource", "justification": "nobody, read it, ok"}
    ]
    assert "suppressions" not in by_rule["RPC_NO_DELETE"]


def test_markdown_summary(outputs: dict[str, Result]) -> None:
    text = outputs["markdown"].stdout
    assert text.startswith("### :x: protoforge check-breaking: 2 breaking changes")
    assert f"| :x: | `{SHOWN}:6:3` | `FIELD_SAME_TYPE` |" in text
    assert "*(suppressed: nobody, read it, ok)*" in text
