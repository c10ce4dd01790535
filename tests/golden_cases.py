"""The representative projects whose full generated output is committed under tests/golden/."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conftest import FIXTURES, run_cli, snapshot_tree

GOLDEN = Path(__file__).resolve().parent / "golden"
CONTRACTS = FIXTURES / "contracts"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    config: str
    include: tuple[str, ...]  # top-level directories of `source` to use
    source: Path = CONTRACTS


def golden_cases() -> list[GoldenCase]:
    return [
        # Every kind of contract (proto2, proto3, editions, custom options), out as a sys.path root.
        GoldenCase(
            "kitchen_sink",
            'proto_roots = ["proto"]\nout = "gen"\nimpl_out = "src"\n',
            ("acme", "ext", "legacy", "modern"),
        ),
        # A package prefix, client defaults and a retry policy.
        GoldenCase(
            "prefixed",
            'proto_roots = ["proto"]\nout = "gen"\npackage = "acme_api"\nimpl_out = "src"\n'
            "\n[client]\ntimeout = 5.0\n\n[client.retry]\nmax_attempts = 4\n"
            'initial_backoff = 0.05\nmax_backoff = 0.5\nretryable_status_codes = ["UNAVAILABLE"]\n',
            ("acme",),
        ),
        # protovalidate rules: the validated servers and clients, buf/validate/validate_pb2.py
        # compiled from the protovalidate wheel's descriptor, _protoforge_validate.py.
        GoldenCase(
            "validated",
            'proto_roots = ["proto"]\nout = "gen"\nimpl_out = "src"\n',
            ("shop",),
            FIXTURES / "validate" / "proto",
        ),
    ]


def generate_case(case: GoldenCase, workdir: Path | None = None) -> Path:
    """Generate `case` in a fresh project; return a directory holding exactly what gen wrote."""
    base = Path(workdir or tempfile.mkdtemp(prefix=f"golden-{case.name}-"))
    project = base / "project"
    for top in case.include:
        shutil.copytree(case.source / top, project / "proto" / top)
    (project / "protoforge.toml").write_text(case.config, encoding="utf-8")
    inputs = set(snapshot_tree(project))
    result = run_cli("gen", "--quiet", cwd=project)
    if result.code != 0:
        raise RuntimeError(f"gen failed for golden case {case.name}:\n{result.output}")
    output = base / "output"
    produced = set(snapshot_tree(project)) - inputs
    for relative in sorted(p for p in produced if not p.startswith(".protoforge-cache/")):
        target = output / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project / relative, target)
    return output
