"""cli/deferred_imports.py: a module imported with placeholders for what it imports but the check
does not use behaves as before; the deferred modules load when first used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# A new interpreter each: what is imported, and when, is the point (this process has it all).
DEFERRED = """
import json, sys
from protoforge.cli.deferred_imports import import_deferring

import_deferring("pathlib", {"urllib.parse": ("quote_from_bytes",)})
import_deferring("dataclasses", {"inspect": (), "copy": ()})
import dataclasses, pathlib

loaded = {m: m in sys.modules for m in ("urllib.parse", "inspect", "copy")}

@dataclasses.dataclass
class Point:
    x: int
    tags: list[str]

point = Point(1, ["a"])
copied = dataclasses.asdict(point)
copied["tags"].append("b")
print(json.dumps({
    "before use": loaded,
    "uri": pathlib.Path("/srv/a b").as_uri(),
    "doc": Point.__doc__,
    "deep copy": point.tags,
    "after use": {m: m in sys.modules for m in ("urllib.parse", "inspect", "copy")},
}))
"""

# A module that imports by name more than its placeholder forwards gets the real module's.
WANTS_MORE = """
import sys
from protoforge.cli.deferred_imports import import_deferring

import_deferring("wants_more", {"urllib.parse": ("quote_from_bytes",)})
import wants_more
print(wants_more.unquote("a%20b"), type(sys.modules["urllib.parse"]).__name__)
"""


def _run(code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_deferred_modules_load_on_first_use_and_behave_as_before(tmp_path: Path) -> None:
    result = json.loads(_run(DEFERRED, tmp_path))
    assert result["before use"] == {"urllib.parse": False, "inspect": False, "copy": False}
    assert result["uri"] == "file:///srv/a%20b"
    assert result["doc"] == "Point(x: int, tags: list[str])"
    assert result["deep copy"] == ["a"]  # asdict copied the list
    assert result["after use"] == {"urllib.parse": True, "inspect": True, "copy": True}


def test_a_module_that_wants_more_than_a_placeholder_has_gets_the_real_module(
    tmp_path: Path,
) -> None:
    (tmp_path / "wants_more.py").write_text(
        "from urllib.parse import quote_from_bytes, unquote\n", encoding="utf-8"
    )
    assert _run(WANTS_MORE, tmp_path) == "a b module\n"
