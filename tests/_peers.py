"""Peers for the interop and web tests: the Node.js executable (or a skip), and server
subprocesses that report their ports on their first stdout line and live until stdin closes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

INTEROP = Path(__file__).resolve().parent / "interop"
NODE_DIR = INTEROP / "node"
STARTUP_TIMEOUT = 20.0
NODE_PACKAGES = ("@grpc/grpc-js", "@grpc/proto-loader")


def node_executable() -> str:
    """The node binary, or skip (fail when PROTOFORGE_REQUIRE_INTEROP is set)."""
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed (needed for the Node.js interop tests)"
    elif missing := [p for p in NODE_PACKAGES if not (NODE_DIR / "node_modules" / p).is_dir()]:
        reason = (
            f"{', '.join(missing)} not installed: run `npm ci --prefix tests/interop/node` "
            "(needed for the Node.js interop tests)"
        )
    else:
        return node
    if os.environ.get("PROTOFORGE_REQUIRE_INTEROP"):
        pytest.fail(f"PROTOFORGE_REQUIRE_INTEROP is set but {reason}")
    pytest.skip(reason)


@contextmanager
def peer(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[dict[str, int]]:
    """Start a server subprocess that prints {"port": N, ...} and serves until its stdin
    closes; yield what it printed and always stop it (close stdin, then kill if it lingers)."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(STARTUP_TIMEOUT)
        if not lines or not lines[0].strip():
            pytest.fail(f"{args[:2]} did not report its port:\n{log.read_text()}")
        yield json.loads(lines[0])
    finally:
        try:
            process.stdin.close()  # type: ignore[union-attr]
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stdout.close()  # type: ignore[union-attr]


def env_with_pythonpath(path: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return env
