"""Other-language targets: extra generators run in the same protoc pass, with the same roots,
the same incremental rules and the same error handling as the Python output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import REPO, SHOP_PROTOS, make_project, run_cli, snapshot_tree

PROTOS = SHOP_PROTOS

# A real protoc plugin (the CodeGeneratorRequest/Response protocol), written for the test: one
# `<file>.summary.txt` per contract listing its messages, prefixed by the plugin's options.
PLUGIN = """#!{python}
import sys
from google.protobuf.compiler import plugin_pb2

request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
response = plugin_pb2.CodeGeneratorResponse()
response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
for proto in request.proto_file:
    if proto.name in request.file_to_generate:
        out = response.file.add()
        out.name = proto.name.replace(".proto", ".summary.txt")
        names = " ".join(m.name for m in proto.message_type)
        out.content = f"[{{request.parameter}}] {{proto.package}}: {{names}}\\n"
sys.stdout.buffer.write(response.SerializeToString())
"""


def plugin(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "protoc-gen-summary"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PLUGIN.format(python=sys.executable))
    path.chmod(0o755)
    return path


def config(extra: str) -> str:
    return 'proto_roots = ["proto"]\nout = "gen"\n' + extra


def test_plugin_target_runs_with_options_and_follows_edits(tmp_path: Path) -> None:
    summary = plugin(tmp_path / "tools")
    project = make_project(
        tmp_path / "p",
        PROTOS,
        config=config(
            f'\n[targets.summary]\nout = "docs/api"\nplugin = "{summary}"\n'
            'options = ["flavour=plain", "x=1"]\n'
        ),
    )
    assert run_cli("gen", cwd=project).code == 0
    item = project / "docs" / "api" / "shop" / "v1" / "item.summary.txt"
    assert item.read_text() == "[flavour=plain,x=1] shop.v1: Item\n"
    mine = project / "docs" / "api" / "README.md"
    mine.write_text("hand-written\n")

    # An edit regenerates the target; a deleted contract's target file goes; mine stays.
    cart = project / "proto" / "shop" / "v1" / "cart.proto"
    cart.write_text(cart.read_text().replace("message Cart", "message Basket {}\nmessage Cart"))
    assert run_cli("gen", cwd=project).code == 0
    cart_summary = project / "docs" / "api" / "shop" / "v1" / "cart.summary.txt"
    assert cart_summary.read_text() == "[flavour=plain,x=1] shop.v1: Basket Cart\n"

    cart.unlink()
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    assert not cart_summary.exists()
    assert item.exists()
    assert mine.read_text() == "hand-written\n"
    # Nothing changed: the target's files are kept as they are, not regenerated.
    before = {p: p.stat().st_mtime_ns for p in (project / "docs").rglob("*")}
    assert "0 created, 0 updated" in run_cli("gen", cwd=project).stdout
    assert {p: p.stat().st_mtime_ns for p in (project / "docs").rglob("*")} == before


def test_plugin_found_on_path_by_target_name(tmp_path: Path) -> None:
    summary = plugin(tmp_path / "tools")
    project = make_project(
        tmp_path / "p", PROTOS, config=config('\n[targets.summary]\nout = "docs"\n')
    )
    env = {"PATH": f"{summary.parent}{os.pathsep}{os.environ['PATH']}"}
    assert run_cli("gen", cwd=project, env=env).code == 0
    assert (project / "docs" / "shop" / "v1" / "cart.summary.txt").is_file()


def test_builtin_generator_target(tmp_path: Path) -> None:
    project = make_project(
        tmp_path, PROTOS, config=config('\n[targets.stubs]\ngenerator = "pyi"\nout = "stubs"\n')
    )
    assert run_cli("gen", cwd=project).code == 0
    stub = (project / "stubs" / "shop" / "v1" / "cart_pb2.pyi").read_text()
    assert "class Cart(" in stub


def test_missing_plugin_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, PROTOS, config=config('\n[targets.nosuch]\nout = "web"\n'))
    result = run_cli("gen", cwd=project, env={"PATH": "/nonexistent"})
    assert result.code == 2
    assert "target 'nosuch': plugin protoc-gen-nosuch not found" in result.stderr
    assert "Traceback" not in result.output
    assert not (project / "gen").exists() and not (project / "web").exists()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[targets.cpp]\ngenerator = "cpp"\nout = "c"\n', "'cpp' is not built into this protoc"),
        ('[targets.x]\ngenerator = "pyi"\nplugin = "p"\nout = "c"\n', "set either `generator`"),
        ("[targets.x]\nplugin = 'p'\n", "targets.x: missing required key 'out'"),
        ('[targets.x]\nout = "gen"\n', "must be a directory of its own"),
        ('[targets.x]\nout = "c"\ncolour = 1\n', "unknown key 'colour' in targets.x"),
    ],
)
def test_invalid_target_config(tmp_path: Path, table: str, message: str) -> None:
    project = make_project(tmp_path, PROTOS, config=config("\n" + table))
    result = run_cli("gen", cwd=project)
    assert result.code == 2
    assert message in result.stderr
    assert "protoforge.toml:" in result.stderr


NODE_BIN = REPO / "tests" / "interop" / "node" / "node_modules" / ".bin"


def test_typescript_target_with_protoc_gen_es(tmp_path: Path) -> None:
    """A real other-language plugin from npm: protoc-gen-es (TypeScript)."""
    es = NODE_BIN / "protoc-gen-es"
    if not es.exists():
        if os.environ.get("PROTOFORGE_REQUIRE_INTEROP") == "1":
            pytest.fail("protoc-gen-es is missing: run `npm ci --prefix tests/interop/node`")
        pytest.skip("protoc-gen-es not installed (npm ci --prefix tests/interop/node)")
    project = make_project(
        tmp_path,
        PROTOS,
        config=config(
            f'\n[targets.es]\nout = "web/src/gen"\nplugin = "{es}"\noptions = ["target=ts"]\n'
        ),
    )
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    tree = snapshot_tree(project / "web" / "src" / "gen")
    assert sorted(tree) == [".protoforge-manifest", "shop/v1/cart_pb.ts", "shop/v1/item_pb.ts"]
    cart = tree["shop/v1/cart_pb.ts"].decode()
    assert 'export type Cart = Message<"shop.v1.Cart">' in cart
    assert 'from "./item_pb"' in cart


def test_init_adds_a_target_on_request(tmp_path: Path) -> None:
    result = run_cli("init", "shop", "--target", "pyi", cwd=tmp_path)
    assert result.code == 0, result.output
    project = tmp_path / "shop"
    assert (
        '[tool.protoforge.targets.pyi]\nout = "gen_pyi"\n'
        in (project / "pyproject.toml").read_text()
    )
    assert run_cli("gen", cwd=project).code == 0
    assert sorted(p.name for p in (project / "gen_pyi").rglob("*.pyi")) == ["shop_service_pb2.pyi"]


def test_init_rejects_a_bad_target_name(tmp_path: Path) -> None:
    result = run_cli("init", "shop", "--target", "type-script", cwd=tmp_path)
    assert result.code == 2
    assert "NAME must be letters, digits and _" in result.stderr
    assert not (tmp_path / "shop").exists()
