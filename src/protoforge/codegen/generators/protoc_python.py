"""protoc's Python outputs (`_pb2.py`, `_pb2_grpc.py` and mypy-protobuf's `.pyi` for each):
a header naming the contract, and imports rewritten under the `package` prefix. A contract
that declares no service gets no `_pb2_grpc` pair: protoc writes one that holds nothing but
`import grpc`, which only adds a module to every package and a grpc import to type-check."""

from __future__ import annotations

from functools import lru_cache

from protoforge.codegen.layout import Layout, rewrite_imports
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.naming import pb2_grpc_module, pb2_module
from protoforge.output.ownership import header
from protoforge.source.discover import ContractFile
from protoforge.source.protoc import CompileResult


def python_package_files(
    contracts: tuple[ContractFile, ...],
    result: CompileResult,
    layout: Layout,
    all_names: list[str],
) -> dict[str, list[tuple[str, bytes]]]:
    """protoc's outputs per contract: a header naming the contract and imports rewritten under
    the package prefix. Paths are relative to `out`."""
    local_modules = _local_modules(tuple(all_names))
    files: dict[str, list[tuple[str, bytes]]] = {}
    for contract in contracts:
        outputs = files.setdefault(contract.name, [])
        descriptor = result.file(contract.name)
        modules = [pb2_module(contract.name)]
        if descriptor is None or descriptor.service:  # None: the missing outputs say so below
            modules.append(pb2_grpc_module(contract.name))
        for module in modules:
            for suffix in (".py", ".pyi"):
                relative = module.replace(".", "/") + suffix
                content = result.outputs.get(relative)
                if content is None:
                    # protoc and mypy-protobuf write all four for every file: a missing one
                    # would leave a package that fails at import time.
                    raise ProtoforgeError(
                        f"protoc produced no {relative} for {contract.name}",
                        diagnostics=(
                            Diagnostic(contract.display, 0, 0, "error", f"{relative} missing"),
                        ),
                        hint="a protoforge bug if the file name is a valid module name; "
                        "please report it with the contract's path",
                    )
                text = rewrite_imports(content.decode("utf-8"), layout, local_modules)
                outputs.append((layout.path(relative), (header(contract.name) + text).encode()))
    return files


@lru_cache(maxsize=1)
def _local_modules(names: tuple[str, ...]) -> frozenset[str]:
    """The modules generated for `names`. Memoised: gen --watch regenerates a few contracts of
    the same tree run after run, and this set is built from all of them (10,000 module names at
    5,000 contracts)."""
    return frozenset(
        module for name in names for module in (pb2_module(name), pb2_grpc_module(name))
    )
