"""Helpers for the check-breaking / diff tests: real git repositories in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conftest import Result, make_project, run_cli, write_files

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": os.devnull,
}

ORDERS_V1 = """
    syntax = "proto3";
    package acme.orders.v1;

    message Order {
      string id = 1;
      int32 quantity = 2;
      string note = 3;
    }

    enum Status {
      STATUS_UNSPECIFIED = 0;
      STATUS_OPEN = 1;
    }

    service OrderService {
      rpc GetOrder(Order) returns (Order);
      rpc DeleteOrder(Order) returns (Order);
    }
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def git_project(base: Path, protos: Mapping[str, str], extra: Mapping[str, str] = {}) -> Path:
    """A project committed on `main` (tagged v1.0.0) with contracts under proto/."""
    make_project(base, protos)
    write_files(base, extra)
    git(base, "init", "-q")
    git(base, "add", ".")
    git(base, "commit", "-qm", "v1")
    git(base, "tag", "v1.0.0")
    return base


def change(base: Path, protos: Mapping[str, str]) -> None:
    write_files(base, {f"proto/{name}": text for name, text in protos.items()})


def check(base: Path, *args: str) -> Result:
    return run_cli("check-breaking", *args, cwd=base)


def check_json(base: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = check(base, *args, "--format", "json")
    assert result.code in (0, 1), result.output
    return result.code, json.loads(result.stdout)


def rules(document: dict[str, Any]) -> set[str]:
    return {finding["rule"] for finding in document["findings"]}
