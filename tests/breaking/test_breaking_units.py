"""Unit tests of the pieces that need no repository: the buf.yaml reader, buf discovery, the
buf.yaml → image config translation, version bumps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from protoforge.breaking.buf import find_buf
from protoforge.breaking.bufconfig import BreakingConfig, load_buf_settings
from protoforge.breaking.bufyaml import parse
from protoforge.breaking.changelog import next_version
from protoforge.breaking.errors import BufError
from protoforge.config import config_from_mapping
from protoforge.errors import ConfigError


def test_buf_yaml_reader_keeps_lines() -> None:
    text = """
version: v2   # comment
modules:
  - path: proto
    breaking:
      use: [FILE, "WIRE"]
breaking:
  use:
  - PACKAGE
  ignore_only:
    FIELD_SAME_TYPE: ['a/b.proto']
  ignore_unstable_packages: true
  except: []
"""
    document = parse(text)
    assert document.data["modules"] == [{"path": "proto", "breaking": {"use": ["FILE", "WIRE"]}}]
    assert document.data["breaking"]["ignore_only"] == {"FIELD_SAME_TYPE": ["a/b.proto"]}
    assert document.line("modules", 0, "breaking", "use") == 6
    assert document.line("breaking", "use") == 8
    assert document.line("breaking", "except") == 13
    assert document.line("breaking", "nothing") == 7  # the nearest parent


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffversion: v1\nbreaking:\n  use: [FILE]\n",  # a BOM
        "version: v1\nbreaking:\n  use: [FILE]\n...\n",  # an end marker
        "version:\tv1\nbreaking:\n  use:\t[FILE]\n",  # a tab after a colon
        "version: v1\nbreaking:\n  use: [\n    FILE,\n  ]\n",  # a multi-line flow list
    ],
)
def test_buf_yaml_that_buf_accepts_is_read(text: str, tmp_path: Path) -> None:
    (tmp_path / "proto").mkdir()
    (tmp_path / "buf.yaml").write_bytes(text.encode())
    config = config_from_mapping({"proto_roots": ["proto"], "out": "gen"}, tmp_path)
    [group] = load_buf_settings(config).groups
    assert (group.config.version, group.config.use) == ("v1", ("FILE",))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (b"version: v1\nbreaking:\n  use: [FILE]\n  ignore: 3\n", 4),
        (b"version: v1\nbreaking:\n  use: [FILE]\n  bogus: 1\n", 4),
        (b"version: v2\nmodules:\n  - path: a\n    breaking:\n      use: 3\n", 5),
        (b"version: v1\nbreaking:\n  use: [FILE\n", 4),
        (b"version: v1\n# caf\xe9\nbreaking: {}\n", 2),
    ],
)
def test_buf_yaml_errors_point_at_the_failing_line(text: bytes, line: int, tmp_path: Path) -> None:
    (tmp_path / "proto").mkdir()
    (tmp_path / "buf.yaml").write_bytes(text)
    config = config_from_mapping({"proto_roots": ["proto"], "out": "gen"}, tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_buf_settings(config)
    assert caught.value.exit_code == 2
    assert caught.value.diagnostics[0].line == line, caught.value.diagnostics


def test_missing_buf_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BufError) as caught:
        find_buf()
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "pip install buf-bin" in caught.value.hint


def test_v1beta1_roots_and_v2_module_paths_become_import_paths(tmp_path: Path) -> None:
    (tmp_path / "proto" / "acme").mkdir(parents=True)
    config = config_from_mapping({"proto_roots": ["proto"], "out": "gen"}, tmp_path)
    (tmp_path / "buf.yaml").write_text(
        "version: v1beta1\nbuild:\n  roots: [proto]\nbreaking:\n  ignore: [acme/x.proto]\n"
    )
    [group] = load_buf_settings(config).groups
    assert group.config.ignore == ("acme/x.proto",)
    (tmp_path / "buf.yaml").write_text(
        "version: v2\nbreaking:\n  use: [WIRE]\n  ignore_only:\n    FIELD_SAME_TYPE: [proto/acme]\n"
    )
    [group] = load_buf_settings(config).groups
    assert json.loads(group.config.to_buf_json()) == {
        "version": "v2",
        "breaking": {"use": ["WIRE"], "ignore_only": {"FIELD_SAME_TYPE": ["acme"]}},
    }
    (tmp_path / "buf.yaml").write_text("version: v1\nbreaking:\n  use: [FIELD_SAME_CTYPE]\n")
    [group] = load_buf_settings(config).groups
    # a deprecated v1 ID goes to buf in a v1 config, where it keeps its meaning
    assert json.loads(group.config.to_buf_json())["version"] == "v1"
    (tmp_path / "buf.yaml").write_text("version: v3\n")
    with pytest.raises(ConfigError) as caught:
        load_buf_settings(config)
    assert caught.value.diagnostics[0].line == 1


def test_no_buf_yaml_means_file_defaults(tmp_path: Path) -> None:
    (tmp_path / "proto").mkdir()
    config = config_from_mapping({"proto_roots": ["proto"], "out": "gen"}, tmp_path)
    settings = load_buf_settings(config)
    assert settings.source is None
    assert [g.config.use for g in settings.groups] == [("FILE",)]


@pytest.mark.parametrize(
    ("level", "expected"),
    [("major", "2.0.0"), ("minor", "1.5.0"), ("patch", "1.4.3")],
)
def test_next_version(level: str, expected: str) -> None:
    assert next_version("1.4.2", level) == expected


def test_buf_runs_without_garbage_collection_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On small images buf gets GOGC=off below a heap limit; large images, or a GOGC or
    GOMEMLIMIT the user set, leave the environment as it is (None: inherited)."""
    from protoforge.breaking.buf import buf_environment

    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    monkeypatch.setenv("PROTOFORGE_TEST_MARK", "kept")
    environment = buf_environment(True)
    assert environment is not None
    assert environment["GOGC"] == "off" and environment["GOMEMLIMIT"] == "1GiB"
    assert environment["PROTOFORGE_TEST_MARK"] == "kept"
    assert buf_environment(False) is None
    monkeypatch.setenv("GOGC", "200")
    assert buf_environment(True) is None
    monkeypatch.delenv("GOGC")
    monkeypatch.setenv("GOMEMLIMIT", "64MiB")
    assert buf_environment(True) is None


@pytest.mark.parametrize(
    "config",
    [
        BreakingConfig(),
        BreakingConfig(
            use=("FILE", "FIELD_SAME_CTYPE"),
            except_=("RPC_NO_DELETE",),
            ignore=('odd "dir"/x.proto', "back\\slash", "tab\there", "ünïcode/ø.proto"),
            ignore_only=(("FIELD_NO_DELETE", ("emoji/😀.proto", "ctl\x01\x7f/a.proto")),),
            ignore_unstable_packages=True,
            version="v2",
        ),
    ],
    ids=["defaults", "every key, odd characters"],
)
def test_buf_config_text_is_what_json_writes(config: BreakingConfig) -> None:
    """The configuration given to buf is written without the json module, exactly as
    json.dumps(sort_keys=True) writes it (the same text in reports that show it)."""
    text = config.to_buf_json()
    assert text == json.dumps(json.loads(text), sort_keys=True)
    breaking = json.loads(text)["breaking"]
    assert breaking.get("ignore", []) == list(config.ignore)
    assert {k: tuple(v) for k, v in breaking.get("ignore_only", {}).items()} == dict(
        config.ignore_only
    )


def test_without_files_keeps_the_other_files_and_what_they_import(tmp_path: Path) -> None:
    """The image cut to a module's files (read on the wire): the dropped files are gone unless
    a kept file imports them, and every kept file is byte for byte what protoc wrote."""
    from google.protobuf import descriptor_pb2

    from protoforge.breaking.buf import without_files
    from protoforge.breaking.inprocess import compile_descriptor_set
    from protoforge.source.discover import ContractFile

    files = {
        "a/a.proto": 'syntax = "proto3";\npackage a;\nimport "google/protobuf/timestamp.proto";\n'
        "message A { google.protobuf.Timestamp at = 1; }\n",
        "b/b.proto": 'syntax = "proto3";\npackage b;\nimport "a/a.proto";\n'
        "message B { a.A a = 1; }\n",
        "c/c.proto": 'syntax = "proto3";\npackage c;\nmessage C {}\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    contracts = [ContractFile(name, tmp_path) for name in files]
    image = compile_descriptor_set(contracts, [tmp_path], source_info=True)
    whole = {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(image).file}

    def names(data: bytes) -> list[str]:
        return [f.name for f in descriptor_pb2.FileDescriptorSet.FromString(data).file]

    cut = without_files(image, frozenset({"a/a.proto", "c/c.proto"}))
    assert names(cut) == [n for n in whole if n != "c/c.proto"]  # b imports a (and a, timestamp)
    for kept in descriptor_pb2.FileDescriptorSet.FromString(cut).file:
        assert kept == whole[kept.name]
    only_c = without_files(image, frozenset({"a/a.proto", "b/b.proto"}))
    assert names(only_c) == [n for n in whole if n not in ("a/a.proto", "b/b.proto")]
    assert without_files(image, frozenset()) == image
