"""Compiled templates, installed-module stubs and the parsed config are kept in the user's cache
directory (codegen/template_cache.py, source/protoc.typed_stubs, config/load.parse_toml): a
cached entry must save the work and never change what gen writes, whatever state the cache is
in."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from conftest import SHOP_PROTOS, make_project, run_cli, snapshot_tree

from protoforge.codegen import template_cache
from protoforge.codegen.render import CLIENT_TEMPLATE, environment
from protoforge.source import protoc
from protoforge.source.provided import descriptor_set_of, provider


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(directory))
    monkeypatch.setattr(template_cache, "_memory", {})
    return directory


def count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *a, **k):  # type: ignore[no-untyped-def]
        compiled.append(name or "?")
        return original(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def test_a_template_is_compiled_once_then_loaded_from_memory_and_from_disk(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = count_compiles(monkeypatch)
    first = environment().get_template(CLIENT_TEMPLATE)
    assert compiled == [CLIENT_TEMPLATE]
    assert list((cache / "templates").rglob("*")), "nothing was written to the cache"

    environment().get_template(CLIENT_TEMPLATE)  # another Environment, same process
    monkeypatch.setattr(template_cache, "_memory", {})  # as a new process starts
    again = environment().get_template(CLIENT_TEMPLATE)
    assert compiled == [CLIENT_TEMPLATE]
    assert again.filename == first.filename


def test_a_changed_user_template_is_compiled_again_and_used(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "note.jinja").write_text("first {{ x }}\n")
    assert environment(templates).get_template("note.jinja").render(x=1) == "first 1\n"
    (templates / "note.jinja").write_text("second {{ x }}\n")
    assert environment(templates).get_template("note.jinja").render(x=2) == "second 2\n"
    monkeypatch.setattr(template_cache, "_memory", {})
    (templates / "note.jinja").write_text("third {{ x }}\n")
    assert environment(templates).get_template("note.jinja").render(x=3) == "third 3\n"


def test_gen_writes_the_same_tree_whatever_the_cache_holds(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reference = make_project(tmp_path / "reference", SHOP_PROTOS)
    result = run_cli("gen", "-q", cwd=reference, env={"PROTOFORGE_CACHE_DIR": str(cache)})
    assert result.code == 0, result.output
    entries = {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    # (no "config": a simple protoforge.toml is read by config/toml_subset, never cached)
    assert {p.relative_to(cache).parts[0] for p in entries} == {"templates", "stubs"}

    damages = {
        "garbage": lambda data: b"\x00not a cache entry",
        "cut short": lambda data: data[: len(data) // 2],
    }
    for damage, damaged in damages.items():
        for entry, data in entries.items():
            entry.write_bytes(damaged(data))
        project = make_project(tmp_path / damage, SHOP_PROTOS)
        result = run_cli("gen", "-q", cwd=project, env={"PROTOFORGE_CACHE_DIR": str(cache)})
        assert result.code == 0, f"{damage}: {result.output}"
        assert snapshot_tree(project / "gen") == snapshot_tree(reference / "gen"), damage

    project = make_project(tmp_path / "unwritable", SHOP_PROTOS)
    not_a_directory = {"PROTOFORGE_CACHE_DIR": str(reference / "protoforge.toml")}
    result = run_cli("gen", "-q", cwd=project, env=not_a_directory)
    assert result.code == 0, f"unwritable: {result.output}"
    assert snapshot_tree(project / "gen") == snapshot_tree(reference / "gen")


def test_installed_stubs_come_from_the_cache_without_a_subprocess(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = provider("google/rpc/status.proto")
    assert found is not None
    names, descriptors = [found.registered_as], descriptor_set_of([found])
    generated = protoc.typed_stubs(names, descriptors)
    assert "google/rpc/status_pb2.pyi" in generated

    def no_subprocess(*args: object) -> dict[str, bytes]:
        raise AssertionError("mypy-protobuf ran although the stubs were cached")

    monkeypatch.setattr(protoc, "_run_stubs", no_subprocess)
    assert protoc.typed_stubs(names, descriptors) == generated
    # other descriptors are another entry
    with pytest.raises(AssertionError, match="mypy-protobuf ran"):
        protoc.typed_stubs(names, descriptors + b"\n\x00")
