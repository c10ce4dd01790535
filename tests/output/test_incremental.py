"""The gen cache can never make output wrong: after every step of a random sequence of edits
(contracts added, changed, deleted, renamed, broken and fixed; config and templates changed;
generated files hand-edited or deleted), an incremental `gen` produces exactly the tree that a
clean, cache-less `gen` of the same inputs produces."""

from __future__ import annotations

import random
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, snapshot_tree

from protoforge.codegen.render import CLIENT_TEMPLATE, builtin_templates_dir
from protoforge.config import load_config
from protoforge.errors import ProtoforgeError
from protoforge.output.plan import Status, compare
from protoforge.pipeline import generate, write

sys.path.insert(0, str(REPO / "benchmarks"))
from synth import generate_tree

BASE_CONFIG = 'proto_roots = ["proto"]\nout = "gen"\nimpl_out = "impl"\n'


def run_gen(project: Path, *, use_cache: bool) -> tuple[str, dict[str, bytes]]:
    """Generate like the CLI does; return ("ok" | the error message, the output tree)."""
    try:
        config = load_config(project / "protoforge.toml")
        plan = generate(config, use_cache=use_cache)
        write(config, plan, compare(plan), use_cache=use_cache)
        status = "ok"
    except ProtoforgeError as error:
        status = "\n".join(map(str, error.diagnostics)) or error.message
        status = status.replace(str(project), "<project>")
    return status, snapshot_tree(project / "gen")


def contracts(project: Path) -> list[Path]:
    return sorted((project / "proto").rglob("*.proto"))


def importers(project: Path, target: Path) -> list[Path]:
    name = target.relative_to(project / "proto").as_posix()
    return [p for p in contracts(project) if f'import "{name}";' in p.read_text()]


def leaves(project: Path) -> list[Path]:
    return [p for p in contracts(project) if not importers(project, p)]


# --- edits -------------------------------------------------------------------------------------


def change_contract(project: Path, rng: random.Random) -> str:
    path = rng.choice(contracts(project))
    text = path.read_text()
    number = 500 + len(re.findall(r"extra\d+", text))
    text = text.replace(
        "  string id = 1;\n", f"  string id = 1;\n  int64 extra{number} = {number};\n", 1
    )
    path.write_text(text)
    return f"change {path.name}"


def add_contract(project: Path, rng: random.Random) -> str:
    existing = rng.choice(contracts(project))
    name = existing.relative_to(project / "proto").as_posix()
    package = re.search(r"^package ([\w.]+);", existing.read_text(), re.M)
    assert package
    message = re.search(r"^message (Entity\d+) \{", existing.read_text(), re.M)
    assert message
    index = len(contracts(project))
    new = project / "proto" / "added" / "v1" / f"added{index}.proto"
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_text(
        f'syntax = "proto3";\npackage added.v1;\nimport "{name}";\n'
        f"message Added{index} {{ {package[1]}.{message[1]} ref = 1; }}\n"
        f"// Added service {index}.\nservice Added{index}Service {{\n"
        f"  rpc Get(Added{index}) returns (stream Added{index});\n}}\n"
    )
    return f"add {new.name}"


def delete_leaf(project: Path, rng: random.Random) -> str:
    path = rng.choice(leaves(project))
    path.unlink()
    return f"delete {path.name}"


def rename_leaf(project: Path, rng: random.Random) -> str:
    path = rng.choice(leaves(project))
    target = path.with_name(f"renamed_{path.name}")
    path.rename(target)
    return f"rename {path.name}"


def toggle_package(project: Path, rng: random.Random) -> str:
    config = project / "protoforge.toml"
    text = config.read_text()
    config.write_text(
        text.replace('package = "api"\n', "")
        if 'package = "api"' in text
        else text + 'package = "api"\n'
    )
    return "toggle package prefix"


def change_timeout(project: Path, rng: random.Random) -> str:
    config = project / "protoforge.toml"
    text = re.sub(r"\n\[client\]\ntimeout = [\d.]+\n", "\n", config.read_text())
    config.write_text(text + f"\n[client]\ntimeout = {rng.randint(1, 9)}.5\n")
    return "change client.timeout"


def override_template(project: Path, rng: random.Random) -> str:
    templates = project / "templates"
    templates.mkdir(exist_ok=True)
    builtin = (builtin_templates_dir() / CLIENT_TEMPLATE).read_text()
    marker = rng.randint(0, 10**6)
    (templates / CLIENT_TEMPLATE).write_text(builtin + f"# custom template {marker}\n")
    config = project / "protoforge.toml"
    if "templates_dir" not in config.read_text():
        config.write_text('templates_dir = "templates"\n' + config.read_text())
    return "override client template"


def break_and_fix(project: Path, rng: random.Random) -> str:
    path = rng.choice(contracts(project))
    text = path.read_text()
    if "BROKEN" in text:
        path.write_text(text.replace("BROKEN\n", ""))
        return f"fix {path.name}"
    path.write_text(text + "BROKEN\n")
    return f"break {path.name}"


def hand_edit_output(project: Path, rng: random.Random) -> str:
    files = sorted((project / "gen").rglob("*_pb2.pyi"))
    if not files:
        return "nothing to hand-edit"
    victim = rng.choice(files)
    victim.write_text(victim.read_text() + "# hand edit\n")
    return f"hand-edit {victim.name}"


def delete_output(project: Path, rng: random.Random) -> str:
    files = sorted((project / "gen").rglob("*_pf_client.py"))
    if not files:
        return "nothing to delete"
    victim = rng.choice(files)
    victim.unlink()
    return f"delete output {victim.name}"


EDITS: list[Callable[[Path, random.Random], str]] = [
    change_contract,
    change_contract,
    add_contract,
    delete_leaf,
    rename_leaf,
    toggle_package,
    change_timeout,
    override_template,
    break_and_fix,
    hand_edit_output,
    delete_output,
]


def fresh_copy(project: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copytree(project / "proto", target / "proto")
    shutil.copy(project / "protoforge.toml", target / "protoforge.toml")
    if (project / "templates").is_dir():
        shutil.copytree(project / "templates", target / "templates")
    return target


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_gen_equals_clean_gen_after_every_edit(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    project = tmp_path / "incremental"
    generate_tree(project / "proto", 24, seed=seed)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    status, _ = run_gen(project, use_cache=True)
    assert status == "ok"

    history = []
    for step in range(12):
        history.append(rng.choice(EDITS)(project, rng))
        incremental = run_gen(project, use_cache=True)
        clean = run_gen(fresh_copy(project, tmp_path / "clean"), use_cache=False)
        assert incremental[0] == clean[0], f"after {history}"
        if clean[0] != "ok":
            assert "BROKEN" in "".join(p.read_text() for p in contracts(project))
            continue
        differing = sorted(
            name
            for name in set(incremental[1]) | set(clean[1])
            if incremental[1].get(name) != clean[1].get(name)
        )
        assert not differing, f"step {step} after {history}: {differing[:5]}"


def test_noop_run_compiles_nothing_and_reports_unchanged(tmp_path: Path) -> None:
    project = tmp_path
    generate_tree(project / "proto", 30)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    assert run_gen(project, use_cache=True)[0] == "ok"

    config = load_config(project / "protoforge.toml")
    plan = generate(config)
    assert not plan.records or plan.kept
    assert all(not path.name.endswith("_pb2.py") for path in plan.files), "protoc ran"
    outcome = compare(plan)
    assert {change.status for change in outcome.changes} <= {Status.UNCHANGED, Status.SKIPPED}


def test_one_edit_regenerates_only_the_contract_and_its_importers(tmp_path: Path) -> None:
    project = tmp_path
    generate_tree(project / "proto", 40)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    assert run_gen(project, use_cache=True)[0] == "ok"
    edited = contracts(project)[5]
    edited.write_text(
        edited.read_text().replace("string id = 1;", "string id = 1;\n  bool x = 99;")
    )

    plan = generate(load_config(project / "protoforge.toml"))
    regenerated = {path.name for path in plan.files if path.name.endswith("_pb2.py")}
    expected = {edited.stem + "_pb2.py"} | {p.stem + "_pb2.py" for p in importers(project, edited)}
    assert regenerated == expected


def test_same_size_edit_with_restored_mtime_is_still_seen(tmp_path: Path) -> None:
    """Contracts are trusted by their stamp instead of being re-read; an edit that keeps the size
    and puts the old mtime back (cp -p, tar, rsync -t) still changes the ctime, so it is seen."""
    import json
    import os
    import time

    project = tmp_path
    generate_tree(project / "proto", 6)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    assert run_gen(project, use_cache=True)[0] == "ok"
    # Make the saved state look old enough that no contract counts as racily clean.
    state_file = project / ".protoforge-cache" / "gen-state.json"
    state = json.loads(state_file.read_text())
    state["saved_at_ns"] = time.time_ns() + 3600 * 10**9
    state_file.write_text(json.dumps(state))

    contract = contracts(project)[0]
    before = contract.stat()
    text = contract.read_text()
    contract.write_text(text.replace("string id = 1;", "string ix = 1;"))  # same size
    os.utime(contract, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert contract.stat().st_size == before.st_size
    assert contract.stat().st_mtime_ns == before.st_mtime_ns

    status, tree = run_gen(project, use_cache=True)
    assert status == "ok"
    module = contract.stem + "_pb2.pyi"
    regenerated = next(content for name, content in tree.items() if name.endswith(module))
    assert b"ix: _builtins.str" in regenerated


SERVICE = "service Svc {{ rpc Call({m}) returns ({m}); }}\n"


def _contract(message: str, *, service: bool) -> str:
    text = f'syntax = "proto3";\npackage p.v1;\nmessage {message} {{ string id = 1; }}\n'
    return text + (SERVICE.format(m=message) if service else "")


def grpc_modules(tree: dict[str, bytes]) -> set[str]:
    return {name for name in tree if "_pb2_grpc" in name}


def test_a_contract_gains_and_loses_its_grpc_module_with_its_service(tmp_path: Path) -> None:
    """Harm: every contract got a `_pb2_grpc` pair that holds nothing but `import grpc`. Only
    contracts that declare a service get one, and an incremental gen adds or removes it when
    the service appears or goes, exactly as a clean gen would."""
    project = tmp_path / "project"
    (project / "proto" / "p" / "v1").mkdir(parents=True)
    a, b = project / "proto/p/v1/a.proto", project / "proto/p/v1/b.proto"
    a.write_text(_contract("A", service=True))
    b.write_text(_contract("B", service=False))
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    status, tree = run_gen(project, use_cache=True)
    assert status == "ok"
    assert grpc_modules(tree) == {"p/v1/a_pb2_grpc.py", "p/v1/a_pb2_grpc.pyi"}

    b.write_text(_contract("B", service=True))
    a.write_text(_contract("A", service=False))
    status, tree = run_gen(project, use_cache=True)
    assert status == "ok"
    assert grpc_modules(tree) == {"p/v1/b_pb2_grpc.py", "p/v1/b_pb2_grpc.pyi"}
    assert tree == run_gen(fresh_copy(project, tmp_path / "clean"), use_cache=False)[1]


@pytest.mark.parametrize("use_cache", [True, False])
def test_grpc_modules_of_service_less_contracts_from_an_older_gen_are_removed(
    tmp_path: Path, use_cache: bool
) -> None:
    """An older protoforge wrote `_pb2_grpc` modules for every contract, with the header: the
    first gen of this version (its cache's global key differs, or no cache) removes them."""
    import json

    from protoforge.output.ownership import header

    project = tmp_path
    (project / "proto" / "p" / "v1").mkdir(parents=True)
    (project / "proto/p/v1/b.proto").write_text(_contract("B", service=False))
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    assert run_gen(project, use_cache=True)[0] == "ok"
    for suffix in (".py", ".pyi"):
        old = project / "gen/p/v1" / f"b_pb2_grpc{suffix}"
        old.write_text(header("p/v1/b.proto") + "import grpc\n")
    state_file = project / ".protoforge-cache" / "gen-state.json"
    state = json.loads(state_file.read_text())
    state["global_key"] = "written by an older protoforge"
    state_file.write_text(json.dumps(state))

    status, tree = run_gen(project, use_cache=use_cache)
    assert status == "ok"
    assert grpc_modules(tree) == set()
