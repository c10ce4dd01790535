"""`protoforge gen` end to end: a real package that imports from anywhere and type-checks, and a
write step that touches only what changed and never a file it did not generate."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, SHOP_PROTOS, make_project, mypy_strict, run_cli, snapshot_tree

from protoforge.config import load_config
from protoforge.errors import CompileError

CONTRACTS = FIXTURES / "contracts"
SMALL = SHOP_PROTOS


def full_project(base: Path, config: str = 'proto_roots = ["proto"]\nout = "gen"\n') -> Path:
    shutil.copytree(CONTRACTS, base / "proto")
    (base / "protoforge.toml").write_text(config)
    return base


def run_python(code: str, *, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


IMPORT_EVERYTHING = """
from {p}acme.orders.v1 import orders_pb2, orders_pb2_grpc
from {p}legacy.v1 import legacy_pb2
from {p}modern.v1 import editions_pb2
from {p}ext.v1 import options_pb2
order = orders_pb2.Order(id="o-1", labels={{"k": "v"}}, invoice_id="inv")
order.lines.add(sku="s", quantity=2).price.units = 3
order.created_at.GetCurrentTime()
assert orders_pb2.Order.FromString(order.SerializeToString()) == order
assert order.WhichOneof("payment") == "invoice_id"
request = orders_pb2.GetOrderRequest(order_id="x", **{{"from": True, "class": "c"}})
assert getattr(request, "from") is True and not request.HasField("import")
assert orders_pb2.Order.Status.Value("None") == 3
assert legacy_pb2.Account(id="a").display_name == "anonymous"
assert editions_pb2.Event(name="e").HasField("count") is False
assert options_pb2.Customer.DESCRIPTOR.full_name == "ext.v1.Customer"
assert hasattr(orders_pb2_grpc, "OrderServiceStub")
print(orders_pb2.Order.__module__)
"""


@pytest.mark.parametrize("package", [None, "acme_api"])
def test_output_is_an_importable_type_checked_package(tmp_path: Path, package: str | None) -> None:
    config = 'proto_roots = ["proto"]\nout = "gen"\n'
    if package:
        config += f'package = "{package}"\n'
    project = full_project(tmp_path / "project", config)
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output

    gen = project / "gen"
    root = gen / package if package else gen
    for directory in (root / "acme", root / "acme" / "orders" / "v1"):
        assert (directory / "__init__.py").is_file()
    assert (root / "py.typed").is_file() if package else (gen / "acme" / "py.typed").is_file()

    # A fresh interpreter in an unrelated directory, with only `out` on sys.path.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    prefix = f"{package}." if package else ""
    done = run_python(IMPORT_EVERYTHING.format(p=prefix), cwd=elsewhere, pythonpath=gen)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{prefix}acme.orders.v1.orders_pb2"

    checked = mypy_strict(gen)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_package_prefix_keeps_every_import_inside_the_package(tmp_path: Path) -> None:
    project = full_project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\npackage = "acme_api"\n')
    assert run_cli("gen", cwd=project).code == 0
    for path in (project / "gen").rglob("*.py*"):
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["from"], ["import"]) and len(words) > 1:
                module = words[1]
                top = module.split(".")[0]
                assert top not in {"acme", "legacy", "modern", "ext"}, f"{path}: {line}"


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    first = run_cli("gen", cwd=project)
    assert first.code == 0
    assert "created" in first.stdout
    mtimes = {p: p.stat().st_mtime_ns for p in (project / "gen").rglob("*") if p.is_file()}

    second = run_cli("gen", cwd=project)
    assert second.code == 0
    assert "0 created, 0 updated" in second.stdout
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_only_changed_files_are_rewritten(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    assert run_cli("gen", cwd=project).code == 0
    item = project / "gen" / "shop" / "v1" / "item_pb2.py"
    item_mtime = item.stat().st_mtime_ns
    cart = project / "proto" / "shop" / "v1" / "cart.proto"
    cart.write_text(cart.read_text().replace("items = 1;", "items = 1;\n  string note = 2;"))

    result = run_cli("gen", cwd=project)
    assert result.code == 0
    assert "updated" in result.stdout and "gen/shop/v1/cart_pb2.py" in result.stdout
    assert "item_pb2.py" not in result.stdout
    assert item.stat().st_mtime_ns == item_mtime


def test_deleted_contract_output_is_removed_but_user_files_are_not(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    assert run_cli("gen", cwd=project).code == 0
    user_file = project / "gen" / "shop" / "notes.py"
    user_file.write_text("# mine\n")
    user_data = project / "gen" / "shop" / "v1" / "data.json"
    user_data.write_text("{}")

    cart = project / "proto" / "shop" / "v1" / "cart.proto"
    cart.unlink()
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    assert "removed" in result.stdout
    remaining = set(snapshot_tree(project / "gen"))
    assert not any(name.startswith("shop/v1/cart_pb2") for name in remaining)
    assert "shop/v1/item_pb2.py" in remaining
    assert user_file.read_text() == "# mine\n"
    assert user_data.read_text() == "{}"


def test_renamed_package_prefix_removes_old_tree(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL, config='proto_roots = ["proto"]\nout = "gen"\n')
    assert run_cli("gen", cwd=project).code == 0
    (project / "protoforge.toml").write_text(
        'proto_roots = ["proto"]\nout = "gen"\npackage = "shop_api"\n'
    )
    assert run_cli("gen", cwd=project).code == 0
    # google/ holds the google.rpc stubs every tree with a runtime gets (at the top of `out`:
    # the namespace package mypy merges with the installed one)
    assert sorted(p.name for p in (project / "gen").iterdir()) == ["google", "shop_api"]
    assert not list((project / "gen").glob("shop/**/*"))  # the old tree is gone


def test_refuses_to_overwrite_a_hand_written_file(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    mine = project / "gen" / "shop" / "v1" / "item_pb2.py"
    mine.parent.mkdir(parents=True)
    mine.write_text("print('hand written')\n")
    before = snapshot_tree(project)

    result = run_cli("gen", cwd=project)
    assert result.code == 2
    assert "gen/shop/v1/item_pb2.py: error: exists and was not generated" in result.stderr
    assert snapshot_tree(project) == before


def test_users_own_package_init_is_kept(tmp_path: Path) -> None:
    project = make_project(
        tmp_path, SMALL, config='proto_roots = ["proto"]\nout = "gen"\npackage = "shop_api"\n'
    )
    init = project / "gen" / "shop_api" / "__init__.py"
    init.parent.mkdir(parents=True)
    init.write_text("VERSION = '1'\n")
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    assert init.read_text() == "VERSION = '1'\n"


def test_check_exits_1_when_stale_and_0_when_current(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    before = snapshot_tree(project)
    stale = run_cli("gen", "--check", cwd=project)
    assert stale.code == 1
    assert "would be created" in stale.stderr and "stale" in stale.stderr
    assert snapshot_tree(project) == before

    assert run_cli("gen", cwd=project).code == 0
    assert run_cli("gen", "--check", cwd=project).code == 0

    edited = project / "gen" / "shop" / "v1" / "cart_pb2.pyi"
    edited.write_text(edited.read_text() + "\n# hand edit\n")
    check = run_cli("gen", "--check", "--diff", cwd=project)
    assert check.code == 1
    assert "-# hand edit" in check.stderr
    assert edited.read_text().endswith("# hand edit\n")


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    before = snapshot_tree(project)
    result = run_cli("gen", "--dry-run", cwd=project)
    assert result.code == 0
    assert "would be created" in result.stderr
    assert snapshot_tree(project) == before


def test_config_found_from_a_subdirectory_and_in_pyproject(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    (project / "protoforge.toml").unlink()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n'
    )
    sub = project / "proto" / "shop"
    assert run_cli("gen", cwd=sub).code == 0
    assert (project / "gen" / "shop" / "v1" / "cart_pb2.py").is_file()


def test_config_flag_overrides_discovery(tmp_path: Path) -> None:
    project = make_project(tmp_path, SMALL)
    (project / "alt.toml").write_text('proto_roots = ["proto"]\nout = "alt_out"\n')
    other = tmp_path.parent / f"{tmp_path.name}-cwd"
    other.mkdir()
    assert run_cli("gen", "--config", project / "alt.toml", cwd=other).code == 0
    assert (project / "alt_out" / "shop" / "v1" / "item_pb2.py").is_file()


def test_exclude_removes_contracts(tmp_path: Path) -> None:
    protos = {**SMALL, "shop/internal/debug.proto": 'syntax = "proto3";\npackage shop.internal;\n'}
    project = make_project(
        tmp_path,
        protos,
        config='proto_roots = ["proto"]\nout = "gen"\nexclude = ["shop/internal/*"]\n',
    )
    assert run_cli("gen", cwd=project).code == 0
    assert not (project / "gen" / "shop" / "internal").exists()


def test_output_is_identical_across_hash_seeds(tmp_path: Path) -> None:
    trees = []
    for seed in ("0", "1", "12345"):
        project = full_project(
            tmp_path / seed, 'proto_roots = ["proto"]\nout = "gen"\npackage = "acme_api"\n'
        )
        result = run_cli("gen", "--quiet", cwd=project, env={"PYTHONHASHSEED": seed})
        assert result.code == 0, result.output
        trees.append(snapshot_tree(project / "gen"))
    assert trees[0] == trees[1] == trees[2]
    assert len(trees[0]) > 20


def test_no_machine_specific_text_in_output(tmp_path: Path) -> None:
    project = full_project(tmp_path / "some-unique-dirname")
    assert run_cli("gen", "--quiet", cwd=project).code == 0
    for name, content in snapshot_tree(project / "gen").items():
        text = content.decode()
        assert "some-unique-dirname" not in text, name
        assert str(Path.home()) not in text, name


def _chain_of_contracts(count: int) -> dict[str, str]:
    protos = {}
    for index in range(count):
        dep = f'import "bulk/v1/f{index - 1:03}.proto";\n' if index else ""
        field = f"  bulk.v1.M{index - 1:03} prev = 2;\n" if index else ""
        protos[f"bulk/v1/f{index:03}.proto"] = (
            f'syntax = "proto3";\npackage bulk.v1;\n{dep}'
            f"message M{index:03} {{\n  string id = 1;\n{field}}}\n"
        )
    return protos


def test_progress_reports_each_shard_once(tmp_path: Path) -> None:
    from protoforge.source.discover import discover
    from protoforge.source.protoc import compile_contracts

    project = make_project(
        tmp_path,
        _chain_of_contracts(140),
        config='proto_roots = ["proto"]\nout = "gen"\njobs = 2\n',
    )
    config = load_config(project / "protoforge.toml")
    calls: list[tuple[int, int]] = []
    result = compile_contracts(
        discover(config), config.proto_roots, jobs=2, progress=lambda *c: calls.append(c)
    )
    stubs = [name for name in result.outputs if name.endswith(".pyi")]
    assert len(stubs) == 2 * 140
    assert len(calls) == 2  # one call per shard
    assert sorted(calls)[-1] == (140, 140)
    assert 0 < sorted(calls)[0][0] < 140
    # Without --quiet and without a terminal: a plain line per shard that is not the last.
    result_cli = run_cli("gen", cwd=project)
    assert result_cli.code == 0, result_cli.output
    assert re.search(r"compiled \d+/140 contracts", result_cli.output)


def test_a_failed_generation_stops_the_stub_processes(tmp_path: Path) -> None:
    """When rendering fails (a broken template, say) the typed stubs still being generated are
    not needed: they are stopped rather than waited for."""
    from concurrent.futures import wait

    from protoforge.source.discover import discover
    from protoforge.source.protoc import compile_contracts

    project = make_project(
        tmp_path,
        _chain_of_contracts(140),
        config='proto_roots = ["proto"]\nout = "gen"\njobs = 2\n',
    )
    config = load_config(project / "protoforge.toml")
    result = compile_contracts(discover(config), config.proto_roots, jobs=2)
    result.cancel()
    finished, _ = wait(result.pending_stubs, timeout=60)
    assert len(finished) == len(result.pending_stubs) == 2
    for stubs in finished:
        assert stubs.cancelled() or isinstance(stubs.exception(), CompileError)


def test_sharded_compile_matches_single_process(tmp_path: Path) -> None:
    """Many contracts over several protoc processes give the same tree as one process."""
    protos = _chain_of_contracts(140)
    trees = []
    for jobs in (1, 3):
        project = make_project(
            tmp_path / str(jobs),
            protos,
            config=f'proto_roots = ["proto"]\nout = "gen"\njobs = {jobs}\n',
        )
        result = run_cli("gen", "--quiet", cwd=project)
        assert result.code == 0, result.output
        trees.append(snapshot_tree(project / "gen"))
    assert trees[0] == trees[1]
    # `_pb2.py`/`.pyi` per contract (no services: no `_pb2_grpc`) + 2 __init__ + py.typed
    assert len(trees[0]) == 140 * 2 + 3


def _services(count: int) -> dict[str, str]:
    return {
        f"svc/v1/s{i}.proto": (
            f'syntax = "proto3";\npackage svc.v1;\nmessage M{i} {{}}\n'
            f"service S{i} {{ rpc Call(M{i}) returns (M{i}); }}\n"
        )
        for i in range(count)
    }


def test_default_output_says_what_was_skipped_and_why(tmp_path: Path) -> None:
    """Harm: the summary said "4 skipped" and nothing else without -v: the user could not tell
    which files gen left alone or why. The first few paths and the reason are named in one line,
    the rest only counted (a big tree has thousands of scaffolds)."""
    project = make_project(
        tmp_path, _services(4), config='proto_roots = ["proto"]\nout = "gen"\npackage = "api"\n'
    )
    assert run_cli("gen", cwd=project).code == 0
    init = project / "gen" / "api" / "__init__.py"
    init.write_text("VERSION = '1'\n")  # the user's own package __init__, no header

    for args in (("gen",), ("gen", "--no-cache"), ("gen", "--check")):
        result = run_cli(*args, cwd=project)
        assert result.code == 0, result.output
        lines = [line for line in result.output.splitlines() if "skipped 4:" in line]
        assert len(lines) == 1, result.output
        assert "user-owned, exists already (written only if absent)" in lines[0]
        scaffolds = [f"svc_v1_s{i}_impl.py" for i in range(4)]
        assert all(name in lines[0] for name in scaffolds[:3]), lines[0]
        assert scaffolds[3] not in lines[0] and lines[0].endswith("and 1 more")
        assert "skipped 1: package __init__.py without protoforge's header" in result.output
        assert "gen/api/__init__.py" in result.output


def test_diff_headers_name_the_paths_of_the_status_lines(tmp_path: Path) -> None:
    """Harm: `--dry-run --diff` printed `a/shop/v1/cart_pb2.pyi` (relative to `out`) under
    `would be updated  gen/shop/v1/cart_pb2.pyi`: two names for one file, and the diff could
    not be applied from where the status lines are valid."""
    project = make_project(tmp_path, SMALL)
    assert run_cli("gen", cwd=project).code == 0
    edited = project / "gen" / "shop" / "v1" / "cart_pb2.pyi"
    edited.write_text(edited.read_text() + "# hand edit\n")
    result = run_cli("gen", "--dry-run", "--diff", cwd=project)
    assert result.code == 0, result.output
    assert re.search(r"would be updated +gen/shop/v1/cart_pb2\.pyi\n", result.stderr)
    assert "--- a/gen/shop/v1/cart_pb2.pyi\n+++ b/gen/shop/v1/cart_pb2.pyi\n" in result.stderr


def test_an_empty_proto_root_is_an_error_that_names_the_roots(tmp_path: Path) -> None:
    """Harm: a mistyped root made gen succeed silently (and remove the whole generated tree as
    stale). It exits 2, says which roots held nothing, and leaves the disk as it was."""
    project = make_project(tmp_path, SMALL)
    assert run_cli("gen", cwd=project).code == 0
    (project / "empty").mkdir()
    (project / "protoforge.toml").write_text('proto_roots = ["empty"]\nout = "gen"\n')
    before = snapshot_tree(project)
    for args in (("gen",), ("gen", "--check"), ("gen", "--dry-run")):
        result = run_cli(*args, cwd=project)
        assert result.code == 2, result.output
        assert "no contracts (*.proto files) found under proto_roots: empty" in result.stderr
        assert "Traceback" not in result.output
    assert snapshot_tree(project) == before


def test_excludes_that_remove_every_contract_say_so(tmp_path: Path) -> None:
    project = make_project(
        tmp_path, SMALL, config='proto_roots = ["proto"]\nout = "gen"\nexclude = ["shop/*"]\n'
    )
    result = run_cli("gen", "--check", cwd=project)
    assert result.code == 2, result.output
    assert "exclude ('shop/*') removes all 2 contract(s) found under proto" in result.stderr
    assert not (project / "gen").exists()
