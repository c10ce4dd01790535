"""Every `lint --format`, from one project with findings and a suppressed one: JSON parses with
the documented keys, SARIF validates against the OASIS 2.1.0 schema, JUnit parses as XML, the
GitHub annotations and the Markdown table name the files and lines."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from conftest import Result, run_cli

SARIF_SCHEMA = Path(__file__).parents[1] / "schemas" / "sarif-2.1.0.json"
SHOWN = "proto/acme/orders/v1/orders.proto"
ORDERS = """syntax = "proto3";

package acme.orders.v1;

message Order {
  string orderId = 1;
  // protoforge:allow-lint FIELD_LOWER_SNAKE_CASE -- the legacy JSON name
  string legacyName = 2;
}
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    base = tmp_path_factory.mktemp("lintformats")
    (base / "pyproject.toml").write_text(
        '[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n', encoding="utf-8"
    )
    (base / "buf.yaml").write_text(
        "version: v2\nmodules:\n  - path: proto\nlint:\n  use: [STANDARD]\n", encoding="utf-8"
    )
    path = base / SHOWN
    path.parent.mkdir(parents=True)
    path.write_text(ORDERS, encoding="utf-8")
    formats = ("text", "json", "github", "junit", "sarif", "markdown")
    return {fmt: run_cli("lint", "--format", fmt, cwd=base) for fmt in formats}


def test_every_format_exits_1(outputs: dict[str, Result]) -> None:
    for fmt, result in outputs.items():
        assert result.code == 1, (fmt, result.output)


def test_text(outputs: dict[str, Result]) -> None:
    lines = outputs["text"].stdout.splitlines()
    assert lines[0] == SHOWN
    assert lines[1].split()[:2] == ["6:10", "FIELD_LOWER_SNAKE_CASE"]
    assert "suppressed: the legacy JSON name" in outputs["text"].stdout
    assert lines[-1] == "1 lint finding (1 suppressed)"


def test_json(outputs: dict[str, Result]) -> None:
    document = json.loads(outputs["json"].stdout)
    assert (document["version"], document["command"]) == (1, "lint")
    assert document["summary"] == {"findings": 1, "suppressed": 1}
    first, second = document["findings"]
    assert (first["path"], first["line"], first["column"]) == (SHOWN, 6, 10)
    assert (first["rule"], first["suppressed"]) == ("FIELD_LOWER_SNAKE_CASE", False)
    assert (second["line"], second["suppressed"], second["reason"]) == (
        8,
        True,
        "the legacy JSON name",
    )


def test_github_annotations(outputs: dict[str, Result]) -> None:
    lines = outputs["github"].stdout.splitlines()
    assert lines[0].startswith(f"::error file={SHOWN},line=6,col=10,title=FIELD_LOWER_SNAKE_CASE::")
    assert lines[1].startswith(f"::notice file={SHOWN},line=8,")


def test_junit_parses(outputs: dict[str, Result]) -> None:
    root = ElementTree.fromstring(outputs["junit"].stdout)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "protoforge lint"
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")


def test_sarif_validates(outputs: dict[str, Result]) -> None:
    document = json.loads(outputs["sarif"].stdout)
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    results = document["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["FIELD_LOWER_SNAKE_CASE"] * 2
    location = results[0]["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": SHOWN},
        "region": {"startLine": 6, "startColumn": 10},
    }
    assert results[1]["suppressions"][0]["justification"] == "the legacy JSON name"


def test_markdown(outputs: dict[str, Result]) -> None:
    text = outputs["markdown"].stdout
    assert text.startswith("### :x: protoforge lint: 1 lint finding (1 suppressed)")
    assert f"| :x: | `{SHOWN}:6:10` | `FIELD_LOWER_SNAKE_CASE` |" in text
    assert "protoforge:allow-lint" in text
