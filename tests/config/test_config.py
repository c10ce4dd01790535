"""Config: found once, validated once; every mistake names the key, the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from protoforge.config import RetryPolicy, load_config
from protoforge.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "protoforge.toml") -> Path:
    (tmp_path / "proto").mkdir(exist_ok=True)
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return "\n".join(str(d) for d in caught.value.diagnostics) or caught.value.message


def test_minimal_config_resolves_paths_against_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n'))
    assert config.proto_roots == (tmp_path.resolve() / "proto",)
    assert config.out == tmp_path.resolve() / "gen"
    assert config.package is None
    assert config.client.retry is None


def test_pyproject_table_with_nested_client_retry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[project]\nname = "x"\n\n[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n'
        'package = "acme_api"\n\n[tool.protoforge.client]\ntimeout = 2\n\n'
        "[tool.protoforge.client.retry]\nmax_attempts = 4\n",
        "pyproject.toml",
    )
    config = load_config(path)
    assert config.package == "acme_api"
    assert config.client.timeout == 2.0
    assert config.client.retry == RetryPolicy(max_attempts=4)
    assert config.client.retry.service_config_entry()["initialBackoff"] == "0.1s"


def test_unknown_key_names_key_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n\n[client]\ntimeot = 3\n')
    message = error_of(path)
    assert "protoforge.toml:5:1" in message
    assert "unknown key 'timeot' in client (did you mean 'timeout'?)" in message


def test_unknown_key_in_pyproject_points_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[tool.black]\nout = 1\n\n[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n'
        "outdir = 'x'\n",
        "pyproject.toml",
    )
    message = error_of(path)
    assert "pyproject.toml:7:1" in message and "'outdir'" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('proto_roots = ["proto"]\n', "missing required key 'out'"),
        ('proto_roots = [1]\nout = "gen"\n', "proto_roots: expected a list of strings"),
        ('proto_roots = ["proto"]\nout = "gen"\njobs = -1\n', "jobs: expected an integer >= 0"),
        ('proto_roots = ["proto"]\nout = "gen"\npackage = "a-b"\n', "not a dotted Python package"),
        (
            'proto_roots = ["proto"]\nout = "gen"\npackage = "a.class"\n',
            "'class' is a Python keyword",
        ),
        ('proto_roots = ["nope"]\nout = "gen"\n', "proto root does not exist: "),
        ('proto_roots = ["proto"]\nout = "."\n', "out must not contain a proto root"),
        ('proto_roots = ["proto"]\nout = "gen"\nclient = 3\n', "client must be a table"),
        (
            'proto_roots = ["proto"]\nout = "gen"\n[client.retry]\nmax_attempts = 9\n',
            "gRPC caps max_attempts at 5",
        ),
        (
            'proto_roots = ["proto"]\nout = "gen"\n[client.retry]\nmax_attempts = 1\n',
            "max_attempts: expected an integer >= 2",
        ),
        (
            'proto_roots = ["proto"]\nout = "gen"\n[client.retry]\n'
            "initial_backoff = 2\nmax_backoff = 1\n",
            "max_backoff must be >= initial_backoff",
        ),
        ('proto_roots = ["proto"\n', "protoforge.toml:1: error: Unclosed array"),
        ('proto_roots = ["proto"]\nout = \n', "protoforge.toml:2:7: error: Invalid value"),
    ],
)
def test_invalid_values_are_reported(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(write(tmp_path, text))


def test_overlapping_roots_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "proto" / "inner").mkdir(parents=True)
    path = write(tmp_path, 'proto_roots = ["proto", "proto/inner"]\nout = "gen"\n')
    assert "proto roots overlap" in error_of(path)


def test_no_config_anywhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)
    assert "no protoforge configuration found" in caught.value.message
    assert caught.value.hint and "protoforge init" in caught.value.hint


def test_pyproject_without_table_is_skipped_for_a_parent_config(tmp_path: Path) -> None:
    write(tmp_path, 'proto_roots = ["proto"]\nout = "gen"\n')
    child = tmp_path / "service"
    child.mkdir()
    (child / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    assert load_config(cwd=child).config_path == tmp_path.resolve() / "protoforge.toml"
