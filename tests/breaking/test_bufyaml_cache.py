"""buf.yaml parsed once: a later run reads the parsed document from the user's cache without
importing PyYAML, and an entry is used only for exactly the text it was made from."""

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


def test_a_second_run_reads_the_parsed_buf_yaml_without_pyyaml(tmp_path: Path) -> None:
    first = _parse_in_child(TEXT, tmp_path / "cache")
    second = _parse_in_child(TEXT, tmp_path / "cache")
    assert second.pop("yaml") is False
    first.pop("yaml")
    assert second == first
    assert second["data"] == {
        "version": "v1",
        "breaking": {
            "use": ["FILE"],
            "except": ["FIELD_NO_DELETE"],
            "ignore_unstable_packages": True,
        },
    }
    assert [["breaking", "except"], 5] in second["lines"]  # type: ignore[operator]


def test_a_cache_entry_for_another_text_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(tmp_path / "cache"))
    text = TEXT.replace("FILE", "WIRE")
    # an entry under this text's name but made from another text (a crc32 collision, a hand edit)
    store_value("buf-yaml", bufyaml._cache_name(text), (TEXT, {"version": "v2"}, {}))
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
