"""One runtime per output tree: without a package prefix, clients of two top-level proto
packages raise the same `NotFound` class, so one `except` catches both (each package used to
get its own runtime copy, whose exception classes were different types)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import run_cli, write_files

CONTRACTS = {
    "protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\n',
    "proto/alpha/v1/alpha.proto": """
        syntax = "proto3";
        package alpha.v1;
        message Req { string id = 1; }
        service Alpha { rpc Get(Req) returns (Req); }
    """,
    "proto/beta/v1/beta.proto": """
        syntax = "proto3";
        package beta.v1;
        message Req { string id = 1; }
        service Beta { rpc Get(Req) returns (Req); }
    """,
}

CATCH_BOTH = """
import sys
sys.path.insert(0, "gen")
import _protoforge_runtime as runtime
from alpha import _protoforge_runtime as alpha_runtime  # the former place: a re-export
from alpha.v1 import alpha_pb2, alpha_pf_client, alpha_pf_server
from beta.v1 import beta_pb2, beta_pf_client, beta_pf_server


class Alpha(alpha_pf_server.AlphaServicer):
    def get(self, request, context):
        raise runtime.NotFound(f"no alpha {request.id}")


class Beta(beta_pf_server.BetaServicer):
    def get(self, request, context):
        raise alpha_runtime.NotFound(f"no beta {request.id}")


running = runtime.start([Alpha(), Beta()], "127.0.0.1:0")
caught = []
try:
    target = f"127.0.0.1:{running.port}"
    with (
        alpha_pf_client.AlphaClient.connect(target) as alpha,
        beta_pf_client.BetaClient.connect(target) as beta,
    ):
        calls = [lambda: alpha.get(alpha_pb2.Req(id="1")), lambda: beta.get(beta_pb2.Req(id="2"))]
        for call in calls:
            try:
                call()
            except runtime.NotFound as error:
                caught.append(error.message)
finally:
    running.shutdown(grace=1)
print(alpha_runtime.NotFound is runtime.NotFound)
print(caught)
"""


def test_one_except_catches_not_found_from_clients_of_two_top_level_packages(
    tmp_path: Path,
) -> None:
    write_files(tmp_path, CONTRACTS)
    result = run_cli("gen", cwd=tmp_path)
    assert result.code == 0, result.output
    gen = tmp_path / "gen"
    assert (gen / "_protoforge_runtime.py").is_file()
    for package in ("alpha", "beta"):  # no copies: a few lines that re-export the one runtime
        former = (gen / package / "_protoforge_runtime.py").read_text(encoding="utf-8")
        assert "from _protoforge_runtime import *" in former
        assert "class NotFound" not in former
    done = subprocess.run(
        [sys.executable, "-c", CATCH_BOTH],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True", "['no alpha 1', 'no beta 2']"]
