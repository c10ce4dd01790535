"""The parsed configuration is remembered in the user's cache directory (config/load.py
parse_toml): an entry is only ever used for exactly the text it was parsed from."""

from __future__ import annotations

from pathlib import Path

import pytest

from protoforge.config import load_config
from protoforge.errors import ConfigError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def project(base: Path, config: str) -> Path:
    (base / "proto").mkdir(parents=True, exist_ok=True)
    path = base / "protoforge.toml"
    path.write_text(config, encoding="utf-8")
    return path


def test_an_edited_config_is_read_anew(tmp_path: Path, cache: Path) -> None:
    path = project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n')
    assert load_config(path).out == tmp_path / "gen"
    assert list((cache / "config").iterdir()), "nothing was remembered"
    assert load_config(path).out == tmp_path / "gen"  # from the cache
    path.write_text('proto_roots = ["proto"]\nout = "elsewhere"\n', encoding="utf-8")
    assert load_config(path).out == tmp_path / "elsewhere"
    path.write_text('proto_roots = ["proto"]\nout = [\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.diagnostics[0].line == 2  # the broken line, not a cached success


def test_a_damaged_entry_is_a_miss(tmp_path: Path, cache: Path) -> None:
    path = project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n')
    load_config(path)
    for entry in (cache / "config").iterdir():
        entry.write_bytes(b"\x00damaged")
    assert load_config(path).out == tmp_path / "gen"


def test_values_that_cannot_be_remembered_are_parsed_every_time(
    tmp_path: Path, cache: Path
) -> None:
    # a TOML date in a table protoforge ignores (pyproject.toml's other tools)
    pyproject = tmp_path / "pyproject.toml"
    (tmp_path / "proto").mkdir()
    pyproject.write_text(
        '[tool.other]\nreleased = 2026-12-01\n\n[tool.protoforge]\nproto_roots = ["proto"]\n'
        'out = "gen"\n',
        encoding="utf-8",
    )
    assert load_config(pyproject).out == tmp_path / "gen"
    assert load_config(pyproject).out == tmp_path / "gen"
    assert not (cache / "config").exists() or not list((cache / "config").iterdir())


def test_held_cache_writes_are_made_when_released(tmp_path: Path, cache: Path) -> None:
    """check-breaking's console route holds its cache writes back until buf is comparing
    (cachedir.hold_writes): nothing is on disk before `write_held`, everything after."""
    from protoforge import cachedir

    path = project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n')
    cachedir.hold_writes()
    try:
        assert load_config(path).out == tmp_path / "gen"
        assert not (cache / "config").exists()
    finally:
        cachedir.write_held()
    assert len(list((cache / "config").iterdir())) == 1
    written: list[int] = []
    cachedir.later(lambda: written.append(1))  # not held: at once
    assert written == [1]
