"""buf.yaml without PyYAML where possible: simple YAML through yaml_subset, anything else parsed
once, a later run reading the parsed document from the user's cache (an entry used only for
exactly the text it was made from)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from protoforge.breaking import bufyaml
from protoforge.cachedir import store_value

TEXT = """version: v1
breaking:
  use:
    - FILE
  except: [FIELD_NO_DELETE]   # trailing comment
  ignore_unstable_packages: true
"""
# a flow mapping: outside yaml_subset's YAML, so PyYAML parses it (and the result is cached)
FLOW = TEXT + "  ignore_only: {FIELD_SAME_TYPE: [a/b.proto]}\n"

CHILD = """
import json, sys
from protoforge.breaking.bufyaml import parse
document = parse(sys.stdin.read())
print(json.dumps({"data": document.data, "lines": sorted([list(k), v] for k, v in
                  document.lines.items()), "yaml": "yaml" in sys.modules}))
"""


def _parse_in_child(text: str, cache: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=text,
        capture_output=True,
        text=True,
        env={**os.environ, "PROTOFORGE_CACHE_DIR": str(cache)},
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_simple_buf_yaml_is_read_without_pyyaml_or_the_cache(tmp_path: Path) -> None:
    parsed = _parse_in_child(TEXT, tmp_path / "cache")
    assert parsed.pop("yaml") is False
    assert parsed["data"] == {
        "version": "v1",
        "breaking": {
            "use": ["FILE"],
            "except": ["FIELD_NO_DELETE"],
            "ignore_unstable_packages": True,
        },
    }
    assert [["breaking", "except"], 5] in parsed["lines"]  # type: ignore[operator]
    assert not (tmp_path / "cache").exists()


def test_a_second_run_reads_the_parsed_buf_yaml_without_pyyaml(tmp_path: Path) -> None:
    first = _parse_in_child(FLOW, tmp_path / "cache")
    second = _parse_in_child(FLOW, tmp_path / "cache")
    assert first.pop("yaml") is True
    assert second.pop("yaml") is False
    assert second == first
    assert second["data"]["breaking"]["ignore_only"] == {  # type: ignore[index]
        "FIELD_SAME_TYPE": ["a/b.proto"]
    }
    assert [["breaking", "ignore_only"], 7] in second["lines"]  # type: ignore[operator]


def test_a_cache_entry_for_another_text_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(tmp_path / "cache"))
    text = FLOW.replace("FILE", "WIRE")
    # an entry under this text's name but made from another text (a crc32 collision, a hand edit)
    store_value("buf-yaml", bufyaml._cache_name(text), (FLOW, {"version": "v2"}, {}))
    document = bufyaml.parse(text)
    assert document.data["breaking"]["use"] == ["WIRE"]
    assert document.line("breaking", "use") == 3


def test_what_the_cache_cannot_hold_and_errors_are_parsed_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(cache))
    dated = "version: v1\nreleased: 2001-12-14\n"  # a YAML timestamp: marshal cannot write it
    assert str(bufyaml.parse(dated).data["released"]) == "2001-12-14"
    with pytest.raises(bufyaml.YamlError) as raised:
        bufyaml.parse("version: v1\nbreaking: [FILE\n")
    assert raised.value.line == 3
    assert not list(cache.glob("buf-yaml/*"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: v1\nreleased: 2001-02-30\n", "invalid value: day is out of range"),
        ("version: v1\nx: " + "[" * 5000 + "\n", "nested too deeply"),
    ],
    ids=["no such date", "deep nesting"],
)
def test_what_pyyaml_fails_on_with_a_python_error_is_a_yaml_error(text: str, message: str) -> None:
    with pytest.raises(bufyaml.YamlError) as raised:
        bufyaml.parse(text)
    assert message in raised.value.message
