"""Legal proto names that Python cannot take as they are.

Every Python keyword and soft keyword as a message, field, enum, enum value, service, RPC and
package name, and every name of the generated client and servicer classes as an RPC name. Each
is either generated so that it imports, passes `mypy --strict` and is callable over a real server,
or refused with exit 2 naming the contract and line. Once, a message named `None` made a
SyntaxError in the wrappers, RPCs named `Timeout`, `__init__` or `Grpc` broke the client, and
`GetUser`/`get_user` swapped Python names when their order in the file was swapped, all with
gen exiting 0.
"""

from __future__ import annotations

import keyword
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import mypy_strict, run_cli

KEYWORDS = sorted(set(keyword.kwlist) | set(keyword.softkwlist))
IDENTIFIER_KEYWORDS = [k for k in KEYWORDS if k.isidentifier()]  # all of them, `_` included
# `_` as an RPC is refused (see test_an_rpc_named_like_a_special_method_is_refused).
RPC_KEYWORDS = [k for k in IDENTIFIER_KEYWORDS if k != "_"]


def generated_class_names() -> list[str]:
    """Every public name that the generated client, servicer and scaffold define or use,
    read from a rendering of the templates rather than kept by hand."""
    from protoforge.codegen.reserved import reserved_names
    from protoforge.config import Config

    here = Path(".").resolve()
    names = reserved_names(Config(project_dir=here, proto_roots=(here,), out=here))
    return sorted(n for n in names if n.isidentifier() and not n.startswith("_"))


def project(root: Path, files: dict[str, str], package: str | None = "kw_api") -> Path:
    for name, text in files.items():
        path = root / "proto" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    prefix = f'package = "{package}"\n' if package else ""
    (root / "pyproject.toml").write_text(
        f'[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n{prefix}', encoding="utf-8"
    )
    return root


def hostile_tree() -> dict[str, str]:
    messages = "\n".join(
        f"message {k} {{ string {k} = 1; int32 {k}_n = 2; }}" for k in IDENTIFIER_KEYWORDS
    )
    enums = "\n".join(f"enum {k} {{ {k}_ZERO = 0; }}" for k in IDENTIFIER_KEYWORDS)
    values = "\n".join(f"  {k} = {i};" for i, k in enumerate(IDENTIFIER_KEYWORDS))
    # One RPC per hostile name: keywords and the generated classes' own names as they are;
    # a second service has their CamelCase forms (the same Python names, so not together).
    rpc_names = sorted({*RPC_KEYWORDS, *generated_class_names(), "_Private", "_init"})
    camel = ["Close", "Connect", "Channel", "AddToServer", "OwnsChannel", "Type", "Timeout"]
    camel += ["Grpc", "Iterator", "Self", "Sequence"]
    rpcs = "\n".join(
        f"  rpc {name}(.kw.rpcs.v1.None) returns (.kw.rpcs.v1.class);" for name in rpc_names
    )
    camel_rpcs = "\n".join(
        f"  rpc {name}(.kw.rpcs.v1.None) returns (.kw.rpcs.v1.class);" for name in camel
    )
    services = "\n".join(f"service {k} {{ rpc Get(Req) returns (Req); }}" for k in KEYWORDS)
    return {
        "kw/messages/v1/messages.proto": f"""
            syntax = "proto3";
            package kw.messages.v1;
            {messages}
        """,
        "kw/enums/v1/enums.proto": f"""
            syntax = "proto3";
            package kw.enums.v1;
            {enums}
        """,
        # Enum values are siblings of their enum (C++ scoping): a package of their own.
        "kw/values/v1/values.proto": f"""
            syntax = "proto3";
            package kw.values.v1;
            enum Values {{
            {values}
            }}
        """,
        "kw/rpcs/v1/rpcs.proto": f"""
            syntax = "proto3";
            package kw.rpcs.v1;
            import "kw/messages/v1/messages.proto";
            message None {{ kw.messages.v1.class inner = 1; }}
            message class {{ None value = 1; }}
            service Hostile {{
            {rpcs}
            }}
            service Camel {{
            {camel_rpcs}
            }}
        """,
        "kw/services/v1/services.proto": f"""
            syntax = "proto3";
            package kw.services.v1;
            message Req {{ string x = 1; }}
            {services}
        """,
        # A proto package made of keywords: it names nothing in Python.
        "kw/packages/v1/packages.proto": """
            syntax = "proto3";
            package class.def.match;
            message Req { string x = 1; }
            service Packaged { rpc Get(Req) returns (Req); }
        """,
    }


CALL_EVERY_RPC = """
import asyncio, importlib, sys
sys.path.insert(0, sys.argv[1])
server = importlib.import_module("kw_api.kw.rpcs.v1.rpcs_pf_server")
client = importlib.import_module("kw_api.kw.rpcs.v1.rpcs_pf_client")
pb2 = importlib.import_module("kw_api.kw.rpcs.v1.rpcs_pb2")
runtime = importlib.import_module("kw_api._protoforge_runtime")

class Impl(server.HostileServicer):
    pass

def answer(self, request, context):
    return getattr(pb2, "class")()

names = [n for n in dir(server.HostileServicer) if callable(getattr(server.HostileServicer, n))]
rpcs = [n for n in names if n not in dir(object) and n != "add_to_server"]
for name in rpcs:
    setattr(Impl, name, answer)
running = runtime.start([Impl()], "127.0.0.1:0")
called = 0
try:
    with client.HostileClient.connect(f"127.0.0.1:{running.port}") as stub:
        for name in rpcs:
            reply = getattr(stub, name)(getattr(pb2, "None")(), timeout=10)
            assert type(reply).__name__ == "class", (name, reply)
            called += 1
finally:
    running.shutdown(0)
print(called)
"""


def test_hostile_but_legal_names_generate_type_check_and_are_callable(tmp_path: Path) -> None:
    root = project(tmp_path, hostile_tree())
    result = run_cli("gen", cwd=root)
    assert result.code == 0, result.output
    out = root / "gen"
    typed = mypy_strict(out)
    assert typed.returncode == 0, typed.stdout
    done = subprocess.run(
        [sys.executable, "-c", CALL_EVERY_RPC, str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr
    hostile = hostile_tree()["kw/rpcs/v1/rpcs.proto"].split("service Hostile")[1]
    rpc_count = hostile.split("service Camel")[0].count("  rpc ")
    assert int(done.stdout) == rpc_count

    # A leading underscore is dropped (RPCs are public API) and
    # every reserved name got a suffix instead of shadowing the client's own API.
    client = (out / "kw_api/kw/rpcs/v1/rpcs_pf_client.py").read_text(encoding="utf-8")
    for method in ("def private(", "def timeout_(", "def grpc_(", "def init(", "def close_("):
        assert method in client
    assert "def owns_channel_(" in client  # `self._owns_channel` stays the client's


@pytest.mark.parametrize("order", ["GetUser first", "get_user first"])
def test_rpcs_that_become_one_python_name_are_refused_in_either_order(
    tmp_path: Path, order: str
) -> None:
    """Harm: the two RPCs' Python names swapped when their order in the file was swapped."""
    rpcs = ["rpc GetUser(Req) returns (Req);", "rpc get_user(Req) returns (Req);"]
    if order != "GetUser first":
        rpcs.reverse()
    contract = "\n".join(
        [
            'syntax = "proto3";',
            "package users.v1;",
            "message Req { string x = 1; }",
            "service Users {",
            *(f"  {rpc}" for rpc in rpcs),
            "}",
        ]
    )
    root = project(tmp_path, {"users/v1/users.proto": contract}, package=None)
    result = run_cli("gen", cwd=root)
    assert result.code == 2, result.output
    line = 6 if order == "GetUser first" else 5  # where get_user is declared
    assert result.stderr.startswith(
        f"proto/users/v1/users.proto:{line}:3: error: "
        "RPCs GetUser and get_user of users.v1.Users would both become the Python method "
        "get_user"
    ), result.stderr
    assert not (root / "gen").exists()


def test_services_whose_generated_classes_collide_are_refused(tmp_path: Path) -> None:
    """`AsyncFoo`'s servicer class is `AsyncFooServicer`, the asyncio servicer of `Foo`."""
    contract = """
        syntax = "proto3";
        package clash.v1;
        message Req { string x = 1; }
        service Foo { rpc Get(Req) returns (Req); }
        service AsyncFoo { rpc Get(Req) returns (Req); }
    """
    root = project(tmp_path, {"clash/v1/clash.proto": contract}, package=None)
    result = run_cli("gen", cwd=root)
    assert result.code == 2, result.output
    assert "proto/clash/v1/clash.proto:5:1: error: service clash.v1.AsyncFoo would define " in (
        result.stderr
    )
    assert "'AsyncFooServicer', which service Foo also defines" in result.stderr


@pytest.mark.parametrize("directory", ["grpc", "os", "typing"])
def test_a_top_level_directory_that_shadows_a_module_is_refused(
    tmp_path: Path, directory: str
) -> None:
    """Without a prefix, `grpc/v1/x.proto` becomes a package `grpc` that hides the real one."""
    contract = 'syntax = "proto3";\npackage x.v1;\nmessage M { string a = 1; }\n'
    root = project(tmp_path, {f"{directory}/v1/x.proto": contract}, package=None)
    result = run_cli("gen", cwd=root)
    assert result.code == 2, result.output
    assert f"proto/{directory}/v1/x.proto: error: '{directory}' would shadow" in result.stderr
    assert "set `package`" in result.stderr
    # Under a prefix of the project's own, the same tree is fine.
    config = root / "pyproject.toml"
    config.write_text(config.read_text() + 'package = "shadow_api"\n', encoding="utf-8")
    assert run_cli("gen", cwd=root).code == 0


@pytest.mark.parametrize("prefix", ["grpc", "os", "google", "google.cloud"])
def test_a_package_prefix_that_shadows_a_module_is_refused(tmp_path: Path, prefix: str) -> None:
    contract = 'syntax = "proto3";\npackage x.v1;\nmessage M { string a = 1; }\n'
    root = project(tmp_path, {"x/v1/x.proto": contract}, package=prefix)
    result = run_cli("gen", cwd=root)
    assert result.code == 2, result.output
    assert (
        "pyproject.toml:4:1: error: tool.protoforge.package: " in result.stderr
        and "choose a package name of your own" in (result.stderr)
    )


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("acme/v1/import.proto", True),  # the module is import_pb2
        ("acme/v1/class.proto", True),
        ("acme/import/v1/x.proto", False),  # a package directory named `import`
        ("acme/v1/1.proto", False),  # 1_pb2 is not an identifier
        ("acme/v1/my-api.proto", True),  # my_api_pb2
        ("acme/match/v1/x.proto", True),  # soft keywords are fine module names
    ],
)
def test_module_names_are_judged_on_the_module_that_will_exist(
    tmp_path: Path, name: str, accepted: bool
) -> None:
    contract = 'syntax = "proto3";\npackage acme.v1;\nmessage M { string a = 1; }\n'
    root = project(tmp_path, {name: contract}, package=None)
    result = run_cli("gen", cwd=root)
    assert result.code == (0 if accepted else 2), result.output
    if accepted:
        module = name[: -len(".proto")].replace("-", "_").replace("/", ".") + "_pb2"
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            cwd=root / "gen",
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("rpc", "reason"),
    [("__init__", "starts with two"), ("__Hidden", "starts with two"), ("_", "is made of")],
)
def test_an_rpc_named_like_a_special_method_is_refused(
    tmp_path: Path, rpc: str, reason: str
) -> None:
    """grpc's own `_pb2_grpc` stub class assigns one attribute per RPC in its `__init__`: an
    RPC named `__init__` breaks that class and its typed stub; mypy-protobuf types `_` with an
    ignore comment that `mypy --strict` rejects."""
    contract = f"""
        syntax = "proto3";
        package dunder.v1;
        message Req {{ string x = 1; }}
        service Dunder {{
          rpc {rpc}(Req) returns (Req);
        }}
    """
    root = project(tmp_path, {"dunder/v1/dunder.proto": contract}, package=None)
    result = run_cli("gen", cwd=root)
    assert result.code == 2, result.output
    assert f"proto/dunder/v1/dunder.proto:5:3: error: RPC {rpc} of dunder.v1.Dunder {reason}" in (
        result.stderr
    )


def test_every_name_the_runtime_bases_define_is_reserved_for_rpcs() -> None:
    """The generated clients and servicers inherit from the runtime's bases: an RPC method
    named like one of their attributes would replace it (`close`, `connect`, the private call
    helpers). The reserved set is read from the runtime's source; check it against the real
    classes."""
    import importlib.util

    from protoforge.codegen.reserved import base_class_names
    from protoforge.runtime import BASE_CLASSES, RUNTIME_SOURCE

    spec = importlib.util.spec_from_file_location("_pf_runtime_under_test", RUNTIME_SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    defined = {
        name
        for cls_name in BASE_CLASSES
        for cls in getattr(module, cls_name).__mro__
        if cls is not object
        for name in (*vars(cls), *getattr(cls, "__annotations__", {}))
        if not name.startswith("__")
    }
    client = module.Client(module.sync_channel("127.0.0.1:1", None, []))
    defined |= set(vars(client))  # instance attributes set in __init__
    client.channel.close()
    assert defined <= base_class_names()
    assert {"close", "connect", "channel", "timeout", "_owns_channel"} <= base_class_names()

    from protoforge import naming

    chosen = naming.method_names(
        ["Close", "Connect", "Channel", "PfUnaryUnary", "AddToServer", "GetThing"],
        generated_reserved(),
    )
    assert chosen == {
        "Close": "close_",
        "Connect": "connect_",
        "Channel": "channel_",
        "PfUnaryUnary": "pf_unary_unary_",
        "AddToServer": "add_to_server_",
        "GetThing": "get_thing",
    }


def generated_reserved() -> frozenset[str]:
    from protoforge.codegen.reserved import reserved_names
    from protoforge.config import Config

    here = Path(".").resolve()
    return reserved_names(Config(project_dir=here, proto_roots=(here,), out=here))
