"""`protoforge init --web` end to end in a real browser: the project's next steps (npm install,
gen, the esbuild bundle, the server with its web endpoint, the page on another origin), then
Debian's Chromium, headless, loads the page, which calls a unary and a server-streaming RPC
through the web endpoint with the TypeScript client generated from the contract.

Needs node/npm (the npm registry) and `chromium`; without them the test skips, unless
PROTOFORGE_REQUIRE_BROWSER is set (as .ci/run does), where that is a failure. Every server binds
127.0.0.1 with port 0 and is stopped when the test ends.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import run_cli

IMPL = "demo_v1_demo_service_impl"
CHROMIUM_FLAGS = (
    # As root in a container, without a GPU or a network beyond loopback: the flags that keep
    # Chromium from reaching for services it cannot have (the machine refuses those).
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def tools() -> tuple[str, str]:
    npm, chromium = shutil.which("npm"), shutil.which("chromium")
    if npm is not None and chromium is not None:
        return npm, chromium
    reason = "npm and chromium are needed for the browser test (apt-get install chromium)"
    if os.environ.get("PROTOFORGE_REQUIRE_BROWSER"):
        pytest.fail(f"PROTOFORGE_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextmanager
def started(
    args: list[str], cwd: Path, env: dict[str, str], ready: str, *, stdout: bool = False
) -> Iterator[re.Match[str]]:
    """A server subprocess; yields the match of `ready` in the first line it prints (on stderr,
    or stdout), and stops it."""
    pipe = {"stdout" if stdout else "stderr": subprocess.PIPE}
    process = subprocess.Popen(args, cwd=cwd, env=env, text=True, **pipe)  # type: ignore[call-overload]
    try:
        stream = process.stdout if stdout else process.stderr
        assert stream is not None
        line = stream.readline()
        match = re.search(ready, line)
        assert match, f"{args}: {line}"
        yield match
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def page_dom(chromium: str, url: str) -> str:
    """The page's DOM once its scripts settled (virtual time: network waits do not count)."""
    with tempfile.TemporaryDirectory() as profile:
        return run(
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
            cwd=Path(profile),
        )


@pytest.mark.slow
def test_init_web_page_calls_the_service_from_a_browser(tmp_path: Path) -> None:
    npm, chromium = tools()
    result = run_cli("init", "demo", "--web", cwd=tmp_path)
    assert result.code == 0, result.output
    project = tmp_path / "demo"
    steps = [line.strip() for line in result.output.split("Next steps:")[1].splitlines()]
    assert "npm install  # protoc-gen-es, Connect-ES and esbuild (package.json)" in steps
    assert (
        "npm run build  # bundles web/main.ts and the generated client into web/dist/main.js"
        in steps
    )

    env = {**os.environ, "PYTHONPATH": "gen", "PYTHONUNBUFFERED": "1"}
    run(npm, "install", "--no-audit", "--no-fund", "--loglevel=error", cwd=project)
    run(sys.executable, "-m", "protoforge", "gen", "-q", cwd=project, env=env)
    assert (project / "web/gen/demo/v1/demo_service_pb.ts").is_file()
    run(npm, "run", "build", cwd=project)

    # The next steps' servers, on free ports: the page's origin is allowed, another is not.
    page_server = [
        sys.executable,
        "-m",
        "http.server",
        "0",
        "--bind",
        "127.0.0.1",
        "--directory",
        "web",
    ]
    with started(page_server, project, env, r"port (\d+)", stdout=True) as page:
        page_origin = f"http://127.0.0.1:{page[1]}"
        for allowed, expect_done in ((page_origin, "ok"), ("http://elsewhere.test", "error")):
            server = [
                sys.executable,
                "-m",
                IMPL,
                "127.0.0.1:0",
                "--web-address",
                "127.0.0.1:0",
                "--cors-origin",
                allowed,
            ]
            with started(server, project, env, r"Connect on 127\.0\.0\.1:(\d+)") as api:
                dom = page_dom(chromium, f"{page_origin}/?api=http://127.0.0.1:{api[1]}")
            assert f'data-done="{expect_done}"' in dom, dom
            if expect_done == "ok":
                assert '<dd id="say-hello">Hello, browser!</dd>' in dom
                assert '<dd id="count-down">3, 2, 1</dd>' in dom
