"""`protoforge init`, tried the way a new user tries it: init, gen, the project's own tests, the
server started with the printed command, a call from another process, SIGTERM. Plus what init
must refuse (existing files, an existing [tool.protoforge], bad names) without writing anything,
and the byte-for-byte merge into an existing pyproject.toml."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import run_cli, snapshot_tree, write_files

IMPL = "demo_v1_demo_service_impl"


def commands(stdout: str) -> list[str]:
    """The next-step commands init printed (comment lines dropped)."""
    steps = stdout.split("Next steps:\n", 1)[1]
    lines = [line.strip() for line in steps.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def run_shell_words(line: str, cwd: Path, **kwargs: object) -> subprocess.Popen[str]:
    """Start a printed `VAR=value python ...` command without a shell, with this interpreter."""
    words = shlex.split(line)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    assert words[0] == "python", line
    return subprocess.Popen([sys.executable, *words[1:]], cwd=cwd, env=env, text=True, **kwargs)  # type: ignore[call-overload]


def run_project_tests(project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_gen_test_serve_and_call_as_the_next_steps_say(tmp_path: Path) -> None:
    result = run_cli("init", "demo", cwd=tmp_path)
    assert result.code == 0, result.output
    project = tmp_path / "demo"
    steps = commands(result.stdout)
    assert steps[:4] == [
        "cd demo",
        "protoforge gen",
        "python -m pip install pytest  # the runner of the sample test (tests/)",
        "python -m pytest",
    ]
    serve, call = steps[4], steps[5]
    assert serve == f"PYTHONPATH=gen python -m {IMPL} 127.0.0.1:50051"
    assert call.startswith("PYTHONPATH=gen python -c ")
    for name in (
        "pyproject.toml",
        "buf.yaml",
        ".gitignore",
        "proto/demo/v1/demo_service.proto",
        f"{IMPL}.py",
        "tests/test_demo_service.py",
    ):
        assert (project / name).is_file(), name
    assert ".protoforge-cache/" in (project / ".gitignore").read_text().splitlines()
    config = tomllib.loads((project / "pyproject.toml").read_text())
    assert config["tool"]["protoforge"]["proto_roots"] == ["proto"]

    generated = run_cli("gen", cwd=project)
    assert generated.code == 0, generated.output
    assert "1 skipped" in generated.stdout  # the implementation is init's, and stays
    assert "created by `protoforge init`" in (project / f"{IMPL}.py").read_text()
    tested = run_project_tests(project)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "5 passed" in tested.stdout

    # The server, started as printed but on port 0: it prints the port it bound.
    server = run_shell_words(serve.replace(":50051", ":0"), project, stderr=subprocess.PIPE)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        match = re.fullmatch(r"serving demo\.v1\.DemoService on 127\.0\.0\.1:(\d+)\n", line)
        assert match, line
        client = run_shell_words(
            call.replace(":50051", f":{match[1]}"),
            project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, errors = client.communicate(timeout=60)
        assert (client.returncode, out) == (0, "Hello, you!\n"), errors
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        rest = server.stderr.read()
        assert "shutting down" in rest
        assert "Traceback" not in rest
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_refuses_and_lists_every_conflict_writing_nothing(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "buf.yaml": "version: v2\n",
            f"{IMPL}.py": "# mine\n",
            "tests/test_demo_service.py": "# mine\n",
            "protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\n',
            "gen/keep.txt": "mine\n",
        },
    )
    before = snapshot_tree(tmp_path)
    result = run_cli("init", "--package", "demo", cwd=tmp_path)
    assert result.code == 2, result.output
    for name in ("buf.yaml", f"{IMPL}.py", "tests/test_demo_service.py", "protoforge.toml", "gen"):
        assert re.search(rf"^{re.escape(name)}: error: ", result.stderr, re.M), result.stderr
    assert "5 conflict(s)" in result.stderr
    assert "nothing was written" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot_tree(tmp_path) == before


def test_merges_into_an_existing_pyproject_byte_for_byte(tmp_path: Path) -> None:
    original = (
        b"# my project -- keep this comment\n"
        b'[project]\nname = "shop"   # aligned comment\nversion = "0.1"\n\n'
        b"[tool.ruff]\nline-length = 88\n"
        b"[tool.black]  # no trailing newline at the end\nskip-string-normalization = true"
    )
    (tmp_path / "pyproject.toml").write_bytes(original)
    (tmp_path / ".gitignore").write_bytes(b"dist/\n.venv/")
    result = run_cli("init", cwd=tmp_path)  # the current directory: the package from its name
    assert result.code == 0, result.output
    merged = (tmp_path / "pyproject.toml").read_bytes()
    assert merged.startswith(original)
    data = tomllib.loads(merged.decode())
    assert data["project"]["name"] == "shop"
    assert data["tool"]["black"] == {"skip-string-normalization": True}
    assert data["tool"]["protoforge"]["out"] == "gen"
    assert data["tool"]["pytest"]["ini_options"]["pythonpath"] == ["gen", "."]
    assert "testpaths" not in data["tool"]["pytest"]["ini_options"]  # the project's choice
    gitignore = (tmp_path / ".gitignore").read_bytes()
    assert gitignore.startswith(b"dist/\n.venv/\n")
    assert gitignore.count(b".venv/") == 1
    assert b".protoforge-cache/\n" in gitignore
    assert "updated              pyproject.toml" in result.stdout
    assert "cd " not in result.stdout  # already there
    again = run_cli("init", cwd=tmp_path)
    assert again.code == 2
    assert "pyproject.toml: error: has a [tool.protoforge] table already" in again.stderr
    assert (tmp_path / "pyproject.toml").read_bytes() == merged


def test_existing_pytest_configuration_gets_a_conftest_instead(tmp_path: Path) -> None:
    project = tmp_path / "billing"
    original = (
        b'[project]\nname = "billing"\n\n[tool.pytest.ini_options]\naddopts = "--strict-markers"\n'
    )
    project.mkdir()
    (project / "pyproject.toml").write_bytes(original)
    result = run_cli("init", "billing", "--service", "Invoices", cwd=tmp_path)
    assert result.code == 0, result.output
    merged = (project / "pyproject.toml").read_bytes()
    assert merged.startswith(original)
    assert merged.count(b"[tool.pytest.ini_options]") == 1
    assert (project / "conftest.py").is_file()
    assert (project / "proto/billing/v1/invoices.proto").is_file()
    assert run_cli("gen", cwd=project).code == 0
    tested = run_project_tests(project)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "5 passed" in tested.stdout


def test_refuses_a_pyproject_that_has_tool_protoforge(tmp_path: Path) -> None:
    text = '[tool.protoforge]\nproto_roots = ["api"]\nout = "src"\n'
    (tmp_path / "pyproject.toml").write_text(text)
    result = run_cli("init", "--package", "demo", cwd=tmp_path)
    assert result.code == 2
    assert "has a [tool.protoforge] table already" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--package", "class"], "--package: 'class' is a Python keyword"),
        (["--package", "my-api"], "--package: 'my-api' is not a valid package name"),
        (["--package", "Demo"], "use lower_snake_case"),
        (["--package", "json"], "'json' would shadow the standard library module of that name"),
        (["--service", "None"], "--service: 'None' is (or becomes the module name of) a Python"),
        (["--service", "greeter"], "--service: 'greeter' is not a valid service name"),
        (["--service", "Chat Service"], "not a valid service name"),
        (["--service", "ChatRequest"], "the name of a message in the sample contract"),
    ],
)
def test_invalid_names_are_errors_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("init", "proj", *args, cwd=tmp_path)
    assert result.code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "proj").exists()


def test_a_directory_name_without_a_package_name_asks_for_one(tmp_path: Path) -> None:
    result = run_cli("init", "2024", cwd=tmp_path)
    assert result.code == 2
    assert "cannot derive a package name from the directory name '2024'" in result.stderr
    assert "pass --package NAME" in result.stderr
    derived = run_cli("init", "My Shop-API", cwd=tmp_path)
    assert derived.code == 0, derived.output
    assert (tmp_path / "My Shop-API/proto/my_shop_api/v1/my_shop_api_service.proto").is_file()
    assert "cd 'My Shop-API'" in derived.stdout
