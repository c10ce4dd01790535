"""`protoforge diff`: the API changelog between a baseline and the contracts, classified
major / minor / patch, and the recommended next version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from breaking_support import ORDERS_V1, change, git_project, isolated_cache  # noqa: F401
from conftest import run_cli

ORDERS = "acme/orders/v1/orders.proto"
SHOWN = f"proto/{ORDERS}"


def diff(base: Path, *args: str) -> dict[str, object]:
    result = run_cli("diff", "--against", "main", "--format", "json", *args, cwd=base)
    assert result.code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def entries(document: dict[str, object]) -> set[tuple[str, str, str, str]]:
    changes = document["changes"]
    assert isinstance(changes, list)
    return {(c["level"], c["action"], c["kind"], c["name"]) for c in changes}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return git_project(tmp_path_factory.mktemp("diff"), {ORDERS: ORDERS_V1})


def test_full_changelog_and_major_bump(repo: Path) -> None:
    current = (
        ORDERS_V1.replace("int32 quantity = 2;", "int64 quantity = 2 [deprecated = true];")
        .replace("string note = 3;", "string note = 3;\n      string remark = 4;")
        .replace("STATUS_OPEN = 1;", "STATUS_OPEN = 1;\n      STATUS_CLOSED = 2;")
        .replace("rpc DeleteOrder(Order) returns (Order);", "")
        .replace(
            "service OrderService {",
            "message Empty {}\n    service Audit { rpc Ping(Empty) returns (Empty); }\n"
            "    service OrderService {",
        )
    )
    change(repo, {ORDERS: current})
    document = diff(repo, "--semver", "1.4.2")
    assert document["version"] == 1 and document["level"] == "major"
    assert document["recommended_version"] == "2.0.0"
    assert entries(document) == {
        ("major", "changed", "field", "acme.orders.v1.Order.quantity"),  # type int32 -> int64
        ("patch", "changed", "field", "acme.orders.v1.Order.quantity"),  # deprecated option
        ("minor", "added", "field", "acme.orders.v1.Order.remark"),
        ("minor", "added", "enum_value", "acme.orders.v1.Status.STATUS_CLOSED"),
        ("major", "removed", "rpc", "acme.orders.v1.OrderService.DeleteOrder"),
        ("minor", "added", "message", "acme.orders.v1.Empty"),
        ("minor", "added", "service", "acme.orders.v1.Audit"),
        ("minor", "added", "rpc", "acme.orders.v1.Audit.Ping"),
    }
    changes = document["changes"]
    assert isinstance(changes, list)
    typed = next(c for c in changes if c["level"] == "major" and c["kind"] == "field")
    assert typed["detail"] == "type: int32 -> int64"
    assert (typed["path"], typed["line"]) == (SHOWN, 6)
    removed = next(c for c in changes if c["action"] == "removed")
    assert removed["path"] == SHOWN and removed["line"] > 0  # points at the service today


def test_additions_are_minor_and_options_patch(repo: Path) -> None:
    change(repo, {ORDERS: ORDERS_V1.replace("string note = 3;", "string note = 3;\n  bool x = 4;")})
    assert diff(repo, "--semver", "v0.3.9")["recommended_version"] == "v0.4.0"
    change(
        repo, {ORDERS: ORDERS_V1.replace("string id = 1;", "string id = 1 [deprecated = true];")}
    )
    document = diff(repo, "--semver", "1.2.3")
    assert entries(document) == {("patch", "changed", "field", "acme.orders.v1.Order.id")}
    assert document["recommended_version"] == "1.2.4"
    change(repo, {ORDERS: ORDERS_V1})
    nothing = diff(repo, "--semver", "1.2.3")
    assert nothing["changes"] == [] and nothing["recommended_version"] == "1.2.4"


def test_text_and_markdown(repo: Path) -> None:
    change(repo, {ORDERS: ORDERS_V1.replace("rpc DeleteOrder(Order) returns (Order);", "")})
    text = run_cli("diff", "--against", "main", "--semver", "3.1.0", cwd=repo)
    assert text.code == 0
    assert "major  removed  rpc        acme.orders.v1.OrderService.DeleteOrder" in text.stdout
    assert "recommended version: 3.1.0 -> 4.0.0 (major)" in text.stdout
    markdown = run_cli("diff", "--against", "main", "--format", "markdown", cwd=repo)
    assert "#### major (1)" in markdown.stdout
    assert "- removed rpc `acme.orders.v1.OrderService.DeleteOrder`" in markdown.stdout
    bad = run_cli("diff", "--against", "main", "--semver", "one", cwd=repo)
    assert bad.code == 2 and "--semver expects a version" in bad.stderr


def test_classification_follows_the_project_rules(tmp_path: Path) -> None:
    """Under WIRE_JSON a go_package change and a renamed-in-place enum value are not breaking for
    buf, so diff does not call them major (it used to say 2.0.0); under FILE they are."""
    base = git_project(
        tmp_path, {ORDERS: ORDERS_V1}, {"buf.yaml": "version: v1\nbreaking:\n  use: [WIRE]\n"}
    )
    edited = ORDERS_V1.replace("STATUS_OPEN = 1;", "STATUS_OPENED = 1;").replace(
        "package acme.orders.v1;", 'package acme.orders.v1;\n    option go_package = "x/y";'
    )
    change(base, {ORDERS: edited})
    assert run_cli("check-breaking", "--against", "main", cwd=base).code == 0
    document = diff(base, "--semver", "1.4.2")
    assert document["level"] != "major" and document["recommended_version"] == "1.5.0"
    assert ("minor", "renamed", "enum_value", "acme.orders.v1.Status.STATUS_OPENED") in entries(
        document
    )
    (base / "buf.yaml").write_text("version: v1\nbreaking:\n  use: [FILE]\n")
    assert run_cli("check-breaking", "--against", "main", cwd=base).code == 1
    document = diff(base, "--semver", "1.4.2")
    assert document["recommended_version"] == "2.0.0"
    changes = document["changes"]
    assert isinstance(changes, list)
    renamed = next(c for c in changes if c["action"] == "renamed")
    assert renamed["level"] == "major" and renamed["rules"] == ["ENUM_VALUE_SAME_NAME"]
    assert renamed["detail"] == "name: STATUS_OPEN -> STATUS_OPENED"
    option = next(c for c in changes if c["detail"].startswith("option go_package"))
    assert option["level"] == "major" and option["rules"] == ["FILE_SAME_GO_PACKAGE"]


def test_an_option_change_carries_the_rule_that_guards_it(tmp_path: Path) -> None:
    """The rule is matched to the option by buf's own catalogue (the purpose of
    FIELD_SAME_CPP_STRING_TYPE names `ctype`), so the finding is not listed on its own."""
    base = git_project(
        tmp_path, {ORDERS: ORDERS_V1}, {"buf.yaml": "version: v2\nbreaking:\n  use: [FILE]\n"}
    )
    change(base, {ORDERS: ORDERS_V1.replace("string note = 3;", "string note = 3 [ctype = CORD];")})
    document = diff(base)
    changes = document["changes"]
    assert isinstance(changes, list)
    assert [(c["level"], c["kind"], c["detail"], c["rules"]) for c in changes] == [
        ("major", "field", "option ctype: (unset) -> CORD", ["FIELD_SAME_CPP_STRING_TYPE"])
    ]


def test_semver_zero_major_convention(repo: Path) -> None:
    change(repo, {ORDERS: ORDERS_V1.replace("rpc DeleteOrder(Order) returns (Order);", "")})
    assert diff(repo, "--semver", "0.3.9")["recommended_version"] == "0.4.0"
    bumped = diff(repo, "--semver", "v0.3.9", "--breaking-bumps-major")
    assert bumped["recommended_version"] == "v1.0.0"
    assert diff(repo, "--semver", "1.3.9")["recommended_version"] == "2.0.0"
    change(repo, {ORDERS: ORDERS_V1})
