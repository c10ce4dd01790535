"""The write step: a failure halfway leaves the output tree exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_project, snapshot_tree

from protoforge.config import load_config
from protoforge.errors import ProtoforgeError
from protoforge.output import plan as plan_module
from protoforge.output.plan import FileChange, compare
from protoforge.pipeline import generate, write

PROTOS = {
    f"inv/v{index}/item.proto": f'syntax = "proto3";\npackage inv.v{index};\n'
    f"message Item {{ string sku = 1; }}\n"
    for index in range(1, 6)
}

JOBS_CONFIG = 'proto_roots = ["proto"]\nout = "gen"\njobs = {jobs}\n'


def test_failed_write_restores_the_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, PROTOS)
    config = load_config(project / "protoforge.toml")
    write(config, generate(config), compare(generate(config)))
    # Change one contract, add another: the next run updates and creates files.
    first = project / "proto" / "inv" / "v1" / "item.proto"
    first.write_text(first.read_text().replace("sku = 1;", "sku = 1; int32 count = 2;"))
    (project / "proto" / "inv" / "v9").mkdir()
    (project / "proto" / "inv" / "v9" / "item.proto").write_text(
        'syntax = "proto3";\npackage inv.v9;\nmessage Item { string sku = 1; }\n'
    )
    before = snapshot_tree(project / "gen")

    real_write = plan_module._stage
    calls = 0

    def failing_write(change: FileChange) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device", str(change.path))
        real_write(change)

    monkeypatch.setattr(plan_module, "_stage", failing_write)
    plan = generate(config)
    outcome = compare(plan)
    assert len([c for c in outcome.changes if c.is_change]) > 3
    with pytest.raises(ProtoforgeError) as caught:
        write(config, plan, outcome)
    assert "No space left on device" in caught.value.message
    assert snapshot_tree(project / "gen") == before
    assert not (project / "gen" / "inv" / "v9").exists()


def test_failed_parallel_write_restores_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several writers (forced here: the tree is small): one failing stops the others, and
    everything any of them wrote is undone."""
    project = make_project(tmp_path, PROTOS, config=JOBS_CONFIG.format(jobs=2))
    config = load_config(project / "protoforge.toml")
    monkeypatch.setattr(plan_module, "MIN_WRITES_PER_WORKER", 1)
    plan = generate(config)
    outcome = compare(plan)
    writes = [c for c in outcome.changes if c.is_change]
    assert len(writes) > 10
    doomed = writes[len(writes) * 3 // 4].path  # in the second writer's slice
    real_write = plan_module._stage
    written: list[Path] = []

    def failing_write(change: FileChange) -> None:
        if change.path == doomed:
            raise OSError(28, "No space left on device", str(change.path))
        real_write(change)
        written.append(change.path)

    monkeypatch.setattr(plan_module, "_stage", failing_write)
    with pytest.raises(ProtoforgeError) as caught:
        write(config, plan, outcome)
    assert "No space left on device" in caught.value.message
    assert written, "the writers had written files before the failure"
    assert not (project / "gen").exists()


def test_parallel_writers_write_the_same_tree_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trees = []
    for jobs, minimum in ((1, 512), (3, 1)):
        project = make_project(
            tmp_path / f"jobs{jobs}", PROTOS, config=JOBS_CONFIG.format(jobs=jobs)
        )
        monkeypatch.setattr(plan_module, "MIN_WRITES_PER_WORKER", minimum)
        config = load_config(project / "protoforge.toml")
        plan = generate(config)
        write(config, plan, compare(plan))
        trees.append(snapshot_tree(project / "gen"))
    assert trees[0] == trees[1]
