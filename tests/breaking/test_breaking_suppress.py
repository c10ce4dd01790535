"""Inline suppressions: `// protoforge:allow-breaking RULE_ID -- reason` on the element or a
parent; a suppression without a reason (or with an unknown rule) is an input error."""

from __future__ import annotations

from pathlib import Path

from breaking_support import ORDERS_V1, change, check, check_json, git_project, isolated_cache  # noqa: F401

ORDERS = "acme/orders/v1/orders.proto"
SHOWN = f"proto/{ORDERS}"


def test_parent_suppressions_cover_children_and_do_not_fail(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    current = (
        ORDERS_V1.replace(
            "message Order {",
            "// protoforge:allow-breaking FIELD_SAME_TYPE -- v2 clients only, see ADR-7\n"
            "    message Order {",
        )
        .replace("int32 quantity = 2;", "int64 quantity = 2;")
        .replace("service OrderService {", "service OrderService { // protoforge:allow-breaking"
                 " RPC_NO_DELETE -- DeleteOrder was never deployed")
        .replace("rpc DeleteOrder(Order) returns (Order);", "")
    )  # fmt: skip
    change(base, {ORDERS: current})
    code, document = check_json(base, "--against", "main")
    assert code == 0
    assert document["summary"] == {"breaking": 0, "suppressed": 2}
    reasons = {f["rule"]: f["reason"] for f in document["findings"]}
    assert reasons == {
        "FIELD_SAME_TYPE": "v2 clients only, see ADR-7",
        "RPC_NO_DELETE": "DeleteOrder was never deployed",
    }


def test_suppression_of_another_rule_does_not_apply(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    current = ORDERS_V1.replace(
        "int32 quantity = 2;",
        "int64 quantity = 2; // protoforge:allow-breaking FIELD_SAME_NAME -- wrong rule",
    )
    change(base, {ORDERS: current})
    code, document = check_json(base, "--against", "main")
    assert code == 1
    [finding] = document["findings"]
    assert (finding["rule"], finding["suppressed"]) == ("FIELD_SAME_TYPE", False)


def test_category_suppression_on_package_statement_covers_the_file(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    current = ORDERS_V1.replace(
        "package acme.orders.v1;",
        "// protoforge:allow-breaking FILE -- pre-release package\n    package acme.orders.v1;",
    ).replace("int32 quantity = 2;", "int64 quantity = 2;")
    change(base, {ORDERS: current})
    code, document = check_json(base, "--against", "main")
    assert code == 0 and document["summary"] == {"breaking": 0, "suppressed": 1}


def test_suppression_without_reason_is_exit_2_with_location(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    current = ORDERS_V1.replace(
        "int32 quantity = 2;", "int64 quantity = 2; // protoforge:allow-breaking FIELD_SAME_TYPE"
    )
    change(base, {ORDERS: current})
    result = check(base, "--against", "main")
    assert result.code == 2
    assert (
        f"{SHOWN}:6:3: error: protoforge:allow-breaking FIELD_SAME_TYPE on "
        "acme.orders.v1.Order.quantity has no reason" in result.stderr
    )
    empty = current.replace("FIELD_SAME_TYPE", "FIELD_SAME_TYPE --  ")
    change(base, {ORDERS: empty})
    assert check(base, "--against", "main").code == 2


def test_unknown_rule_id_is_exit_2(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    current = ORDERS_V1.replace(
        "int32 quantity = 2;",
        "int64 quantity = 2; // protoforge:allow-breaking FIELD_SAME_TYP -- typo",
    )
    change(base, {ORDERS: current})
    result = check(base, "--against", "main")
    assert result.code == 2
    assert f"{SHOWN}:6:3: error:" in result.stderr and "'FIELD_SAME_TYP'" in result.stderr
