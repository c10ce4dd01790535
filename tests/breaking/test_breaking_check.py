"""`protoforge check-breaking` end to end: real git repositories, every baseline kind, buf's
categories through buf.yaml (v1 and v2), locations in the project's own paths, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from breaking_support import (  # noqa: F401
    ORDERS_V1,
    change,
    check,
    check_json,
    git,
    git_project,
    isolated_cache,
    rules,
)
from conftest import run_cli, write_files

ORDERS = "acme/orders/v1/orders.proto"
SHOWN = f"proto/{ORDERS}"

# quantity int32 -> int64 (wire compatible, not FILE compatible), note renamed to remark,
# DeleteOrder removed.
ORDERS_V2 = """
    syntax = "proto3";
    package acme.orders.v1;

    message Order {
      string id = 1;
      int64 quantity = 2;
      string remark = 3;
    }

    enum Status {
      STATUS_UNSPECIFIED = 0;
      STATUS_OPEN = 1;
    }

    service OrderService {
      rpc GetOrder(Order) returns (Order);
    }
"""


@pytest.fixture(scope="module")
def changed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = git_project(tmp_path_factory.mktemp("changed"), {ORDERS: ORDERS_V1})
    change(base, {ORDERS: ORDERS_V2})
    return base


def test_git_ref_reports_file_category_with_project_paths(changed_repo: Path) -> None:
    result = check(changed_repo, "--against", "main")
    assert result.code == 1, result.output
    assert f"{SHOWN}\n" in result.stdout
    assert "6:3" in result.stdout and "FIELD_SAME_TYPE" in result.stdout
    code, document = check_json(changed_repo, "--against", "v1.0.0")
    assert code == 1
    assert document["version"] == 1
    assert rules(document) == {
        "FIELD_SAME_TYPE",
        "FIELD_SAME_NAME",
        "FIELD_SAME_JSON_NAME",
        "RPC_NO_DELETE",
    }
    by_rule = {f["rule"]: f for f in document["findings"]}
    assert (by_rule["FIELD_SAME_TYPE"]["path"], by_rule["FIELD_SAME_TYPE"]["line"]) == (SHOWN, 6)
    assert by_rule["FIELD_SAME_TYPE"]["column"] == 3
    assert by_rule["FIELD_SAME_TYPE"]["import_path"] == ORDERS
    # a deleted RPC points at its service in the current contract
    assert by_rule["RPC_NO_DELETE"]["line"] == 15
    assert document["summary"] == {"breaking": 4, "suppressed": 0}


def test_unchanged_contracts_exit_0(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    result = check(base, "--against", "HEAD")
    assert result.code == 0, result.output
    assert "no breaking changes against git ref HEAD" in result.stdout


def test_additions_are_not_breaking_and_head_tilde_works(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    change(base, {ORDERS: ORDERS_V1.replace("string note = 3;", "string note = 3;\n  bool x = 4;")})
    git(base, "commit", "-qam", "add a field")
    assert check(base, "--against", "HEAD~1").code == 0


def test_deleted_file_points_at_its_former_path(tmp_path: Path) -> None:
    base = git_project(
        tmp_path,
        {
            ORDERS: ORDERS_V1,
            "acme/orders/v1/extra.proto": 'syntax = "proto3";\npackage acme.orders.v1;\n',
        },
    )
    (base / "proto/acme/orders/v1/extra.proto").unlink()
    code, document = check_json(base, "--against", "main")
    assert code == 1
    [finding] = document["findings"]
    assert finding["rule"] == "FILE_NO_DELETE"
    assert finding["path"] == "proto/acme/orders/v1/extra.proto"


def test_package_category_via_buf_yaml_v2(tmp_path: Path) -> None:
    """Moving a message to another file of the same package breaks FILE, not PACKAGE; deleting
    it breaks PACKAGE, reported at the package statement of a file of that package."""
    other = "acme/orders/v1/other.proto"
    base = git_project(
        tmp_path,
        {
            ORDERS: ORDERS_V1,
            other: 'syntax = "proto3";\npackage acme.orders.v1;\nmessage Moved {}\n',
        },
        {"buf.yaml": "version: v2\nbreaking:\n  use:\n    - PACKAGE\n"},
    )
    change(base, {other: 'syntax = "proto3";\npackage acme.orders.v1;\n'})
    change(base, {ORDERS: ORDERS_V1 + "\nmessage Moved {}\n"})
    assert check(base, "--against", "main").code == 0
    (base / "buf.yaml").write_text("version: v2\n", encoding="utf-8")  # default: FILE
    code, document = check_json(base, "--against", "main")
    assert code == 1 and rules(document) == {"MESSAGE_NO_DELETE"}
    (base / "buf.yaml").write_text("version: v2\nbreaking:\n  use: [PACKAGE]\n", encoding="utf-8")
    change(base, {ORDERS: ORDERS_V1})
    code, document = check_json(base, "--against", "main")
    assert code == 1
    [finding] = document["findings"]
    assert finding["rule"] == "PACKAGE_MESSAGE_NO_DELETE"
    # buf points at the file the message was deleted from, which still exists
    assert (finding["path"], finding["line"]) == ("proto/acme/orders/v1/other.proto", 1)


@pytest.mark.parametrize(
    ("buf_yaml", "expected"),
    [
        # WIRE_JSON: a rename breaks JSON, and so does int32 -> int64 (a string in JSON).
        (
            "version: v2\nbreaking:\n  use: [WIRE_JSON]\n",
            {"FIELD_SAME_NAME", "FIELD_SAME_JSON_NAME", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"},
        ),
        # WIRE: neither the rename nor int32 -> int64 breaks the wire format.
        ("version: v1\nbreaking:\n  use:\n    - WIRE\n", set()),
    ],
    ids=["wire_json-v2", "wire-v1"],
)
def test_wire_categories(tmp_path: Path, buf_yaml: str, expected: set[str]) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1}, {"buf.yaml": buf_yaml})
    change(
        base,
        {
            ORDERS: ORDERS_V1.replace("string note = 3;", "string remark = 3;").replace(
                "int32 quantity = 2;", "int64 quantity = 2;"
            )
        },
    )
    code, document = check_json(base, "--against", "main")
    assert rules(document) == expected, document
    assert code == (1 if expected else 0)


def test_wire_reports_incompatible_type(tmp_path: Path) -> None:
    base = git_project(
        tmp_path, {ORDERS: ORDERS_V1}, {"buf.yaml": "version: v2\nbreaking:\n  use: [WIRE]\n"}
    )
    change(base, {ORDERS: ORDERS_V1.replace("int32 quantity = 2;", "string quantity = 2;")})
    code, document = check_json(base, "--against", "main")
    assert code == 1 and rules(document) == {"FIELD_WIRE_COMPATIBLE_TYPE"}


def test_buf_yaml_v1_except_ignore_only_in_proto_root(tmp_path: Path) -> None:
    """A v1 buf.yaml in the proto root: paths are relative to it (= import paths)."""
    base = git_project(
        tmp_path,
        {ORDERS: ORDERS_V1},
        {
            "proto/buf.yaml": """
                version: v1
                breaking:
                  use:
                    - FILE
                  except:
                    - FIELD_SAME_NAME
                  ignore_only:
                    FIELD_SAME_TYPE:
                      - acme/orders
            """
        },
    )
    change(base, {ORDERS: ORDERS_V2})
    code, document = check_json(base, "--against", "main")
    assert code == 1
    assert rules(document) == {"FIELD_SAME_JSON_NAME", "RPC_NO_DELETE"}


def test_buf_yaml_v2_workspace_paths_and_module_breaking(tmp_path: Path) -> None:
    """v2 paths are relative to the workspace (`proto/acme/...`) and a module's own breaking
    section wins over the top-level one."""
    base = git_project(
        tmp_path,
        {ORDERS: ORDERS_V1},
        {
            "buf.yaml": """
                version: v2
                modules:
                  - path: proto
                    breaking:
                      use: [FILE]
                      ignore: [proto/acme/orders/v1/orders.proto]
                breaking:
                  use: [WIRE]
            """
        },
    )
    change(base, {ORDERS: ORDERS_V2})
    assert check(base, "--against", "main").code == 0
    (base / "buf.yaml").write_text(
        "version: v2\nmodules:\n  - path: proto\nbreaking:\n  use: [FILE]\n"
        "  except: [RPC_NO_DELETE]\n  ignore_unstable_packages: true\n",
        encoding="utf-8",
    )
    code, document = check_json(base, "--against", "main")
    assert code == 1
    assert rules(document) == {"FIELD_SAME_TYPE", "FIELD_SAME_NAME", "FIELD_SAME_JSON_NAME"}


def test_invalid_buf_yaml_is_exit_2_with_location(tmp_path: Path) -> None:
    base = git_project(
        tmp_path, {ORDERS: ORDERS_V1}, {"buf.yaml": "version: v2\nbreaking:\n  usee: [FILE]\n"}
    )
    result = check(base, "--against", "main")
    assert result.code == 2
    assert "buf.yaml:3:1: error: unknown key 'usee' in breaking" in result.stderr
    (base / "buf.yaml").write_text("version: v2\nbreaking:\n  use: [NOT_A_RULE]\n")
    result = check(base, "--against", "main")
    assert result.code == 2
    assert "NOT_A_RULE" in result.stderr and "Traceback" not in result.output


def test_directory_baselines(tmp_path: Path) -> None:
    project = git_project(tmp_path / "project", {ORDERS: ORDERS_V1})
    # a checkout of the project: proto_roots are found at the same relative paths
    checkout = tmp_path / "checkout"
    write_files(checkout, {f"proto/{ORDERS}": ORDERS_V1, "README": "old release\n"})
    # a bare tree of contracts: the directory itself is the root
    bare = tmp_path / "bare"
    write_files(bare, {ORDERS: ORDERS_V1})
    change(project, {ORDERS: ORDERS_V2})
    for baseline in (checkout, bare):
        code, document = check_json(project, "--against", str(baseline))
        assert code == 1 and "RPC_NO_DELETE" in rules(document)
        assert document["baseline"].startswith("directory ")
    missing = check(project, "--against", f"dir:{tmp_path / 'nope'}")
    assert missing.code == 2 and "baseline directory not found" in missing.stderr


def test_snapshot_baseline(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    written = run_cli("snapshot", "-o", "api/v1.binpb", cwd=base)
    assert written.code == 0, written.output
    snapshot = base / "api/v1.binpb"
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet.FromString(snapshot.read_bytes())
    [orders] = [f for f in files.file if f.name == ORDERS]
    assert orders.source_code_info.location  # source info is kept
    assert check(base, "--against", "api/v1.binpb").code == 0
    change(base, {ORDERS: ORDERS_V2})
    code, document = check_json(base, "--against", "api/v1.binpb")
    assert code == 1 and "FIELD_SAME_TYPE" in rules(document)
    assert document["baseline"] == "snapshot api/v1.binpb"
    (base / "junk.binpb").write_text("not a descriptor set")
    junk = check(base, "--against", "junk.binpb")
    assert junk.code == 2 and "is not a snapshot" in junk.stderr


def test_missing_ref_and_shallow_clone(tmp_path: Path) -> None:
    origin = git_project(tmp_path / "origin", {ORDERS: ORDERS_V1})
    change(origin, {ORDERS: ORDERS_V2})
    git(origin, "commit", "-qam", "v2")
    unknown = check(origin, "--against", "no-such-branch")
    assert unknown.code == 2
    assert "git ref 'no-such-branch' not found" in unknown.stderr
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)],
        check=True,
        capture_output=True,
    )
    result = check(clone, "--against", "HEAD~1")
    assert result.code == 2
    assert "shallow clone" in result.stderr and "no changes" in result.stderr
    assert "fetch-depth: 0" in result.stderr and "git fetch" in result.stderr
    tag = check(clone, "--against", "origin/release")
    assert tag.code == 2
    assert "git fetch --depth=1 origin release:refs/remotes/origin/release" in tag.stderr


def test_compile_errors_name_the_side(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1.replace("int32 quantity", "Missing quantity")})
    change(base, {ORDERS: ORDERS_V1})
    baseline_side = check(base, "--against", "main")
    assert baseline_side.code == 2
    assert "the baseline (git ref main" in baseline_side.stderr
    assert f"main:{SHOWN}:6:" in baseline_side.stderr  # REF:path:line, not a temp path
    git(base, "commit", "-qam", "fix")
    change(base, {ORDERS: ORDERS_V1.replace("string note = 3;", "string note = 3")})
    current_side = check(base, "--against", "main")
    assert current_side.code == 2
    assert "the current contracts do not compile" in current_side.stderr
    assert f'{SHOWN}:8:1: error: Expected ";"' in current_side.stderr


@pytest.mark.parametrize("full", [False, True], ids=["fast", "full"])
def test_empty_baselines_are_exit_2_never_a_pass(tmp_path: Path, full: bool) -> None:
    """A baseline without contracts would make the gate pass by accident."""
    base = git_project(tmp_path / "repo", {ORDERS: ORDERS_V1})
    flags = ("--full",) if full else ()
    (tmp_path / "empty.binpb").write_bytes(b"")
    (tmp_path / "empty-dir").mkdir()
    empty_tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree
    commit = git(base, "commit-tree", empty_tree, "-m", "before the contracts").strip()
    git(base, "branch", "no-contracts", commit)
    for against in (str(tmp_path / "empty.binpb"), str(tmp_path / "empty-dir"), "no-contracts"):
        result = check(base, "--against", against, *flags)
        assert result.code == 2, (against, result.output)
        assert "no contracts" in result.stderr or "not a snapshot" in result.stderr
        assert "no breaking changes" not in result.output


@pytest.mark.parametrize("full", [False, True], ids=["fast", "full"])
def test_a_moved_proto_root_is_read_with_the_config_at_the_ref(tmp_path: Path, full: bool) -> None:
    """`git mv proto api` + proto_roots = ["api"] in the same change that deletes an RPC and a
    field: the baseline is read at its own root, and both deletions are reported."""
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    git(base, "mv", "proto", "api")
    (base / "protoforge.toml").write_text('proto_roots = ["api"]\nout = "gen"\n')
    edited = ORDERS_V1.replace("  string note = 3;\n", "").replace(
        "  rpc DeleteOrder(Order) returns (Order);\n", ""
    )
    write_files(base, {f"api/{ORDERS}": edited})
    result = check(base, "--against", "main", "--format", "json", *(("--full",) if full else ()))
    assert result.code == 1, result.output
    assert {"RPC_NO_DELETE", "FIELD_NO_DELETE"} <= rules(json.loads(result.stdout))


def test_non_utf8_contracts_are_exit_2_with_position(tmp_path: Path) -> None:
    base = git_project(tmp_path, {ORDERS: ORDERS_V1})
    path = base / "proto" / ORDERS
    path.write_bytes(path.read_bytes().replace(b"message Order", b"// caf\xe9\nmessage Order"))
    for flags in ((), ("--full",)):
        result = check(base, "--against", "main", *flags)
        assert result.code == 2, result.output
        assert f"{SHOWN}:4:7: error: invalid UTF-8 byte 0xe9" in result.output


def test_command_line_forms_and_fallback_to_the_full_cli(changed_repo: Path) -> None:
    """The plain command line is parsed without typer; every spelling gives the same report, and
    anything else (help, a bad flag, a bad format) is typer's, as for every command."""
    outputs = {
        check(changed_repo, *args).stdout
        for args in (
            ("--against", "main", "--format", "json"),
            ("--against=main", "--format=json"),
            ("-f", "json", "--against", "main"),
        )
    }
    assert len(outputs) == 1 and '"rule": "RPC_NO_DELETE"' in outputs.pop()
    helped = check(changed_repo, "--help")
    assert helped.code == 0 and "--against" in helped.stdout
    assert check(changed_repo, "--against", "main", "--bogus").code == 2
    bad_format = check(changed_repo, "--against", "main", "--format", "yaml")
    assert bad_format.code == 2 and "yaml" in bad_format.stderr


def test_imports_only_installed_distributions_provide(tmp_path: Path) -> None:
    """`google/api/annotations.proto` with nothing vendored compiles against the installed
    googleapis-common-protos, as in gen (protoc first runs without them and fails, then again
    with them), on both sides; a compile error is still reported once, in the project's path."""
    annotated = ORDERS_V1.replace(
        "package acme.orders.v1;",
        'package acme.orders.v1;\n    import "google/api/annotations.proto";',
    ).replace(
        "rpc GetOrder(Order) returns (Order);",
        'rpc GetOrder(Order) returns (Order) { option (google.api.http) = { get: "/o" }; }',
    )
    assert "google.api.http" in annotated
    base = git_project(tmp_path, {ORDERS: annotated})
    change(base, {ORDERS: annotated.replace("rpc DeleteOrder(Order) returns (Order);", "")})
    code, document = check_json(base, "--against", "main")
    assert code == 1
    assert rules(document) == {"RPC_NO_DELETE"}
    change(base, {ORDERS: annotated.replace("string note = 3;", "string note = 3")})
    broken = check(base, "--against", "main")
    assert broken.code == 2
    assert broken.stderr.count(f'{SHOWN}:9:1: error: Expected ";"') == 1, broken.stderr


OUTSIDE = {
    "proto/a/v1/a.proto": (
        'syntax = "proto3";\npackage a.v1;\nimport "other/v1/b.proto";\n'
        "message A { other.v1.B b = 1; }\n"
    ),
    "vendor/other/v1/b.proto": 'syntax = "proto3";\npackage other.v1;\nmessage B {}\n',
}


def test_imports_outside_the_roots_get_gens_hint_on_both_sides(tmp_path: Path) -> None:
    """Harm: gen said where the imported file is and which root to add, check-breaking only
    said "is the imported file under one of them?" for the same contracts."""
    config = {"protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\n'}
    project = tmp_path / "project"
    write_files(project, {**OUTSIDE, **config})
    baseline = tmp_path / "baseline"
    write_files(baseline, {**OUTSIDE, **config})
    hint = (
        "hint: other/v1/b.proto exists at vendor/other/v1/b.proto, outside every proto root; "
        "add 'vendor' to proto_roots"
    )
    gen = run_cli("gen", cwd=project)
    assert gen.code == 2 and hint in gen.stderr, gen.output

    (baseline / "protoforge.toml").write_text('proto_roots = ["proto", "vendor"]\nout = "gen"\n')
    current_side = check(project, "--against", str(baseline))
    assert current_side.code == 2, current_side.output
    assert "the current contracts do not compile" in current_side.stderr
    assert hint in current_side.stderr

    (project / "protoforge.toml").write_text('proto_roots = ["proto", "vendor"]\nout = "gen"\n')
    (baseline / "protoforge.toml").write_text(config["protoforge.toml"])
    baseline_side = check(project, "--against", str(baseline))
    assert baseline_side.code == 2, baseline_side.output
    assert "the baseline (directory" in baseline_side.stderr
    found = baseline / "vendor" / "other" / "v1" / "b.proto"
    assert f"other/v1/b.proto exists at {found}, outside every proto root" in baseline_side.stderr
    assert "fix the baseline or choose another one with --against" in baseline_side.stderr


def test_a_git_baseline_with_an_import_outside_its_roots_names_them(tmp_path: Path) -> None:
    config = {"protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\n'}
    base = tmp_path / "repo"
    write_files(base, {**OUTSIDE, **config})
    git(base, "init", "-q")
    git(base, "add", ".")
    git(base, "commit", "-qm", "v1")
    (base / "protoforge.toml").write_text('proto_roots = ["proto", "vendor"]\nout = "gen"\n')
    result = check(base, "--against", "main")
    assert result.code == 2, result.output
    assert "the baseline (git ref main" in result.stderr
    assert "imports are resolved against proto_roots (main:proto/)" in result.stderr
    assert "protoforge-baseline-" not in result.output  # no temporary path
