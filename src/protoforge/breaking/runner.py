"""The buf runner: `buf breaking <current.binpb> --against <baseline.binpb> --error-format json`.

buf takes FileDescriptorSet images (`.binpb`) as inputs, so both sides are compiled by protoforge's
own protoc and buf only compares. buf exits 100 both for findings and for build errors; with images
there is nothing to build, and any exit other than 0 or 100, or a 100 without findings, is reported
as an error of its own (usually the generated config).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from protoforge.breaking.bufconfig import BreakingConfig
from protoforge.errors import ProtoforgeError

BUF_FINDINGS_EXIT = 100


class BufError(ProtoforgeError):
    """buf is missing, or failed for a reason other than breaking changes."""


@dataclass(frozen=True, order=True)
class RawFinding:
    """One buf finding, positions 1-based, `path` an import path of the current image ("" when
    buf points at no file, e.g. a deleted file or a package-level deletion)."""

    path: str
    line: int
    column: int
    rule: str
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    categories: tuple[str, ...]
    purpose: str


def find_buf() -> Path:
    """The `buf` of the running interpreter's environment (the buf-bin package installs it next to
    python), else the one on PATH."""
    name = "buf.exe" if os.name == "nt" else "buf"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which("buf")
    if found:
        return Path(found)
    raise BufError(
        "buf is not installed: protoforge uses the `buf` CLI to detect breaking changes",
        hint=f"install it into this environment: {sys.executable} -m pip install buf-bin",
    )


def run_breaking(current: bytes, baseline: bytes, config: BreakingConfig) -> list[RawFinding]:
    buf = find_buf()
    if not baseline:
        return []  # nothing was published: nothing can break
    with tempfile.TemporaryDirectory(prefix="protoforge-buf-") as tmp:
        current_path = Path(tmp) / "current.binpb"
        baseline_path = Path(tmp) / "baseline.binpb"
        current_path.write_bytes(current or _empty_image())
        baseline_path.write_bytes(baseline)
        done = subprocess.run(
            [
                str(buf),
                "breaking",
                str(current_path),
                "--against",
                str(baseline_path),
                "--error-format",
                "json",
                "--config",
                config.to_buf_json(),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
        )
    findings = _parse(done.stdout)
    if done.returncode == 0:
        return findings
    if done.returncode == BUF_FINDINGS_EXIT and findings:
        return findings
    message = (done.stderr.strip() or done.stdout.strip()).removeprefix("Failure: ")
    raise BufError(
        f"buf breaking failed: {message}",
        hint="check the breaking section of buf.yaml (rule and category IDs: "
        "`buf config ls-breaking-rules --version v2`)",
    )


def _parse(stdout: str) -> list[RawFinding]:
    findings: list[RawFinding] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        findings.append(
            RawFinding(
                path=str(item.get("path", "")),
                line=int(item.get("start_line", 0)),
                column=int(item.get("start_column", 0)),
                rule=str(item.get("type", "")),
                message=str(item.get("message", "")),
            )
        )
    return sorted(set(findings))


def _empty_image() -> bytes:
    """buf rejects an image without files; one empty file stands for "no contracts" (only ever on
    the current side, where an added file cannot be a finding)."""
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet()
    files.file.add(name="protoforge_empty.proto", syntax="proto3")
    return files.SerializeToString()


@functools.cache
def rule_catalog() -> dict[str, Rule]:
    """Every breaking rule buf knows (ID, categories, purpose): `buf config ls-breaking-rules`."""
    done = subprocess.run(
        [str(find_buf()), "config", "ls-breaking-rules", "--version", "v2", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    rules: dict[str, Rule] = {}
    for line in done.stdout.splitlines():
        if line.strip().startswith("{"):
            item = json.loads(line)
            rules[item["id"]] = Rule(
                item["id"], tuple(item.get("categories") or ()), item.get("purpose", "")
            )
    return rules
