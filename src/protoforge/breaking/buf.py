"""buf, run as a subprocess:
`buf breaking <current.binpb> --against <baseline.binpb> --error-format json`.

buf takes FileDescriptorSet images (`.binpb`) as inputs, so both sides are compiled by protoforge's
own protoc and buf only compares. buf exits 100 both for findings and for build errors; with images
there is nothing to build, and any exit other than 0 or 100, or a 100 without findings, is reported
as an error of its own (usually the generated config).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from protoforge.breaking.early import SMALL_IMAGES, EarlyBuf, breaking_command, buf_path
from protoforge.breaking.early import buf_environment as buf_environment  # lint's runs use it
from protoforge.breaking.early import empty_image as empty_image  # the fast path's too
from protoforge.breaking.errors import BufError
from protoforge.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from protoforge.breaking.bufconfig import BreakingConfig, BufSettings

BUF_FINDINGS_EXIT = 100


# Named tuples (protoforge.records.Record), not dataclasses: a dataclass costs about a
# millisecond to create at import, and these are imported by every check-breaking run
# (benchmarks/bench.py --breaking-only).


class RawFinding(Record):
    """One buf finding, positions 1-based, `path` an import path of the current image ("" when
    buf points at no file, e.g. a deleted file or a package-level deletion)."""

    path: str
    line: int
    column: int
    rule: str
    message: str


class Rule(Record):
    id: str
    categories: tuple[str, ...]
    purpose: str


def find_buf() -> Path:
    """The `buf` of the running interpreter's environment (the buf-bin package installs it next to
    python), else the one on PATH."""
    found = buf_path()
    if found is not None:
        return Path(found)
    raise BufError(
        "buf is not installed: protoforge uses the `buf` CLI to detect breaking changes",
        hint=f"install it into this environment: {sys.executable} -m pip install buf-bin",
    )


def run_breaking(current: bytes, baseline: bytes, config: BreakingConfig) -> list[RawFinding]:
    buf = find_buf()
    if not baseline:
        return []  # nothing was published: nothing can break
    import tempfile

    with tempfile.TemporaryDirectory(prefix="protoforge-buf-") as tmp:
        current_path = Path(tmp) / "current.binpb"
        baseline_path = Path(tmp) / "baseline.binpb"
        current_path.write_bytes(current or empty_image())
        baseline_path.write_bytes(baseline)
        import subprocess  # not on the early route's path (see early.BufProcess)

        done = subprocess.run(
            breaking_command(buf, str(current_path), str(baseline_path), config.to_buf_json()),
            capture_output=True,
            check=False,
            cwd=tmp,
            env=buf_environment(len(current) + len(baseline) <= SMALL_IMAGES, offline_in=Path(tmp)),
        )
    return buf_result(done.returncode, done.stdout, done.stderr, config.version)


def buf_result(code: int, stdout: bytes, stderr: bytes, version: str) -> list[RawFinding]:
    out, err = stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")
    findings = _parse(out)
    if code == 0:
        return findings
    if code == BUF_FINDINGS_EXIT and findings:
        return findings
    message = (err.strip() or out.strip()).removeprefix("Failure: ")
    raise BufError(
        f"buf breaking failed: {message}",
        hint="check the breaking section of buf.yaml (rule and category IDs: "
        f"`buf config ls-breaking-rules --version {version} --include-deprecated`)",
    )


def start_buf(
    settings: BufSettings, *, small: bool = False, started: EarlyBuf | None = None
) -> tuple[EarlyBuf, ...]:
    """buf, started before the images exist (see EarlyBuf): one per rule group (a module: one
    buf run each, over images cut to the module's files), each configured for its group; fewer
    (none) where one cannot be started so, and for large images only the first (several bufs
    over large images at once would each hold one in memory). The groups without one run buf
    the ordinary way. `small`: the images will be small (a small tree, see BUF_GC). `started`:
    a buf the caller launched even earlier, for the first group if it suits (started for small
    images only if they are), else stopped."""
    if started is not None and (not settings.groups or started.small != small):
        started.cancel()
        started = None
    bufs: list[EarlyBuf] = []
    for group in settings.groups[: len(settings.groups) if small else 1]:
        early = started if started is not None and not bufs else EarlyBuf.launch(small=small)
        if early is None:
            break
        early.configure(group.config)
        bufs.append(early)
    return tuple(bufs)


def _parse(stdout: str) -> list[RawFinding]:
    import json

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


def without_files(image: bytes, drop: frozenset[str]) -> bytes:
    """The image without the files in `drop` (but with everything the kept files import, so
    that it still links). With several v2 modules buf compares each module's own image: its
    files and their imports; files of other modules are not in it at all (ignoring them by path
    would still leave their package-level deletions visible)."""
    if not image or not drop:
        return image
    # Read on the wire (protoforge.wire), not with the protobuf runtime: its import is a
    # tenth of a small check, which with several modules runs before buf has its inputs. Each
    # kept file's bytes are copied as they are, in their order.
    from protoforge.wire import LENGTH_DELIMITED, fields, length_delimited

    entries: list[tuple[str, tuple[str, ...], int, int]] = []  # name, imports, span in image
    for number, wire_type, at in fields(image):
        if number != 1 or wire_type != LENGTH_DELIMITED:  # FileDescriptorSet.file
            continue
        start, end = length_delimited(image, at)
        name, imports = "", []
        for field, kind, value in fields(image, start, end):
            if kind == LENGTH_DELIMITED and field in (1, 3):  # name, dependency
                low, high = length_delimited(image, value)
                text = image[low:high].decode()
                if field == 1:
                    name = text
                else:
                    imports.append(text)
        # the entry's bytes: its tag (0x0a, one byte: field 1, length-delimited), length, value
        entries.append((name, tuple(imports), at - 1, end))
    imports_of = {name: imports for name, imports, _, _ in entries}
    keep = {name for name in imports_of if name not in drop}
    stack = list(keep)
    while stack:
        for dependency in imports_of[stack.pop()]:
            if dependency in imports_of and dependency not in keep:
                keep.add(dependency)
                stack.append(dependency)
    return b"".join(image[low:high] for name, _, low, high in entries if name in keep)


@functools.cache
def rule_catalog() -> dict[str, Rule]:
    """Every breaking rule buf knows (ID, categories, purpose): `buf config ls-breaking-rules`."""
    import subprocess  # not on the early route's path (see early.BufProcess)

    done = subprocess.run(
        [str(find_buf()), "config", "ls-breaking-rules", "--version", "v2", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=buf_environment(True),
    )
    import json

    rules: dict[str, Rule] = {}
    for line in done.stdout.splitlines():
        if line.strip().startswith("{"):
            item = json.loads(line)
            rules[item["id"]] = Rule(
                item["id"], tuple(item.get("categories") or ()), item.get("purpose", "")
            )
    return rules
