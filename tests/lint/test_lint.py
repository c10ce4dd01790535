"""`protoforge lint` against the real `buf lint`: the same findings (rule, path, line, column,
message) on the same tree, under every buf.yaml version with `except` and `ignore`; suppressions
with a required reason; a contract that does not compile is exit 2 with path:line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

BUF = Path(sys.executable).parent / "buf"
TOML = '[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n'

# three kinds of violation: a field not lower_snake_case, an enum zero value without the
# _UNSPECIFIED suffix, and a package that does not match its directory
ORDERS = """syntax = "proto3";

package acme.orders.v1;

message Order {
  string orderId = 1;
  Status status = 2;
}

enum Status {
  STATUS_NEW = 0;
  STATUS_DONE = 1;
}
"""
MISPLACED = """syntax = "proto3";

package acme.billing.v1;

message Invoice {
  string id = 1;
}
"""
TREE = {"acme/orders/v1/orders.proto": ORDERS, "acme/ledger/v1/invoice.proto": MISPLACED}

Key = tuple[str, int, int, str, str]


def project(base: Path, buf_yaml: str | None, buf_yaml_in: str = ".") -> Path:
    (base / "pyproject.toml").write_text(TOML, encoding="utf-8")
    for name, text in TREE.items():
        path = base / "proto" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if buf_yaml is not None:
        (base / buf_yaml_in / "buf.yaml").write_text(buf_yaml, encoding="utf-8")
    return base


def buf_lint(directory: Path, *args: str, prefix: str = "") -> set[Key]:
    """What buf itself reports, paths made relative to the project (buf's are relative to the
    directory it runs in)."""
    done = subprocess.run(
        [str(BUF), "lint", "--error-format", "json", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 100), done.stderr
    items = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {
        (prefix + i["path"], i["start_line"], i["start_column"], i["type"], i["message"])
        for i in items
    }


def protoforge_lint(base: Path) -> tuple[int, dict[str, object], set[Key]]:
    result = run_cli("lint", "--format", "json", cwd=base)
    assert result.code in (0, 1), result.output
    document = json.loads(result.stdout)
    keys = {
        (f["path"], f["line"], f["column"], f["rule"], f["message"])
        for f in document["findings"]
        if not f["suppressed"]
    }
    return result.code, document, keys


CONFIGS = {
    "v2": ("version: v2\nmodules:\n  - path: proto\nlint:\n  use: [STANDARD]\n", ".", "."),
    "v2 except and ignore": (
        "version: v2\nmodules:\n  - path: proto\nlint:\n  use: [STANDARD]\n"
        "  except: [ENUM_ZERO_VALUE_SUFFIX]\n  ignore: [proto/acme/ledger]\n",
        ".",
        ".",
    ),
    "v1 in the proto root, except and ignore": (
        "version: v1\nlint:\n  use: [DEFAULT]\n  except: [FIELD_LOWER_SNAKE_CASE]\n"
        "  ignore:\n    - acme/ledger/v1/invoice.proto\n",
        "proto",
        "proto/",
    ),
    "v1beta1 with build roots": (
        "version: v1beta1\nbuild:\n  roots: [proto]\nlint:\n  use: [DEFAULT]\n"
        "  except: [PACKAGE_DIRECTORY_MATCH]\n",
        ".",
        ".",
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_findings_are_buf_lints(tmp_path: Path, name: str) -> None:
    buf_yaml, where, prefix = CONFIGS[name]
    base = project(tmp_path, buf_yaml, where)
    expected = buf_lint(base / where, prefix="" if prefix == "." else prefix)
    assert expected, "the tree must violate the rules"
    code, _, ours = protoforge_lint(base)
    assert ours == expected
    assert code == 1


def test_except_and_ignore_take_effect(tmp_path: Path) -> None:
    base = project(tmp_path, CONFIGS["v2 except and ignore"][0])
    _, _, ours = protoforge_lint(base)
    assert ours and not any(rule == "ENUM_ZERO_VALUE_SUFFIX" for *_, rule, _ in ours)
    assert not any("ledger" in path for path, *_ in ours)


def test_the_three_violations_are_found_with_the_users_paths(tmp_path: Path) -> None:
    base = project(tmp_path, CONFIGS["v2"][0])
    _, _, ours = protoforge_lint(base)
    placed = {(rule, path, line) for path, line, _, rule, _ in ours}
    assert ("FIELD_LOWER_SNAKE_CASE", "proto/acme/orders/v1/orders.proto", 6) in placed
    assert ("ENUM_ZERO_VALUE_SUFFIX", "proto/acme/orders/v1/orders.proto", 11) in placed
    assert ("PACKAGE_DIRECTORY_MATCH", "proto/acme/ledger/v1/invoice.proto", 3) in placed
    text = run_cli("lint", cwd=base)
    assert "proto/acme/orders/v1/orders.proto" in text.stdout.splitlines()
    assert text.stdout.splitlines()[-1].startswith(f"{len(ours)} lint findings")


def test_without_buf_yaml_buf_defaults_apply(tmp_path: Path) -> None:
    base = project(tmp_path, None)
    expected = buf_lint(base / "proto", "--config", '{"version": "v2"}', prefix="proto/")
    code, _, ours = protoforge_lint(base)
    assert (code, ours) == (1, expected)


def test_a_clean_project_exits_0(tmp_path: Path) -> None:
    init = run_cli("init", "demo", cwd=tmp_path)
    assert init.code == 0, init.output
    result = run_cli("lint", cwd=tmp_path / "demo")
    assert (result.code, result.stdout) == (0, "no lint findings\n"), result.output


def test_suppressions_with_a_reason_cover_the_element(tmp_path: Path) -> None:
    base = project(tmp_path, CONFIGS["v2"][0])
    orders = base / "proto/acme/orders/v1/orders.proto"
    orders.write_text(
        ORDERS.replace(
            "  string orderId = 1;",
            "  // protoforge:allow-lint FIELD_LOWER_SNAKE_CASE -- mirrors the legacy JSON name\n"
            "  string orderId = 1;",
        ).replace(
            "enum Status {",
            "// protoforge:allow-lint ENUM_ZERO_VALUE_SUFFIX -- published before the style guide\n"
            "enum Status {",
        ),
        encoding="utf-8",
    )
    code, document, remaining = protoforge_lint(base)
    assert code == 1  # the misplaced package is not suppressed
    assert {rule for *_, rule, _ in remaining} == {"PACKAGE_DIRECTORY_MATCH"}
    reasons = {f["rule"]: f["reason"] for f in document["findings"] if f["suppressed"]}  # type: ignore[attr-defined]
    assert reasons == {
        "FIELD_LOWER_SNAKE_CASE": "mirrors the legacy JSON name",
        "ENUM_ZERO_VALUE_SUFFIX": "published before the style guide",
    }


def test_a_category_on_the_package_statement_covers_the_file(tmp_path: Path) -> None:
    base = project(tmp_path, CONFIGS["v2"][0])
    invoice = base / "proto/acme/ledger/v1/invoice.proto"
    invoice.write_text(
        MISPLACED.replace(
            "package acme.billing.v1;",
            "// protoforge:allow-lint MINIMAL -- moved in the next major\npackage acme.billing.v1;",
        ),
        encoding="utf-8",
    )
    _, document, remaining = protoforge_lint(base)
    assert not any(path.endswith("invoice.proto") for path, *_ in remaining)
    assert document["summary"]["suppressed"] >= 1  # type: ignore[index]


def test_a_suppression_without_a_reason_is_exit_2_with_file_and_line(tmp_path: Path) -> None:
    base = project(tmp_path, CONFIGS["v2"][0])
    orders = base / "proto/acme/orders/v1/orders.proto"
    orders.write_text(
        ORDERS.replace(
            "  string orderId = 1;",
            "  // protoforge:allow-lint FIELD_LOWER_SNAKE_CASE\n  string orderId = 1;",
        ),
        encoding="utf-8",
    )
    result = run_cli("lint", cwd=base)
    assert result.code == 2, result.output
    assert "proto/acme/orders/v1/orders.proto:7:3: error: protoforge:allow-lint" in result.stderr
    assert "has no reason" in result.stderr


def test_a_contract_that_does_not_compile_is_exit_2_with_path_and_line(tmp_path: Path) -> None:
    base = project(tmp_path, CONFIGS["v2"][0])
    orders = base / "proto/acme/orders/v1/orders.proto"
    orders.write_text(ORDERS.replace("Status status = 2;", "Missing status = 2;"), encoding="utf-8")
    result = run_cli("lint", cwd=base)
    assert result.code == 2, result.output
    assert "proto/acme/orders/v1/orders.proto:7:3: error:" in result.stderr
    assert result.stdout == ""


def test_a_buf_yaml_buf_rejects_is_exit_2(tmp_path: Path) -> None:
    base = project(
        tmp_path, "version: v2\nmodules:\n  - path: proto\nlint:\n  use: [NO_SUCH_RULE]\n"
    )
    result = run_cli("lint", cwd=base)
    assert result.code == 2, result.output
    assert "buf.yaml" in result.stderr and "NO_SUCH_RULE" in result.stderr


def test_an_unsupported_buf_yaml_version_is_exit_2_with_its_line(tmp_path: Path) -> None:
    base = project(tmp_path, "# comment\nversion: v9\n")
    result = run_cli("lint", cwd=base)
    assert result.code == 2, result.output
    assert "buf.yaml:2:1: error: unsupported buf.yaml version" in result.stderr


def test_v1_categories_are_accepted_in_suppressions(tmp_path: Path) -> None:
    base = project(tmp_path, "version: v1\nlint:\n  use: [DEFAULT]\n", "proto")
    orders = base / "proto/acme/orders/v1/orders.proto"
    orders.write_text(
        ORDERS.replace(
            "package acme.orders.v1;",
            "// protoforge:allow-lint DEFAULT -- generated from a legacy schema\n"
            "package acme.orders.v1;",
        ),
        encoding="utf-8",
    )
    _, document, remaining = protoforge_lint(base)
    assert not any(path.endswith("orders.proto") for path, *_ in remaining)
    suppressed = [f for f in document["findings"] if f["suppressed"]]  # type: ignore[attr-defined]
    assert {f["path"] for f in suppressed} == {"proto/acme/orders/v1/orders.proto"}


def test_imports_from_dependency_roots_resolve_and_are_not_linted(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        TOML.replace('out = "gen"', 'dependency_roots = ["vendor"]\nout = "gen"'),
        encoding="utf-8",
    )
    vendored = tmp_path / "vendor/ext/v1/ext.proto"
    vendored.parent.mkdir(parents=True)
    vendored.write_text(
        'syntax = "proto3";\npackage ext.v1;\nmessage Ext { string Bad_id = 1; }\n',
        encoding="utf-8",
    )
    contract = tmp_path / "proto/a/v1/a.proto"
    contract.parent.mkdir(parents=True)
    contract.write_text(
        'syntax = "proto3";\npackage a.v1;\nimport "ext/v1/ext.proto";\n'
        "message A { ext.v1.Ext Ext = 1; }\n",
        encoding="utf-8",
    )
    code, _, ours = protoforge_lint(tmp_path)
    assert code == 1
    assert {(path, line, rule) for path, line, _, rule, _ in ours} == {
        ("proto/a/v1/a.proto", 4, "FIELD_LOWER_SNAKE_CASE")
    }


def test_contracts_skipped_by_exclude_are_not_linted(tmp_path: Path) -> None:
    """`exclude` skips a contract in every command: lint reports what buf reports with the
    excluded files left out, and an excluded file imported by another still resolves."""
    base = project(tmp_path, CONFIGS["v2"][0])
    (base / "pyproject.toml").write_text(TOML + 'exclude = ["acme/ledger/*"]\n', encoding="utf-8")
    orders = base / "proto/acme/orders/v1/orders.proto"
    orders.write_text(
        ORDERS.replace(
            "package acme.orders.v1;\n",
            'package acme.orders.v1;\n\nimport "acme/ledger/v1/invoice.proto";\n',
        ).replace(
            "  Status status = 2;\n",
            "  Status status = 2;\n  acme.billing.v1.Invoice invoice = 3;\n",
        ),
        encoding="utf-8",
    )
    expected = buf_lint(base, "--exclude-path", "proto/acme/ledger")
    assert expected and not any("ledger" in path for path, *_ in expected)
    code, _, ours = protoforge_lint(base)
    assert (code, ours) == (1, expected)


ANNOTATED = """syntax = "proto3";

package acme.v1;

import "google/api/annotations.proto";

message GetThingRequest {
  string id = 1;
}

message GetThingResponse {
  string id = 1;
}

service ThingService {
  rpc GetThing(GetThingRequest) returns (GetThingResponse) {
    option (google.api.http) = {get: "/v1/{id}"};
  }
}
"""


def test_an_import_only_an_installed_package_has_is_explained_and_vendoring_works(
    tmp_path: Path,
) -> None:
    """gen compiles `google/api/annotations.proto` against the installed
    googleapis-common-protos; buf lints sources and cannot see it. The error says so and what to
    do, and doing it (the package's own .proto files in a dependency root) makes lint work."""
    import google.api.http_pb2

    (tmp_path / "pyproject.toml").write_text(TOML, encoding="utf-8")
    contract = tmp_path / "proto/acme/v1/thing.proto"
    contract.parent.mkdir(parents=True)
    contract.write_text(ANNOTATED, encoding="utf-8")
    assert run_cli("gen", "-q", cwd=tmp_path).code == 0

    refused = run_cli("lint", cwd=tmp_path)
    assert refused.code == 2, refused.output
    assert "proto/acme/v1/thing.proto:5:1: error: imported file does not exist" in refused.stderr
    assert "google/api/annotations.proto (from googleapis-common-protos)" in refused.stderr
    assert "dependency_roots" in refused.stderr

    installed = Path(google.api.http_pb2.__file__).parent
    vendored = tmp_path / "vendor/google/api"
    vendored.mkdir(parents=True)
    for name in ("annotations.proto", "http.proto"):
        (vendored / name).write_bytes((installed / name).read_bytes())
    (tmp_path / "pyproject.toml").write_text(
        TOML.replace('out = "gen"', 'dependency_roots = ["vendor"]\nout = "gen"'),
        encoding="utf-8",
    )
    code, _, ours = protoforge_lint(tmp_path)
    assert (code, ours) == (0, set())
