"""`import "buf/validate/validate.proto"` with nothing vendored: compiled against the descriptor
the protovalidate wheel carries, its google-protobuf module written into `out` (also with a
package prefix); without protovalidate, a hint that names it. And which messages carry rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

pytest.importorskip("protovalidate")

SHOP = FIXTURES / "validate" / "proto"


def generate(project: Path, **table: object) -> Path:
    from protoforge.config import config_from_mapping
    from protoforge.output.plan import apply, compare
    from protoforge.pipeline import generate as generate_plan

    shutil.copytree(SHOP, project / "proto")
    config = config_from_mapping({"proto_roots": ["proto"], "out": "gen", **table}, project)
    plan = generate_plan(config)
    apply(compare(plan), plan.managed_dirs)
    return config.out


def test_the_import_resolves_and_the_module_lands_at_its_import_path(tmp_path: Path) -> None:
    out = generate(tmp_path, package="shop_api")
    module = out / "buf" / "validate" / "validate_pb2.py"
    assert module.is_file() and (out / "buf" / "validate" / "validate_pb2.pyi").is_file()
    assert not (out / "shop_api" / "buf").exists()  # not under the prefix: imports name buf.*
    shop = (out / "shop_api" / "shop" / "v1" / "shop_pb2.py").read_text()
    assert "from buf.validate import validate_pb2 as" in shop
    assert (out / "shop_api" / "_protoforge_validate.py").is_file()
    # the generated package imports and registers buf/validate/validate.proto itself
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shop_api.shop.v1 import shop_pb2; "
            "from buf.validate import validate_pb2; "
            "print(validate_pb2.DESCRIPTOR.name, shop_pb2.DESCRIPTOR.dependencies[0].name)",
        ],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.split() == ["buf/validate/validate.proto"] * 2, done.stderr


def test_without_protovalidate_the_hint_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from protoforge.errors import CompileError
    from protoforge.source import provided

    monkeypatch.setattr(provided, "FOREIGN_DESCRIPTORS", {})  # as if it were not installed
    provided.provider.cache_clear()
    try:
        with pytest.raises(CompileError) as caught:
            generate(tmp_path)
    finally:
        provided.provider.cache_clear()
    assert caught.value.hint is not None
    assert "pip install protovalidate" in caught.value.hint
    assert not (tmp_path / "gen").exists()  # nothing written


def test_rules_are_found_through_message_fields_maps_and_cycles() -> None:
    from google.protobuf import descriptor_pb2

    from protoforge.codegen.rules import messages_with_rules

    rule = descriptor_pb2.FieldOptions()
    # (buf.validate.field) = {string: {min_len: 1}}: field 1159, length-delimited
    rule.MergeFromString(b"\xba\x48\x04\x72\x02\x10\x01")
    file = descriptor_pb2.FileDescriptorProto(name="t.proto", package="t")
    leaf = file.message_type.add(name="Leaf")
    leaf.field.add(name="s", number=1, type=9).options.CopyFrom(rule)
    node = file.message_type.add(name="Node")  # Node -> Node (a cycle) and -> Leaf via a map
    node.field.add(name="next", number=1, type=11, type_name=".t.Node")
    entry = node.nested_type.add(name="LeavesEntry")
    entry.field.add(name="value", number=2, type=11, type_name=".t.Leaf")
    node.field.add(name="leaves", number=2, type=11, type_name=".t.Node.LeavesEntry", label=3)
    loop = file.message_type.add(name="Loop")  # a cycle without rules
    loop.field.add(name="again", number=1, type=11, type_name=".t.Loop")
    found = messages_with_rules([file])
    assert found == {".t.Leaf", ".t.Node", ".t.Node.LeavesEntry"}
