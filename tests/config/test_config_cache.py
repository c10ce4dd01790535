"""The parsed configuration (config/load.py parse_toml): simple TOML read without tomllib
(config/toml_subset), anything else parsed by tomllib and remembered in the user's cache
directory, an entry only ever used for exactly the text it was parsed from."""

from __future__ import annotations

from pathlib import Path

import pytest

from protoforge.config import load_config
from protoforge.errors import ConfigError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# a float with an exponent is outside config/toml_subset's TOML: tomllib parses these, and they
# are cached
OUTSIDE = "client.timeout = 25e-1\n"


def project(base: Path, config: str) -> Path:
    (base / "proto").mkdir(parents=True, exist_ok=True)
    path = base / "protoforge.toml"
    path.write_text(config, encoding="utf-8")
    return path


def test_an_edited_config_is_read_anew(tmp_path: Path, cache: Path) -> None:
    path = project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n' + OUTSIDE)
    assert load_config(path).out == tmp_path / "gen"
    assert list((cache / "config").iterdir()), "nothing was remembered"
    assert load_config(path).out == tmp_path / "gen"  # from the cache
    path.write_text('proto_roots = ["proto"]\nout = "elsewhere"\n' + OUTSIDE, encoding="utf-8")
    assert load_config(path).out == tmp_path / "elsewhere"
    path.write_text('proto_roots = ["proto"]\n' + OUTSIDE + "out = [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.diagnostics[0].line == 3  # the broken line, not a cached success


def test_a_damaged_entry_is_a_miss(tmp_path: Path, cache: Path) -> None:
    path = project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n' + OUTSIDE)
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

    path = project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n' + OUTSIDE)
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


def test_a_simple_config_is_read_without_tomllib_or_the_cache(tmp_path: Path, cache: Path) -> None:
    import subprocess
    import sys

    path = project(
        tmp_path, 'proto_roots = ["proto"]  # roots\nout = "gen"\n[client]\ntimeout = 1.5\n'
    )
    child = (
        "import sys\nfrom protoforge.config import load_config\n"
        "config = load_config()\nprint(config.client.timeout, 'tomllib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], cwd=path.parent, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["1.5", "False"]
    assert not (cache / "config").exists()


def test_a_pyproject_is_read_without_tomllib_or_the_cache(tmp_path: Path, cache: Path) -> None:
    """What real pyproject.toml files are made of (inline tables, arrays of tables, dotted and
    quoted keys) is in config/toml_subset's TOML: finding the [tool.protoforge] table and
    reading it import no tomllib."""
    import subprocess
    import sys

    (tmp_path / "proto").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.21"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "acme-api"\nlicense = { text = "Apache-2.0" }\n'
        'authors = [{ name = "Acme", email = "api@acme.test" }]\n\n'
        '[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\nclient.timeout = 1.5\n\n'
        '[tool.ruff]\nlint.select = ["E"]\n\n[tool.ruff.lint.per-file-ignores]\n'
        '"tests/*" = ["S101"]\n\n[[tool.mypy.overrides]]\nmodule = "gen.*"\n',
        encoding="utf-8",
    )
    child = (
        "import sys\nfrom protoforge.config import load_config\n"
        "config = load_config()\nprint(config.client.timeout, 'tomllib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["1.5", "False"]
    assert not (cache / "config").exists()


def test_toml_nested_too_deeply_is_a_config_error(tmp_path: Path, cache: Path) -> None:
    path = project(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\nx = ' + "[" * 5000 + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.message == "invalid TOML"
    assert "nested too deeply" in str(raised.value.diagnostics[0])
