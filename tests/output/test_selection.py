"""Cache selection on its own: which contracts a run regenerates and what it keeps, from a
state built here (no protoc)."""

from __future__ import annotations

from pathlib import Path

import pytest

from protoforge.config import Config, Target
from protoforge.errors import ProtoforgeError
from protoforge.output import incremental
from protoforge.output.cache import ContractRecord, FileRecord, GenState
from protoforge.output.plan import Outcome, Owner
from protoforge.source.discover import ContractFile


def _state(
    tmp_path: Path,
    imports: dict[str, tuple[str, ...]],
    public: dict[str, tuple[str, ...]] | None = None,
) -> GenState:
    """A state in which each contract `x.proto` produced `out/x_pb2.py` (on disk, as recorded)."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    contracts: dict[str, ContractRecord] = {}
    files: dict[str, FileRecord] = {}
    for name, deps in imports.items():
        output = out / name.replace(".proto", "_pb2.py")
        output.write_text(f"# {name}\n")
        files[str(output)] = FileRecord.of(output)
        contracts[name] = ContractRecord(
            digest=f"digest-of-{name}",
            imports=deps,
            public_imports=(public or {}).get(name, ()),
            outputs=(str(output),),
        )
    return GenState("key", contracts, files)


def _digests(state: GenState, **changed: str) -> dict[str, str]:
    digests = {name: record.digest for name, record in state.contracts.items()}
    for name, value in changed.items():
        digests[f"{name}.proto"] = value
    return digests


def test_nothing_changed_regenerates_nothing(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": (), "b.proto": ("a.proto",)})
    assert incremental.to_regenerate(state, _digests(state)) == set()


def test_a_change_regenerates_the_contract_and_its_direct_importers(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": (), "b.proto": ("a.proto",), "c.proto": ("b.proto",)})
    assert incremental.to_regenerate(state, _digests(state, a="new")) == {"a.proto", "b.proto"}


def test_import_public_passes_a_change_on(tmp_path: Path) -> None:
    """c imports b, which re-exports a: c's output names a's types, so it regenerates too."""
    state = _state(
        tmp_path,
        {"a.proto": (), "b.proto": ("a.proto",), "c.proto": ("b.proto",)},
        public={"b.proto": ("a.proto",)},
    )
    assert incremental.to_regenerate(state, _digests(state, a="new")) == {
        "a.proto",
        "b.proto",
        "c.proto",
    }


def test_deleted_and_added_contracts(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": (), "b.proto": ("a.proto",), "c.proto": ()})
    digests = _digests(state)
    del digests["a.proto"]
    digests["d.proto"] = "fresh"
    assert incremental.to_regenerate(state, digests) == {"b.proto", "d.proto"}


def test_an_output_edited_on_disk_regenerates_its_contract(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": (), "b.proto": ()})
    (tmp_path / "out" / "b_pb2.py").write_text("# edited by hand, longer than before\n")
    assert incremental.to_regenerate(state, _digests(state)) == {"b.proto"}


def _config(tmp_path: Path) -> Config:
    return Config(
        project_dir=tmp_path,
        proto_roots=(tmp_path / "proto",),
        out=tmp_path / "out",
        targets=(Target("ts", tmp_path / "ts"),),
    )


def _selection(state: GenState, digests: dict[str, str]) -> incremental.Selection:
    stamps = {name: () for name in digests}
    regenerate = incremental.to_regenerate(state, digests)
    return incremental.Selection(state, state, stamps, digests, frozenset(regenerate))


def test_target_files_are_kept_only_when_nothing_changed(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": ()})
    target_file = tmp_path / "ts" / "a_pb.ts"
    target_file.parent.mkdir()
    target_file.write_text("// a\n")
    state.files[str(target_file)] = FileRecord.of(target_file)
    state.target_outputs = (str(target_file),)
    contracts = (ContractFile("a.proto", tmp_path / "proto" / "a.proto", "proto/a.proto"),)
    selection = _selection(state, _digests(state))
    assert incremental.kept_target_outputs(selection, contracts, changed=False) == (
        str(target_file),
    )
    assert incremental.kept_target_outputs(selection, contracts, changed=True) is None
    assert incremental.kept_target_outputs(selection, (), changed=False) is None  # a deletion
    target_file.unlink()
    assert incremental.kept_target_outputs(selection, contracts, changed=False) is None


def test_carry_over_keeps_unchanged_contracts_and_their_owners(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": (), "b.proto": ()})
    scaffold = tmp_path / "b_impl.py"
    scaffold.write_text("# the user's\n")
    state.files[str(scaffold)] = FileRecord.of(scaffold, user_owned=True)
    state.contracts["b.proto"] = ContractRecord(
        "digest-of-b.proto", (), (), (*state.contracts["b.proto"].outputs, str(scaffold))
    )
    selection = _selection(state, _digests(state, a="new"))
    records: dict[str, ContractRecord] = {}
    kept: dict[str, Owner] = {}
    incremental.carry_over(selection, records, kept)
    assert set(records) == {"b.proto"}
    assert kept == {
        str(tmp_path / "out" / "b_pb2.py"): Owner.GENERATED,
        str(scaffold): Owner.USER,
    }
    assert incremental.stale_candidates(state) == tuple(
        name for name in state.files if name != str(scaffold)
    )


def test_a_tampered_cache_pointing_outside_the_outputs_is_refused(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": ()})
    state.files["/etc/passwd"] = FileRecord(1, 1, 1)
    with pytest.raises(ProtoforgeError) as caught:
        incremental.check_cache_paths(_config(tmp_path), state)
    assert caught.value.message == "the generation cache names files outside the output directories"
    assert [d.message for d in caught.value.diagnostics] == [
        "'/etc/passwd' is outside what protoforge owns"
    ]


def test_a_no_op_run_records_nothing_new(tmp_path: Path) -> None:
    state = _state(tmp_path, {"a.proto": ()})
    unchanged = incremental.next_state(
        _config(tmp_path), "key", dict(state.contracts), state, {}, {}, Outcome()
    )
    assert unchanged is None
    fresh = incremental.next_state(
        _config(tmp_path), "key", dict(state.contracts), None, {}, {}, Outcome()
    )
    assert fresh is not None and fresh.contracts == state.contracts


# --- reselect: gen --watch's selection from the saved contracts it was told of -----------------


def _contract_files(tmp_path: Path, state: GenState, **texts: str) -> tuple[ContractFile, ...]:
    """The state's contracts as files under proto/, with the digest the state recorded (their
    text is the digest), except those given new text in `texts`."""
    root = tmp_path / "proto"
    root.mkdir(exist_ok=True)
    names = set(state.contracts) | {f"{name}.proto" for name in texts}
    for name in names:
        text = texts.get(name.removesuffix(".proto"), f"text of {name}")
        (root / name).write_text(text)
    return tuple(sorted(ContractFile(name, root) for name in names))


def _recorded(state: GenState) -> GenState:
    """`state` with each contract's digest the hash of its text on disk."""
    from protoforge.output import cache

    for name, record in state.contracts.items():
        digest = cache.digest(f"text of {name}".encode())
        state.contracts[name] = ContractRecord(
            digest, record.imports, record.public_imports, record.outputs
        )
    return state


def test_reselect_regenerates_a_saved_contract_and_its_importers(tmp_path: Path) -> None:
    state = _recorded(
        _state(tmp_path, {"a.proto": (), "b.proto": ("a.proto",), "c.proto": ("b.proto",)})
    )
    contracts = _contract_files(tmp_path, state, a="a edited")
    selection = incremental.reselect(state, contracts, ["a.proto"])
    assert selection.regenerate == {"a.proto", "b.proto"}
    assert selection.stamps["a.proto"] != ()  # stamped afresh; the others keep the record's


def test_reselect_trusts_the_record_for_contracts_it_was_not_told_of(tmp_path: Path) -> None:
    """The watcher names the saved files: an edit it was not told of is not looked for (that
    is what makes a run cheap), and a save with the same bytes regenerates nothing."""
    state = _recorded(_state(tmp_path, {"a.proto": (), "b.proto": ()}))
    contracts = _contract_files(tmp_path, state, b="b edited behind the watcher's back")
    assert incremental.reselect(state, contracts, []).regenerate == set()
    (tmp_path / "proto" / "b.proto").write_text("text of b.proto")  # saved, same bytes
    assert incremental.reselect(state, contracts, ["b.proto"]).regenerate == set()


def test_reselect_added_deleted_and_damaged(tmp_path: Path) -> None:
    state = _recorded(_state(tmp_path, {"a.proto": (), "b.proto": ("a.proto",), "c.proto": ()}))
    contracts = tuple(
        c for c in _contract_files(tmp_path, state, d="new contract") if c.name != "a.proto"
    )
    selection = incremental.reselect(state, contracts, [], damaged=["c.proto"])
    assert selection.regenerate == {"b.proto", "c.proto", "d.proto"}
    assert "a.proto" not in selection.digests
