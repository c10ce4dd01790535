"""Shared test helpers: run the real CLI in a subprocess, build small projects in tmp_path."""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The tests start hundreds of `python -m protoforge` processes, which import protoforge from the
# source tree: with PYTHONDONTWRITEBYTECODE set (some CI images set it) each of them would compile
# protoforge's modules again (about 0.2 s of CPU apiece). Their bytecode is written once instead.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow run first (in their order): xdist hands the rest out as workers come
    free, so the run ends on short tests instead of one worker finishing a long one alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def user_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """protoforge's user cache directory (cachedir: compiled templates, installed-module stubs,
    check-breaking's baselines) for this test run, shared by its xdist workers, never the
    user's own; a test that looks at the cache sets PROTOFORGE_CACHE_DIR itself."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ["PROTOFORGE_CACHE_DIR"] = str(shared / "protoforge-cache")
    return shared / "protoforge-cache"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Result:
    """Run `python -m protoforge ARGS` as a user would, in `cwd`: a process of its own, forked
    from a process that has imported protoforge already (tests/_cli_zygote.py), or a new
    interpreter where the environment sets what Python reads only at start-up."""
    return run_python(("-m", "protoforge"), *args, cwd=cwd, env=env, timeout=timeout)


def run_python(
    how: tuple[Literal["-m"], Literal["protoforge"]] | tuple[Literal["-c"], str],
    *args: str | os.PathLike[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Result:
    """`python -m protoforge ARGS` (how = ("-m", "protoforge")) or `python -c CODE ARGS`
    (how = ("-c", CODE)), through the zygote where it can be (see run_cli)."""
    full_env = {**os.environ, **(env or {})}
    if not _needs_new_interpreter(env or {}):
        code = how[1] if how[0] == "-c" else None
        ran = _zygote().run([str(a) for a in args], cwd, full_env, timeout, code)
        if ran is not None:
            return ran
    done = subprocess.run(
        [sys.executable, *how, *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def _needs_new_interpreter(env: Mapping[str, str]) -> bool:
    """PYTHON* variables and the locale are read when Python starts, not when it forks."""
    return any(k.startswith(("PYTHON", "LC_")) or k in ("LANG", "LANGUAGE") for k in env)


class _Zygote:
    """The client of one tests/_cli_zygote.py process (one per xdist worker, started on first
    use, stopped at exit). One command at a time: a caller that finds it busy (a test running
    commands from several threads) gets None and starts an interpreter."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def run(
        self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float, code: str | None
    ) -> Result | None:
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._run(argv, cwd, env, timeout, code)
        finally:
            self._lock.release()

    def _run(
        self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float, code: str | None
    ) -> Result:
        import json
        import signal
        import tempfile
        import threading

        process = self._started()
        assert process.stdin is not None and process.stdout is not None
        with tempfile.TemporaryDirectory(prefix="protoforge-run-") as output:
            stdout, stderr = Path(output, "stdout"), Path(output, "stderr")
            request = {"argv": argv, "cwd": str(cwd), "env": env, "code": code}
            request.update(stdout=str(stdout), stderr=str(stderr))
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            pid = json.loads(process.stdout.readline())["pid"]
            timed_out = threading.Event()

            def stop() -> None:
                timed_out.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)

            timer = threading.Timer(timeout, stop)
            timer.start()
            try:
                status = json.loads(process.stdout.readline())["status"]
            finally:
                timer.cancel()
            if timed_out.is_set():
                raise subprocess.TimeoutExpired(["protoforge", *argv], timeout)
            # as subprocess.run(text=True) decodes: the locale's encoding, universal newlines
            return Result(status, stdout.read_text(), stderr.read_text())

    def _started(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            import atexit

            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("_cli_zygote.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            atexit.register(self._stop)
        return self._process

    def _stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=30)


@functools.cache
def _zygote() -> _Zygote:
    return _Zygote()


# Two small contracts, one importing the other, one with a service: the default tiny tree.
SHOP_PROTOS = {
    "shop/v1/item.proto": """
        syntax = "proto3";
        package shop.v1;
        message Item { string sku = 1; }
    """,
    "shop/v1/cart.proto": """
        syntax = "proto3";
        package shop.v1;
        import "shop/v1/item.proto";
        message Cart { repeated shop.v1.Item items = 1; }
        service CartService { rpc Get(Cart) returns (Cart); }
    """,
}


def mypy_cache_dir() -> Path:
    """One mypy cache per test process (xdist worker), removed at exit: the typeshed, grpc and
    protobuf stubs every generated tree imports are analysed once per process instead of once
    per call. A generated module's cache entry records its file's path and hash, so trees in
    different directories never share an entry."""
    global _MYPY_CACHE
    if _MYPY_CACHE is None:
        import atexit
        import shutil
        import tempfile

        _MYPY_CACHE = Path(tempfile.mkdtemp(prefix="protoforge-tests-mypy-"))
        atexit.register(shutil.rmtree, _MYPY_CACHE, True)
    return _MYPY_CACHE


_MYPY_CACHE: Path | None = None


def mypy_strict(directory: Path) -> subprocess.CompletedProcess[str]:
    """`mypy --strict .` in `directory`, leaving no cache behind in it.
    `--explicit-package-bases`: a generated `google/` is a namespace package without
    __init__.py, as users check it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            f"--cache-dir={mypy_cache_dir()}",
            "--explicit-package-bases",
            ".",
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )


def write_files(base: Path, files: Mapping[str, str]) -> None:
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


def snapshot_tree(base: Path) -> dict[str, bytes]:
    """Every file below `base` with its bytes: compare before/after to prove nothing changed."""
    if not base.exists():
        return {}
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".mypy_cache" not in p.parts
    }


def make_project(
    base: Path,
    protos: Mapping[str, str],
    *,
    config: str = 'proto_roots = ["proto"]\nout = "gen"\n',
) -> Path:
    """A project with a protoforge.toml and contracts under proto/."""
    write_files(base, {f"proto/{name}": text for name, text in protos.items()})
    (base / "protoforge.toml").write_text(config, encoding="utf-8")
    return base


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path
