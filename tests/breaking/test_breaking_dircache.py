"""The cache of compiled directory baselines (breaking/dircache.py): a baseline whose files are
all as they were is not compiled again, and any change that could change protoc's output is a
miss (the differential harness checks that the findings stay buf's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from breaking_support import Pair, compare_with_buf, isolated_cache, write_tree  # noqa: F401

import protoforge.breaking.inprocess
from protoforge.breaking import dircache
from protoforge.breaking.sides import resolve_baseline
from protoforge.config import load_config

TOML = 'proto_roots = ["proto"]\nexclude = ["internal/*", "google/*"]\nout = "gen"\n'
ORDER = """syntax = "proto3";
package acme.v1;
import "acme/v1/money.proto";
import "internal/audit.proto";
import "google/protobuf/empty.proto";
message Order {
  string id = 1; Money total = 2; internal.Audit audit = 3; google.protobuf.Empty e = 4;
}
service Orders { rpc Get(Order) returns (Order); }
"""
MONEY = 'syntax = "proto3";\npackage acme.v1;\nmessage Money { int64 cents = 1; }\n'
AUDIT = 'syntax = "proto3";\npackage internal;\nmessage Audit { string who = 1; }\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(tmp_path / "cache"))  # this test's entries only
    files = {"protoforge.toml": TOML, "proto/acme/v1/order.proto": ORDER}
    files |= {"proto/acme/v1/money.proto": MONEY, "proto/internal/audit.proto": AUDIT}
    write_tree(tmp_path / "baseline", files)
    return write_tree(tmp_path / "project", files)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per protoc run (in this process) for a baseline."""
    calls: list[int] = []
    real: Callable[..., bytes] = protoforge.breaking.inprocess.compile_descriptor_set

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(protoforge.breaking.inprocess, "compile_descriptor_set", counting)
    return calls


def _baseline(project: Path) -> bytes:
    config = load_config(project / "protoforge.toml")
    return resolve_baseline(str(project.parent / "baseline"), config).descriptor_set


def test_an_unchanged_directory_baseline_is_not_compiled_again(
    project: Path, compiles: list[int]
) -> None:
    first = _baseline(project)
    assert len(compiles) == 1
    assert _baseline(project) == first
    assert len(compiles) == 1  # the second came from the cache


@pytest.mark.parametrize(
    "change",
    [
        # a contract's text
        lambda b: (b / "proto/acme/v1/money.proto").write_text(MONEY.replace("cents", "units")),
        # a file that only an import reaches (excluded from the contracts)
        lambda b: (b / "proto/internal/audit.proto").write_text(AUDIT.replace("who", "by")),
        # one contract more
        lambda b: (b / "proto/acme/v1/extra.proto").write_text(
            'syntax = "proto3";\npackage acme.v1;\nmessage Extra {}\n'
        ),
        # a file of the root (excluded from the contracts) now shadows a well-known type that
        # protoc found in grpcio-tools
        lambda b: write_tree(
            b / "proto",
            {
                "google/protobuf/empty.proto": 'syntax = "proto3";\npackage google.protobuf;\n'
                "message Empty { int32 shadow = 1; }\n"
            },
        ),
        # the baseline's own layout: without its protoforge config, its buf.yaml says where
        # the contracts are (and excludes nothing)
        lambda b: (
            (b / "protoforge.toml").unlink(),
            write_tree(b, {"buf.yaml": "version: v1beta1\nbuild:\n  roots: [proto]\n"}),
        ),
    ],
    ids=["contract", "excluded import", "added contract", "shadowed well-known type", "buf.yaml"],
)
def test_any_change_protoc_could_see_is_a_miss(
    change: Callable[[Path], object], project: Path, compiles: list[int]
) -> None:
    _baseline(project)
    change(project.parent / "baseline")
    changed = _baseline(project)
    assert len(compiles) == 2  # compiled again
    dircache_dir = dircache.cache_root() / dircache.SUBDIR
    assert dircache_dir.is_dir()
    # and what the cache now holds is what protoc gives for the changed tree
    assert _baseline(project) == changed
    assert len(compiles) == 2


def test_another_protoc_is_a_miss(
    project: Path, compiles: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from grpc_tools import grpc_version

    _baseline(project)
    monkeypatch.setattr(grpc_version, "VERSION", "0.0.0-other")
    _baseline(project)
    assert len(compiles) == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-3] + bytes([data[-3] ^ 0xFF]) + data[-2:],  # a flipped byte
        lambda data: b"not an entry",
    ],
    ids=["truncated", "flipped byte in the set", "foreign file"],
)
def test_a_damaged_entry_is_a_miss_not_an_error(
    damage: Callable[[bytes], bytes], project: Path, compiles: list[int]
) -> None:
    first = _baseline(project)
    (entry,) = (dircache.cache_root() / dircache.SUBDIR).glob("*.bin")
    entry.write_bytes(damage(entry.read_bytes()))
    assert _baseline(project) == first
    assert len(compiles) == 2


def test_file_names_reads_a_descriptor_set() -> None:
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet()
    for name in ("a/b.proto", "ü/c.proto"):
        files.file.add(name=name, package="p", syntax="proto3").message_type.add(name="M")
    assert dircache.file_names(files.SerializeToString()) == ["a/b.proto", "ü/c.proto"]
    assert dircache.file_names(b"\x0a\x05ab") is None  # truncated
    assert dircache.file_names(b"") == []


def test_repeated_checks_against_a_cached_directory_stay_buf_s(tmp_path: Path) -> None:
    """The harness's comparison twice over the same trees: the second --full run takes the
    baseline from the cache."""
    toml = 'proto_roots = ["."]\nout = "gen"\n'
    pair = Pair(
        "a field retyped",
        {"protoforge.toml": toml, "acme/v1/money.proto": MONEY},
        {"protoforge.toml": toml, "acme/v1/money.proto": MONEY.replace("int64", "string")},
    )
    first = compare_with_buf(pair, tmp_path)
    assert list((dircache.cache_root() / dircache.SUBDIR).glob("*.bin"))
    assert compare_with_buf(pair, tmp_path) == first
    assert {key[3] for key in first} == {"FIELD_SAME_TYPE"}
