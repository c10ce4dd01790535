"""The repository's `.pre-commit-hooks.yaml`: each hook's `entry` + `args` is run as pre-commit
would run it (split like a shell command line, in the project, with this environment's
executables first on PATH), without the pre-commit tool itself, in a project made by
`protoforge init` and committed to git. A clean project passes every hook; a stale generated
tree, a lint violation, an unformatted contract and a breaking change each fail their hook."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from breaking_support import git, isolated_cache  # noqa: F401
from conftest import REPO, run_cli

HOOKS = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
CONTRACT = "proto/demo/v1/demo_service.proto"


def run_hook(hook_id: str, project: Path) -> subprocess.CompletedProcess[str]:
    hook = HOOKS[hook_id]
    command = [*shlex.split(hook["entry"]), *hook.get("args", [])]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        command,
        cwd=project,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hooks")
    assert run_cli("init", "demo", cwd=base).code == 0
    project = base / "demo"
    assert run_cli("gen", "-q", cwd=project).code == 0
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-qm", "initial")
    git(project, "update-ref", "refs/remotes/origin/main", "HEAD")  # as after a clone
    git(project, "switch", "-qc", "feature")
    return project


@pytest.fixture
def project(clean: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(clean, copy, symlinks=True)
    return copy


def edit(project: Path, old: str, new: str) -> None:
    path = project / CONTRACT
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_hooks_are_the_four_documented_ones() -> None:
    assert sorted(HOOKS) == [
        "protoforge-check-breaking",
        "protoforge-format-check",
        "protoforge-gen-check",
        "protoforge-lint",
    ]
    assert all(hook["pass_filenames"] is False for hook in HOOKS.values())


@pytest.mark.parametrize("hook_id", sorted(HOOKS))
def test_a_clean_project_passes_every_hook(project: Path, hook_id: str) -> None:
    done = run_hook(hook_id, project)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_lint_violation_fails_the_lint_hook(project: Path) -> None:
    edit(project, "message ", "message bad_name { string x = 1; }\nmessage ")
    done = run_hook("protoforge-lint", project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MESSAGE_PASCAL_CASE" in done.stdout


def test_an_unformatted_contract_fails_the_format_hook(project: Path) -> None:
    edit(project, "message ", "message  Extra{string x=1;}\nmessage ")
    done = run_hook("protoforge-format-check", project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"would reformat {CONTRACT}" in done.stderr
    assert "Extra{string x=1;}" in (project / CONTRACT).read_text(encoding="utf-8")


def test_a_stale_generated_tree_fails_the_gen_hook(project: Path) -> None:
    edit(project, "message ", "message Extra {\n  string x = 1;\n}\n\nmessage ")
    done = run_hook("protoforge-gen-check", project)
    assert done.returncode == 1, done.stdout + done.stderr


def test_a_breaking_change_against_the_merge_base_fails_the_breaking_hook(project: Path) -> None:
    text = (project / CONTRACT).read_text(encoding="utf-8")
    service = text.index("service ")
    start = text.index("  rpc ", service)
    end = text.index("\n", text.index(";", start)) + 1
    (project / CONTRACT).write_text(text[:start] + text[end:], encoding="utf-8")  # drop an RPC
    git(project, "commit", "-qam", "drop an rpc")  # on the branch: the merge base is main
    done = run_hook("protoforge-check-breaking", project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "RPC_NO_DELETE" in done.stdout
