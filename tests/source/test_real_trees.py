"""Contract trees shaped like real repositories, not like our fixtures.

Real trees vendor copies of `google/protobuf/*` and `google/api/*` next to their own contracts,
keep services in files of their own, use file names such as `import.proto` and
`my-api/v1/user-service.proto`, and import `google/api/annotations.proto` or
`google/rpc/status.proto` with nothing vendored. Each of these once produced a package that
failed at import time (duplicate file names in the descriptor pool) or at the first call
(reflection could not see a service whose file declares no message), with gen exiting 0.

The vendored copies are taken from installed wheels (grpcio-tools ships the well-known types,
googleapis-common-protos its `.proto` files), so the tree is as real as the ones users have.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO, mypy_strict, run_cli

SITE = Path(__import__("google.api.http_pb2").api.http_pb2.__file__).parents[2]
WKT = Path(__import__("grpc_tools").__file__).parent / "_proto"
INTEROP = REPO / "tests" / "interop"

CONTRACTS = {
    "acme/billing/v1/request_response.proto": """
        syntax = "proto3";
        package acme.billing.v1;
        import "google/protobuf/duration.proto";
        import "google/protobuf/timestamp.proto";
        message ChargeRequest {
          string account = 1;
          int64 cents = 2;
          google.protobuf.Duration hold = 3;
        }
        message ChargeResponse { string id = 1; google.protobuf.Timestamp at = 2; }
    """,
    # A service in a file of its own: the file declares no message.
    "acme/billing/v1/service.proto": """
        syntax = "proto3";
        package acme.billing.v1;
        import "acme/billing/v1/request_response.proto";
        import "google/api/annotations.proto";
        import "google/protobuf/empty.proto";
        // Charges accounts.
        service Billing {
          rpc Charge(ChargeRequest) returns (ChargeResponse) {
            option (google.api.http) = { post: "/v1/charges" body: "*" };
          }
          rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty);
        }
    """,
    # `import` is a keyword, `import_pb2` is a fine module.
    "acme/catalog/v1beta1/import.proto": """
        syntax = "proto3";
        package acme.catalog.v1beta1;
        import "google/rpc/status.proto";
        message ImportRequest { string uri = 1; }
        message ImportResponse { google.rpc.Status status = 1; }
        service Importer { rpc Import(ImportRequest) returns (ImportResponse); }
    """,
    "my-api/v1/user-service.proto": """
        syntax = "proto3";
        package my_api.v1;
        import "google/api/annotations.proto";
        import "google/type/money.proto";
        message User { string name = 1; google.type.Money balance = 2; }
        service UserService {
          rpc GetUser(User) returns (User) {
            option (google.api.http) = { get: "/v1/{name=users/*}" };
          }
        }
    """,
}
VENDORED = [
    WKT / "google/protobuf/descriptor.proto",
    WKT / "google/protobuf/duration.proto",
    WKT / "google/protobuf/timestamp.proto",
    WKT / "google/protobuf/empty.proto",
    SITE / "google/api/annotations.proto",
    SITE / "google/api/http.proto",
]


def make_tree(
    root: Path, *, vendored: bool, package: str | None, contracts: dict[str, str] = CONTRACTS
) -> Path:
    proto = root / "proto"
    for name, text in contracts.items():
        path = proto / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    if vendored:
        for source in VENDORED:
            relative = source.relative_to(WKT if source.is_relative_to(WKT) else SITE)
            (proto / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, proto / relative)
    prefix = f'package = "{package}"\n' if package else ""
    (root / "pyproject.toml").write_text(
        f'[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n{prefix}', encoding="utf-8"
    )
    return root


IMPORT_EVERYTHING = """
import importlib, pathlib, sys
import google.api.annotations_pb2, google.protobuf.descriptor_pb2  # first, as libraries do
root = pathlib.Path(sys.argv[1])
modules = sorted(
    str(p.relative_to(root).with_suffix("")).replace("/", ".")
    for p in root.rglob("*.py") if p.name != "__init__.py"
)
if sys.argv[2] == "reversed":
    modules.reverse()
for name in modules:
    importlib.import_module(name)
print(len(modules))
"""


def import_everything(out: Path, order: str) -> int:
    """Import every generated module in a fresh interpreter; returns how many there were."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, str(out), order],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(out)},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.parametrize(("vendored", "package"), [(True, None), (True, "acme_api"), (False, None)])
def test_real_tree_imports_in_any_order_next_to_google_packages_and_type_checks(
    tmp_path: Path, vendored: bool, package: str | None
) -> None:
    """Harm: vendored copies regenerated under the project made `duplicate file name
    google/protobuf/descriptor.proto` at import time, depending on import order."""
    project = make_tree(tmp_path, vendored=vendored, package=package)
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    if vendored:
        assert "not generated: 6 contracts that installed packages provide" in result.output
        assert "googleapis-common-protos (google/api/annotations.proto, google/api/http.proto)" in (
            result.output
        )
    out = project / "gen"
    generated = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    # No module of a provided file is generated, only typed stubs for the untyped ones.
    assert not [p for p in generated if p.startswith("google/") and not p.endswith("_pb2.pyi")]
    assert {"google/rpc/status_pb2.pyi", "google/type/money_pb2.pyi"} <= generated
    base = f"{package}/" if package else ""
    assert f"{base}acme/catalog/v1beta1/import_pb2.py" in generated
    assert f"{base}my_api/v1/user_service_pb2.py" in generated

    count = import_everything(out, "sorted")
    assert count == import_everything(out, "reversed") > 10
    typed = mypy_strict(out)
    assert typed.returncode == 0, typed.stdout + typed.stderr


SERVE = """
import importlib, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
impl = importlib.import_module("acme_billing_v1_service_impl")
running = impl.runtime.start([impl.Billing()], "127.0.0.1:0")
print(running.port, flush=True)
sys.stdin.read()
running.shutdown(0)
"""


def test_reflection_serves_a_service_declared_apart_from_its_messages(tmp_path: Path) -> None:
    """Harm: the generated server never imported the `_pb2` of a file that holds only the
    service, so reflection listed the service but could describe or call none of it."""
    project = make_tree(tmp_path, vendored=True, package=None)
    assert run_cli("gen", cwd=project).code == 0
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(project / "gen"), str(project)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        calls = [
            {"method": "acme.billing.v1.Billing/Charge", "requests": [{"account": "a"}]},
            {"method": "acme.billing.v1.Billing/Ping", "requests": [{}]},
        ]
        done = subprocess.run(
            [
                sys.executable,
                str(INTEROP / "py_reflection_client.py"),
                f"127.0.0.1:{port}",
                json.dumps(calls),
                "acme.",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["generated_modules"] == []
    described = result["described"]["acme.billing.v1.Billing"]
    assert described["file"] == "acme/billing/v1/service.proto"
    assert described["methods"]["Charge"]["input"] == "acme.billing.v1.ChargeRequest"
    assert described["methods"]["Charge"]["input_fields"] == ["account", "cents", "hold"]
    # The scaffold answers UNIMPLEMENTED: the call reached the servicer through reflection.
    assert [call.get("code") for call in result["calls"]] == ["UNIMPLEMENTED", "UNIMPLEMENTED"]


def test_googleapis_common_protos_wheel_as_a_vendored_third_party_tree(tmp_path: Path) -> None:
    """googleapis-common-protos ships its `.proto` files: a whole real third-party tree. Put in
    a proto root, none of it is generated; as a dependency root, it is imported from."""
    tree = tmp_path / "third_party"
    count = 0
    for source in sorted(SITE.glob("google/**/*.proto")):
        if source.is_relative_to(SITE / "google" / "protobuf"):
            continue
        target = tree / source.relative_to(SITE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        count += 1
    assert count > 40
    contract = """
        syntax = "proto3";
        package shop.v1;
        import "google/api/annotations.proto";
        // Not in the wheel's tree (it ships a copy named operations_proto.proto): compiled
        // against the installed module's descriptors.
        import "google/longrunning/operations.proto";
        import "google/type/money.proto";
        import "google/rpc/error_details.proto";
        message Order { google.type.Money total = 1; google.rpc.BadRequest problems = 2; }
        service Shop {
          rpc Place(Order) returns (google.longrunning.Operation) {
            option (google.api.http) = { post: "/v1/orders" body: "*" };
          }
        }
    """
    project = tmp_path / "project"
    make_tree(
        project, vendored=False, package="shop_api", contracts={"shop/v1/shop.proto": contract}
    )
    config = project / "pyproject.toml"
    base = config.read_text(encoding="utf-8")

    config.write_text(base.replace('["proto"]', '["proto", "../third_party"]'), encoding="utf-8")
    as_root = run_cli("gen", cwd=project)
    assert as_root.code == 0, as_root.output
    assert f"not generated: {count} contracts" in as_root.output
    out = project / "gen"
    assert not list(out.rglob("google/**/*.py"))
    assert import_everything(out, "reversed") == import_everything(out, "sorted")

    shutil.rmtree(out)
    config.write_text(base + 'dependency_roots = ["../third_party"]\n', encoding="utf-8")
    as_dependency = run_cli("gen", cwd=project)
    assert as_dependency.code == 0, as_dependency.output
    assert import_everything(out, "sorted") > 0
    typed = mypy_strict(out)
    assert typed.returncode == 0, typed.stdout + typed.stderr


def test_a_changed_vendored_copy_that_the_installed_module_lacks_is_refused(
    tmp_path: Path,
) -> None:
    """Harm: a vendored copy that declares more than the installed file compiles, and the
    generated module then fails to build its descriptor against the installed one."""
    project = make_tree(tmp_path, vendored=True, package=None)
    http = project / "proto/google/api/http.proto"
    http.write_text(
        http.read_text(encoding="utf-8") + "\nmessage VendoredOnly { string x = 1; }\n",
        encoding="utf-8",
    )
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert "proto/google/api/http.proto: error: declares google.api.VendoredOnly" in result.output
    assert "upgrade googleapis-common-protos" in result.output
    assert not (project / "gen").exists()


def test_vendored_health_proto_is_provided_and_its_import_is_redirected(tmp_path: Path) -> None:
    """grpcio-health-checking registers grpc's health.proto as `grpc_health/v1/health.proto`:
    a generated copy would clash with it (the same messages) in every protoforge server."""
    health = Path(__import__("grpc_health.v1.health_pb2").__file__).parent / "v1/health.proto"
    contracts = {
        "grpc/health/v1/health.proto": health.read_text(encoding="utf-8")
        if health.is_file()
        else HEALTH_PROTO,
        "probe/v1/probe.proto": """
            syntax = "proto3";
            package probe.v1;
            import "grpc/health/v1/health.proto";
            service Probe {
              rpc Check(grpc.health.v1.HealthCheckRequest)
                returns (grpc.health.v1.HealthCheckResponse);
            }
        """,
    }
    project = make_tree(tmp_path, vendored=False, package="probe_api", contracts=contracts)
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert 'hint: import "grpc_health/v1/health.proto" instead' in result.output

    probe = project / "proto/probe/v1/probe.proto"
    probe.write_text(
        probe.read_text(encoding="utf-8").replace(
            '"grpc/health/v1/health.proto"', '"grpc_health/v1/health.proto"'
        ),
        encoding="utf-8",
    )
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    assert "grpcio-health-checking (grpc/health/v1/health.proto)" in result.output
    out = project / "gen"
    assert not (out / "probe_api/grpc").exists()
    assert import_everything(out, "sorted") == import_everything(out, "reversed")
    typed = mypy_strict(out)
    assert typed.returncode == 0, typed.stdout + typed.stderr


HEALTH_PROTO = """
    syntax = "proto3";
    package grpc.health.v1;
    message HealthCheckRequest { string service = 1; }
    message HealthCheckResponse {
      enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
      ServingStatus status = 1;
    }
    service Health {
      rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
      rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
    }
"""


def test_a_dependency_root_file_without_an_installed_module_is_refused(tmp_path: Path) -> None:
    """Harm: the generated code would import a module that nothing installs."""
    project = make_tree(
        tmp_path,
        vendored=False,
        package=None,
        contracts={
            "shop/v1/shop.proto": """
                syntax = "proto3";
                package shop.v1;
                import "vendor/common/v1/money.proto";
                message Order { vendor.common.v1.Money total = 1; }
            """
        },
    )
    vendor = project / "third_party/vendor/common/v1"
    vendor.mkdir(parents=True)
    (vendor / "money.proto").write_text(
        'syntax = "proto3";\npackage vendor.common.v1;\nmessage Money { int64 units = 1; }\n',
        encoding="utf-8",
    )
    config = project / "pyproject.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + 'dependency_roots = ["third_party"]\n',
        encoding="utf-8",
    )
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert "third_party/vendor/common/v1/money.proto: error: the generated code would import " in (
        result.output
    )
    assert "vendor.common.v1.money_pb2, which is not installed" in result.output
    assert not (project / "gen").exists()


def test_a_missing_distribution_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of a googleapis file with googleapis-common-protos missing: gen says what to
    install instead of generating a copy that would clash once it is installed."""
    from protoforge.errors import ProtoforgeError
    from protoforge.source import provided

    monkeypatch.setattr(provided, "provider", lambda name: None)
    monkeypatch.setattr(provided, "_installed", lambda name: name != "googleapis-common-protos")
    with pytest.raises(ProtoforgeError) as raised:
        provided.split_provided([("google/api/http.proto", "proto/google/api/http.proto")], None)
    assert "pip install googleapis-common-protos" in (raised.value.hint or "")
    # Files of the same directories that no distribution provides are the project's own.
    monkeypatch.setattr(provided, "_installed", lambda name: True)
    names, copies = provided.split_provided(
        [("google/api/servicecontrol/v1/check.proto", "p/check.proto")], None
    )
    assert names == ["google/api/servicecontrol/v1/check.proto"] and copies == []


def test_non_ascii_contract_names_are_generated_completely(tmp_path: Path) -> None:
    """Harm: protoc's zip entries for `café.proto` were decoded as cp437 and skipped, so
    `café_pb2.py` was silently missing while gen and gen --check exited 0."""
    contract = """
        syntax = "proto3";
        package cafe.v1;
        message Order { string drink = 1; }
        service Counter { rpc Place(Order) returns (Order); }
    """
    project = make_tree(
        tmp_path, vendored=False, package=None, contracts={"cafe/v1/café.proto": contract}
    )
    assert run_cli("gen", cwd=project).code == 0
    out = project / "gen/cafe/v1"
    names = {p.name for p in out.iterdir()}
    assert {"café_pb2.py", "café_pb2.pyi", "café_pb2_grpc.py", "café_pf_server.py"} <= names
    assert run_cli("gen", "--check", cwd=project).code == 0
    assert import_everything(project / "gen", "sorted") > 0

    # A name that Python would normalize (NFKC) into another one is refused, not broken.
    (project / "proto/cafe/v1/café.proto").rename(project / "proto/cafe/v1/ﬁle.proto")
    refused = run_cli("gen", cwd=project)
    assert refused.code == 2, refused.output
    assert "changes under Unicode NFKC normalization" in refused.output


@pytest.mark.parametrize("full", [False, True])
def test_check_breaking_compiles_imports_only_installed_packages_have(
    tmp_path: Path, full: bool
) -> None:
    """A contract importing google/api/annotations.proto with nothing vendored generates
    (above); the breaking gate must compile it the same way instead of 'File not found'."""
    project = make_tree(tmp_path, vendored=False, package=None)
    shutil.copytree(project / "proto", tmp_path / "baseline")
    service = project / "proto/acme/billing/v1/service.proto"
    service.write_text(
        service.read_text(encoding="utf-8").replace(
            "rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty);", ""
        ),
        encoding="utf-8",
    )
    args = ["check-breaking", "--against", "baseline", "--format", "json"]
    result = run_cli(*args, *(["--full"] if full else []), cwd=project)
    assert result.code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["RPC_NO_DELETE"]
