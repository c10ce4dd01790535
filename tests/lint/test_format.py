"""`protoforge format`: buf's formatter on the contracts, `--check` and `--diff` write nothing,
the default rewrites only the files that change; a contract that does not parse is exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import run_cli

BUF = Path(sys.executable).parent / "buf"
UGLY = 'syntax = "proto3";\npackage acme.v1;\nmessage  Order{string id=1;}\n'
TIDY = 'syntax = "proto3";\n\npackage acme.v1;\n\nmessage Tidy {\n  string id = 1;\n}\n'


def project(base: Path) -> Path:
    (base / "pyproject.toml").write_text(
        '[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n', encoding="utf-8"
    )
    (base / "proto/acme/v1").mkdir(parents=True)
    (base / "proto/acme/v1/order.proto").write_text(UGLY, encoding="utf-8")
    (base / "proto/acme/v1/tidy.proto").write_text(TIDY, encoding="utf-8")
    return base


def buf_formatted(path: Path) -> str:
    done = subprocess.run(
        [str(BUF), "format", path.name], cwd=path.parent, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_check_lists_the_files_and_writes_nothing(tmp_path: Path) -> None:
    base = project(tmp_path)
    result = run_cli("format", "--check", cwd=base)
    assert result.code == 1, result.output
    assert "would reformat proto/acme/v1/order.proto" in result.stderr
    assert "tidy.proto" not in result.output
    assert (base / "proto/acme/v1/order.proto").read_text(encoding="utf-8") == UGLY


def test_diff_prints_buf_format_as_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    base = project(tmp_path)
    expected = buf_formatted(base / "proto/acme/v1/order.proto")
    result = run_cli("format", "--diff", cwd=base)
    assert result.code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["--- a/proto/acme/v1/order.proto", "+++ b/proto/acme/v1/order.proto"]
    added = [line[1:] for line in lines[3:] if line.startswith("+")]
    assert "message Order {" in added and "  string id = 1;" in added
    assert added == [line for line in expected.splitlines() if line not in UGLY.splitlines()]
    assert (base / "proto/acme/v1/order.proto").read_text(encoding="utf-8") == UGLY


def test_in_place_writes_what_buf_format_prints(tmp_path: Path) -> None:
    base = project(tmp_path)
    order = base / "proto/acme/v1/order.proto"
    tidy = base / "proto/acme/v1/tidy.proto"
    expected = buf_formatted(order)
    tidy_stamp = tidy.stat().st_mtime_ns
    result = run_cli("format", cwd=base)
    assert result.code == 0, result.output
    assert order.read_text(encoding="utf-8") == expected
    assert tidy.stat().st_mtime_ns == tidy_stamp  # an unchanged file is not rewritten
    assert sorted(p.name for p in order.parent.iterdir()) == ["order.proto", "tidy.proto"]
    again = run_cli("format", "--check", cwd=base)
    assert again.code == 0, again.output


def test_a_contract_that_does_not_parse_is_exit_2_and_nothing_is_written(tmp_path: Path) -> None:
    base = project(tmp_path)
    # buf format alone would print this as `string id;`
    broken = 'syntax = "proto3";\npackage acme.v1;\nmessage Broken {\n  string id = ;\n}\n'
    (base / "proto/acme/v1/broken.proto").write_text(broken, encoding="utf-8")
    result = run_cli("format", cwd=base)
    assert result.code == 2, result.output
    assert "proto/acme/v1/broken.proto:4:" in result.stderr
    assert (base / "proto/acme/v1/order.proto").read_text(encoding="utf-8") == UGLY
    assert (base / "proto/acme/v1/broken.proto").read_text(encoding="utf-8") == broken


def test_contracts_skipped_by_exclude_are_left_as_they_are(tmp_path: Path) -> None:
    base = project(tmp_path)
    (base / "pyproject.toml").write_text(
        '[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n'
        'exclude = ["acme/*/order.proto"]\n',
        encoding="utf-8",
    )
    broken = base / "proto/acme/v2/order.proto"  # excluded too, and buf cannot parse it
    broken.parent.mkdir()
    broken.write_text(
        'syntax = "proto3";\nmessage Order { string id = 1; }}} oops\n', encoding="utf-8"
    )
    check = run_cli("format", "--check", cwd=base)
    assert check.code == 0, check.output
    assert run_cli("format", cwd=base).code == 0
    assert (base / "proto/acme/v1/order.proto").read_text(encoding="utf-8") == UGLY
