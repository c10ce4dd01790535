"""The implementation scaffold (user-owned, runnable with `python -m`), template overrides,
layouts without a package prefix, and byte-identical output across runs and hash seeds."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _services import SERVICES_FIXTURE, generate_project, run_module
from conftest import run_cli, snapshot_tree, write_files

IMPL = "routeguide_v1_route_guide_impl"


def start_impl(project: Path, address: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(project / "gen"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", IMPL, address],
        cwd=project,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_scaffold_runs_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    generated = generate_project(tmp_path, package="rg_impl")
    process = start_impl(tmp_path, "127.0.0.1:0")
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.fullmatch(r"serving (.*) on 127\.0\.0\.1:(\d+)\n", line)
        assert match, line
        assert match[1] == "routeguide.v1.Admin, routeguide.v1.RouteGuide"
        port = int(match[2])

        # A fresh interpreter: the user's view of the generated client.
        check = (
            "import sys; sys.path.insert(0, 'gen')\n"
            "from rg_impl.routeguide.v1 import geo_pb2, route_guide_pf_client as c\n"
            "from rg_impl import _protoforge_runtime as rt\n"
            f"client = c.RouteGuideClient.connect('127.0.0.1:{port}', timeout=5)\n"
            "try:\n"
            "    client.get_feature(geo_pb2.Point())\n"
            "except rt.Unimplemented as e:\n"
            "    print('unimplemented:', e.message)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", check],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.stdout == "unimplemented: RouteGuide.GetFeature is not implemented\n", (
            done.stderr
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        rest = process.stderr.read()
        assert "shutting down" in rest
        assert "Traceback" not in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert generated.out.is_dir()


def test_port_in_use_exits_2_with_one_line(tmp_path: Path) -> None:
    generate_project(tmp_path, package="rg_impl")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_impl(tmp_path, f"127.0.0.1:{port}")
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: port {port} is in use"
    ]


def test_scaffold_is_user_owned_and_never_overwritten(tmp_path: Path) -> None:
    write_files(tmp_path, {"protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\n'})
    import shutil

    shutil.copytree(SERVICES_FIXTURE / "proto", tmp_path / "proto")
    first = run_cli("gen", cwd=tmp_path)
    assert first.code == 0, first.output
    impl = tmp_path / f"{IMPL}.py"
    assert impl.is_file()
    assert "DO NOT EDIT" not in impl.read_text().splitlines()[0]
    impl.write_text("# mine\n")
    second = run_cli("gen", cwd=tmp_path)
    assert second.code == 0, second.output
    assert impl.read_text() == "# mine\n"
    assert "skipped" in second.output
    check = run_cli("gen", "--check", cwd=tmp_path)
    assert check.code == 0, check.output


def test_impl_out_places_the_scaffold(tmp_path: Path) -> None:
    generate_project(tmp_path, package=None, extra={"impl_out": "src"})
    assert (tmp_path / "src" / f"{IMPL}.py").is_file()
    assert not (tmp_path / f"{IMPL}.py").exists()
    # Without a package prefix the tree's one runtime is a top-level module of `out`.
    assert (tmp_path / "gen/_protoforge_runtime.py").is_file()
    server = (tmp_path / "gen/routeguide/v1/route_guide_pf_server.py").read_text()
    assert "import _protoforge_runtime as _rt\n" in server
    impl = (tmp_path / "src" / f"{IMPL}.py").read_text()
    assert "import _protoforge_runtime as runtime\n" in impl


def test_templates_dir_replaces_a_builtin_template(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "mytemplates/client.py.jinja": (
                "{{ header }}# custom client for {{ file.name }}\n"
                "{% for service in services %}\n"
                "# {{ service.client_class }}: {{ service.methods | length }} methods\n"
                "{% endfor %}\n"
            )
        },
    )
    generate_project(tmp_path, package="rg_tpl", extra={"templates_dir": "mytemplates"})
    client = (tmp_path / "gen/rg_tpl/routeguide/v1/route_guide_pf_client.py").read_text()
    assert client == (
        "# Generated by protoforge from routeguide/v1/route_guide.proto. DO NOT EDIT.\n"
        "# custom client for routeguide/v1/route_guide.proto\n"
        "# RouteGuideClient: 6 methods\n"
        "# AdminClient: 1 methods\n"
    )
    server = (tmp_path / "gen/rg_tpl/routeguide/v1/route_guide_pf_server.py").read_text()
    assert "class RouteGuideServicer(Servicer):" in server  # the others are the built-ins


def test_a_runtime_template_in_templates_dir_is_refused(tmp_path: Path) -> None:
    """The runtime used to be a template a user could replace; it is real Python now, which the
    generated bases rely on. Ignoring the user's file silently would change their output."""
    write_files(
        tmp_path,
        {
            "protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\ntemplates_dir = "t"\n',
            "t/runtime.py.jinja": "{{ header }}# my runtime\n",
        },
    )
    import shutil

    shutil.copytree(SERVICES_FIXTURE / "proto", tmp_path / "proto")
    result = run_cli("gen", cwd=tmp_path)
    assert result.code == 2, result.output
    assert "t/runtime.py.jinja" in result.stderr
    assert "no longer renders the runtime" in result.stderr
    assert not (tmp_path / "gen").exists()


def test_a_broken_template_is_a_user_error(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\ntemplates_dir = "t"\n',
            "t/server.py.jinja": "{{ header }}\n{{ no_such_name }}\n",
        },
    )
    import shutil

    shutil.copytree(SERVICES_FIXTURE / "proto", tmp_path / "proto")
    result = run_cli("gen", cwd=tmp_path)
    assert result.code == 2, result.output
    assert "server.py.jinja:2: error: 'no_such_name' is undefined" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "gen").exists()


@pytest.mark.parametrize("package", ["rg_det", None])
def test_output_is_byte_identical_across_runs_and_hash_seeds(
    tmp_path: Path, package: str | None
) -> None:
    import shutil

    trees = []
    for seed in ("0", "12345"):
        project = tmp_path / seed
        config = 'proto_roots = ["proto"]\nout = "gen"\n[client]\ntimeout = 2.5\n'
        if package:
            config = f'package = "{package}"\n' + config
        write_files(project, {"protoforge.toml": config})
        shutil.copytree(SERVICES_FIXTURE / "proto", project / "proto")
        result = run_cli("gen", cwd=project, env={"PYTHONHASHSEED": seed})
        assert result.code == 0, result.output
        impl = (project / f"{IMPL}.py").read_bytes()
        trees.append(snapshot_tree(project / "gen") | {"impl": impl})
    assert trees[0] == trees[1]
    assert str(tmp_path).encode() not in b"".join(trees[0].values())


TLS = Path(__file__).parents[1] / "fixtures" / "tls"


def run_impl(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module(project, IMPL, *args)


def test_scaffold_command_line_lists_its_options(tmp_path: Path) -> None:
    generate_project(tmp_path, package="rg_cli")
    done = run_impl(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {IMPL} ")
    for option in ("--tls-cert", "--tls-key", "--tls-client-ca", "--no-reflection"):
        assert option in done.stdout
    for option in ("--max-workers", "--max-concurrent-rpcs", "--grace", "--drain"):
        assert option in done.stdout


def test_unusable_tls_material_exits_2_naming_the_file(tmp_path: Path) -> None:
    """Not "the address is invalid": the message says which file is wrong and how."""
    generate_project(tmp_path, package="rg_badtls")
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    cert, key = str(TLS / "server.pem"), str(TLS / "server.key")
    cases = [
        (["--tls-cert", cert, "--tls-key", "absent.key"], "absent.key: the TLS private key file"),
        (["--tls-cert", "junk.pem", "--tls-key", key], "junk.pem: not a PEM certificate"),
        (
            ["--tls-cert", cert, "--tls-key", str(TLS / "other.key")],
            "other.key: the private key does not belong to the certificate",
        ),
        (
            ["--tls-cert", cert, "--tls-key", key, "--tls-client-ca", "junk.pem"],
            "junk.pem: not a PEM client CA certificate",
        ),
    ]
    for args, message in cases:
        done = run_impl(tmp_path, "127.0.0.1:0", *args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    half = run_impl(tmp_path, "127.0.0.1:0", "--tls-cert", cert)
    assert half.returncode == 2
    assert "--tls-cert and --tls-key go together" in half.stderr
    wide = run_impl(tmp_path, "127.0.0.1:99999")
    assert wide.returncode == 2
    assert wide.stderr.strip() == (
        "error: cannot listen on 127.0.0.1:99999: port 99999 is not 0 to 65535"
    )


def test_scaffold_serves_tls_without_reflection(tmp_path: Path) -> None:
    generate_project(tmp_path, package="rg_tls")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "gen"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            IMPL,
            "127.0.0.1:0",
            "--tls-cert",
            str(TLS / "server.pem"),
            "--tls-key",
            str(TLS / "server.key"),
            "--no-reflection",
        ],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"on 127\.0\.0\.1:(\d+)$", line.strip())
        assert match, line + process.stderr.read()
        check = (
            "import sys, grpc; sys.path.insert(0, 'gen')\n"
            "from grpc_health.v1 import health_pb2, health_pb2_grpc\n"
            "from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc\n"
            f"ca = open({str(TLS / 'ca.pem')!r}, 'rb').read()\n"
            "credentials = grpc.ssl_channel_credentials(root_certificates=ca)\n"
            f"channel = grpc.secure_channel('localhost:{match[1]}', credentials)\n"
            "health = health_pb2_grpc.HealthStub(channel)\n"
            "reply = health.Check(health_pb2.HealthCheckRequest(), timeout=10)\n"
            "print('health', health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))\n"
            "stub = reflection_pb2_grpc.ServerReflectionStub(channel)\n"
            "ask = reflection_pb2.ServerReflectionRequest(list_services='')\n"
            "try:\n"
            "    list(stub.ServerReflectionInfo(iter([ask]), timeout=10))\n"
            "except grpc.RpcError as error:\n"
            "    print('reflection', error.code().name)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", check],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.stdout == "health SERVING\nreflection UNIMPLEMENTED\n", done.stderr
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
