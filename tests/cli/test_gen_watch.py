"""`protoforge gen --watch` as a user runs it: a real process on a small project, driven by
saving files, read through what it prints. Every wait polls the output with a deadline (no fixed
sleeps), and the process is killed in a `finally` whatever happens."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import SHOP_PROTOS, make_project, run_cli, snapshot_tree

DEADLINE_S = 120.0  # per expected line: generous for a loaded 2-core CI machine

ITEM = "shop/v1/item.proto"


class Watching:
    """A running `gen --watch` whose stdout and stderr lines are collected as they come."""

    def __init__(self, project: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "protoforge", "gen", "--watch", *args],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        # One queue per stream: the order of lines across stdout and stderr is not kept.
        self.lines: dict[str, queue.Queue[str]] = {"out": queue.Queue(), "err": queue.Queue()}
        self.seen: list[tuple[str, str]] = []
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines[name].put(line.rstrip("\n"))

    def expect(self, pattern: str, stream: str = "out") -> str:
        """The next line of `stream` matching `pattern` (lines before it are kept in `seen`)."""
        lines = self.lines[stream]
        deadline = time.monotonic() + DEADLINE_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                if self.process.poll() is not None and lines.empty():
                    break
                continue
            self.seen.append((stream, line))
            if re.search(pattern, line):
                return line
        raise AssertionError(
            f"no {stream} line matching {pattern!r}; exit {self.process.poll()}; saw:\n"
            + "\n".join(f"  [{name}] {line}" for name, line in self.seen)
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=DEADLINE_S)


@contextmanager
def watching(project: Path, *args: str) -> Iterator[Watching]:
    watch = Watching(project, *args)
    try:
        watch.expect(r"^watch: first run: ")
        watch.expect(r"^protoforge: watching ", "err")
        yield watch
    finally:
        if watch.running():
            watch.process.kill()
            watch.process.wait(timeout=DEADLINE_S)


def save(path: Path, text: str) -> None:
    """Save as an editor does: a new file renamed over the old one."""
    staged = path.with_name(path.name + ".saving")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


def item_with(field: str) -> str:
    return (
        'syntax = "proto3";\npackage shop.v1;\nmessage Item {\n  string sku = 1;\n' + field + "}\n"
    )


def test_regenerates_on_save_reports_errors_and_keeps_running(tmp_path: Path) -> None:
    project = make_project(tmp_path, SHOP_PROTOS)
    # the typed stub: field names appear there as written (in _pb2.py, protoc escapes some)
    item_pb2 = project / "gen" / "shop" / "v1" / "item_pb2.pyi"
    with watching(project) as watch:
        assert item_pb2.is_file()

        save(project / "proto" / ITEM, item_with("  string colour = 2;\n"))
        status = watch.expect(r"^watch: ")
        assert re.fullmatch(r"watch: shop/v1/item\.proto: \d+ updated in \d+\.\d\ds", status)
        assert "colour" in item_pb2.read_text()

        before = snapshot_tree(project / "gen")
        save(project / "proto" / ITEM, item_with("  string colour = 2\n"))  # no semicolon
        error = watch.expect(r"error", "err")
        assert re.match(r"proto/shop/v1/item\.proto:\d+:\d+: error: ", error), error
        watch.expect(r"^protoforge: still watching", "err")
        assert watch.running()
        assert snapshot_tree(project / "gen") == before  # nothing half-written

        save(project / "proto" / ITEM, item_with("  string colour = 2;\n  int32 size = 3;\n"))
        watch.expect(r"^watch: shop/v1/item\.proto: \d+ updated")
        assert "size" in item_pb2.read_text()

        config = project / "protoforge.toml"
        save(config, config.read_text() + 'exclude = ["shop/v1/cart.proto"]\n')
        status = watch.expect(r"^watch: config: ")
        assert "removed" in status
        assert not (project / "gen" / "shop" / "v1" / "cart_pb2.py").exists()

        save(config, config.read_text() + "colour = 1\n")
        error = watch.expect(r"unknown key", "err")
        assert error.startswith("protoforge.toml:4:1: error: unknown key 'colour'"), error
        assert watch.running()

        assert watch.stop(signal.SIGINT) == 0
        watch.expect(r"^protoforge: watch stopped", "err")

    # What the watcher recorded is what a one-shot gen finds: nothing to do once the config
    # is fixed back to the state the watcher generated last.
    save(config, config.read_text().replace("colour = 1\n", ""))
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    assert "0 created, 0 updated" in result.stdout, result.stdout


def test_a_template_change_regenerates_with_it_and_sigterm_exits_0(tmp_path: Path) -> None:
    from protoforge.codegen.render import builtin_templates_dir

    project = make_project(
        tmp_path,
        SHOP_PROTOS,
        config='proto_roots = ["proto"]\nout = "gen"\ntemplates_dir = "templates"\n',
    )
    template = project / "templates" / "client.py.jinja"
    template.parent.mkdir()
    builtin = (builtin_templates_dir() / "client.py.jinja").read_text(encoding="utf-8")
    template.write_text(builtin, encoding="utf-8")
    client = project / "gen" / "shop" / "v1" / "cart_pf_client.py"
    with watching(project) as watch:
        assert "# edited template" not in client.read_text()
        save(template, builtin + "# edited template\n")
        watch.expect(r"^watch: client\.py\.jinja: .*updated")
        assert client.read_text().endswith("# edited template\n")
        assert watch.stop(signal.SIGTERM) == 0
        watch.expect(r"^protoforge: watch stopped \(SIGTERM\)", "err")


def test_a_deleted_generated_file_is_written_again(tmp_path: Path) -> None:
    project = make_project(tmp_path, SHOP_PROTOS)
    item_pb2 = project / "gen" / "shop" / "v1" / "item_pb2.py"
    with watching(project) as watch:
        content = item_pb2.read_bytes()
        item_pb2.unlink()
        watch.expect(r"^watch: generated files edited: 1 created")
        assert item_pb2.read_bytes() == content
        assert watch.stop() == 0


@pytest.mark.parametrize("flag", ["--check", "--dry-run", "--no-cache"])
def test_watch_refuses_flags_that_make_no_sense_with_it(tmp_path: Path, flag: str) -> None:
    project = make_project(tmp_path, SHOP_PROTOS)
    result = run_cli("gen", "--watch", flag, cwd=project, timeout=60)
    assert result.code == 2
    assert f"--watch cannot be combined with {flag}" in result.stderr
    assert not (project / "gen").exists()
