"""`gen --watch`'s in-memory session (watch/session.py) in process, without watchfiles: each
step hands the session the paths that an edit changed on disk, as watchfiles would report
them. The session must produce exactly the tree a clean, cache-less gen produces, while reading
only what changed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_incremental import (
    BASE_CONFIG,
    EDITS,
    contracts,
    fresh_copy,
    generate_tree,
    importers,
    run_gen,
)

from protoforge.config import load_config
from protoforge.errors import ProtoforgeError
from protoforge.output import cache
from protoforge.output.cache import CACHE_DIR
from protoforge.pipeline import generate
from protoforge.watch.session import Session

Stamps = dict[str, tuple[int, int, int]]


def stamps(project: Path) -> Stamps:
    """Every file of the project (but the cache) with its mtime, size and inode."""
    found: Stamps = {}
    for path in project.rglob("*"):
        if path.is_file() and CACHE_DIR not in path.parts:
            info = path.stat()
            found[str(path)] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return found


def changed_paths(before: Stamps, after: Stamps) -> set[str]:
    """What watchfiles would report: files added, deleted or rewritten."""
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def run_session(session: Session, project: Path, changed: set[str]) -> str:
    try:
        session.run(session.classify(changed))
    except ProtoforgeError as error:
        status = "\n".join(map(str, error.diagnostics)) or error.message
        return status.replace(str(project), "<project>")
    return "ok"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 4])
def test_a_session_equals_clean_gen_after_every_edit(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    project = tmp_path / "watched"
    generate_tree(project / "proto", 24, seed=seed)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    session = Session(project / "protoforge.toml")
    assert run_session(session, project, set()) == "ok"

    history = []
    for step in range(12):
        before = stamps(project)
        history.append(rng.choice(EDITS)(project, rng))
        watched = run_session(session, project, changed_paths(before, stamps(project)))
        clean = run_gen(fresh_copy(project, tmp_path / "clean"), use_cache=False)
        assert watched == clean[0], f"step {step} after {history}"
        if clean[0] != "ok":
            continue
        ours = run_gen(project, use_cache=True)[1]  # no-op if the session left it right
        differing = sorted(
            name for name in set(ours) | set(clean[1]) if ours.get(name) != clean[1].get(name)
        )
        assert not differing, f"step {step} after {history}: {differing[:5]}"


def test_one_edit_reads_only_the_saved_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first run, a saved contract is the only file hashed; nothing is discovered
    again, and only the contract and its importers are compiled and rendered."""
    project = tmp_path
    generate_tree(project / "proto", 40)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    session = Session(project / "protoforge.toml")
    assert session.run(session.classify(())) is not None

    import protoforge.pipeline

    def no_discovery(*args: object) -> None:
        raise AssertionError("the session discovered the contracts again")

    hashed: list[int] = []
    real_digest = cache.digest

    def counting_digest(data: bytes) -> str:
        hashed.append(len(data))
        return real_digest(data)

    monkeypatch.setattr(protoforge.pipeline, "inputs", no_discovery)
    monkeypatch.setattr(cache, "digest", counting_digest)
    edited = contracts(project)[5]
    edited.write_text(
        edited.read_text().replace("string id = 1;", "string id = 1;\n  bool x = 99;")
    )
    run = session.run(session.classify([str(edited)]))

    assert run is not None
    assert run.reason == edited.relative_to(project / "proto").as_posix()
    assert hashed == [edited.stat().st_size]
    regenerated = {path.name for path in run.plan.files if path.name.endswith("_pb2.py")}
    expected = {edited.stem + "_pb2.py"} | {p.stem + "_pb2.py" for p in importers(project, edited)}
    assert regenerated == expected
    assert {change.path.name for change in run.outcome.changes if change.is_change} == {
        edited.stem + "_pb2.py",
        edited.stem + "_pb2.pyi",
    }


def test_saving_the_same_content_or_a_foreign_file_runs_nothing(tmp_path: Path) -> None:
    project = tmp_path
    generate_tree(project / "proto", 6)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    session = Session(project / "protoforge.toml")
    assert session.run(session.classify(())) is not None
    contract = contracts(project)[2]
    contract.write_text(contract.read_text())  # saved unchanged: new stamp, same bytes
    notes = project / "proto" / "notes.txt"
    notes.write_text("not a contract")
    first = session.run(session.classify([str(contract), str(notes)]))
    assert first is not None and not any(c.is_change for c in first.outcome.changes)
    assert session.run(session.classify([str(notes)])) is None


def test_another_gen_meanwhile_makes_the_session_read_the_disk_again(tmp_path: Path) -> None:
    """A one-shot gen between two watch runs rewrites files and the cache state: the session
    notices by the state file's stamp and plans from the disk instead of from its memory, so
    the state it records is exact (the next gen finds nothing to compile)."""
    project = tmp_path
    generate_tree(project / "proto", 6)
    (project / "protoforge.toml").write_text(BASE_CONFIG)
    session = Session(project / "protoforge.toml")
    assert session.run(session.classify(())) is not None
    edited, other = contracts(project)[1], contracts(project)[4]
    edited.write_text(
        edited.read_text().replace("string id = 1;", "string id = 1;\n  bool x = 999;")
    )
    assert run_gen(project, use_cache=True)[0] == "ok"  # a gen in another terminal
    other.write_text(other.read_text().replace("string id = 1;", "string id = 1;\n  bool y = 998;"))
    assert session.run(session.classify([str(other)])) is not None  # it saw only `other`

    plan = generate(load_config(project / "protoforge.toml"))
    assert [path.name for path in plan.files if path.name.endswith("_pb2.py")] == []
    clean = run_gen(fresh_copy(project, tmp_path / "clean"), use_cache=False)[1]
    assert run_gen(project, use_cache=True)[1] == clean
