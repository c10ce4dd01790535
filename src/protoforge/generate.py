"""The library API: `generate(config) -> Plan`. The CLI is a thin shell around it.

config -> discover -> compile (protoc) -> python package files (+ rendered templates) -> Plan
"""

from __future__ import annotations

from pathlib import Path

from protoforge.compile import CompileResult, compile_contracts
from protoforge.config import Config
from protoforge.contracts import ContractFile, discover
from protoforge.layout import Layout, header, rewrite_imports
from protoforge.naming import pb2_grpc_module, pb2_module
from protoforge.plan import GeneratedFile, Owner, Plan

PY_TYPED = header(None).encode()


def generate(config: Config) -> Plan:
    """Compile every contract the config names and return the full output tree, in memory."""
    contracts = discover(config)
    result = compile_contracts(
        contracts, config.proto_roots, jobs=config.jobs, project_dir=config.project_dir
    )
    layout = Layout(config.package)
    relative = python_package_files(contracts, result, layout)
    files = {config.out / path: GeneratedFile(content) for path, content in relative.items()}
    files.update(rendered_files(config, contracts, result, layout))
    return Plan(files=files, managed_dirs=(config.out,), warnings=result.warnings)


def rendered_files(
    config: Config, contracts: tuple[ContractFile, ...], result: CompileResult, layout: Layout
) -> dict[Path, GeneratedFile]:
    """Servers, clients and the shared runtime (generated) and implementation scaffolds (the
    user's, written only if absent) for every contract that declares a service."""
    from protoforge.model import build_contract
    from protoforge.render import render_files

    contract = build_contract(result.descriptor_set, [c.name for c in contracts], layout)
    if not contract.service_files:
        return {}
    return {
        path: GeneratedFile(text.encode("utf-8"), Owner.USER if user_owned else Owner.GENERATED)
        for path, (text, user_owned) in render_files(contract, config, layout).items()
    }


def python_package_files(
    contracts: tuple[ContractFile, ...], result: CompileResult, layout: Layout
) -> dict[str, bytes]:
    """protoc's outputs turned into a package: a header naming the source contract, imports
    rewritten under the package prefix, `__init__.py` everywhere and `py.typed`."""
    source_of = _output_sources(contracts)
    local_modules = frozenset(
        module
        for contract in contracts
        for module in (pb2_module(contract.name), pb2_grpc_module(contract.name))
    )
    files: dict[str, bytes] = {}
    for relative, content in sorted(result.outputs.items()):
        text = content.decode("utf-8")
        text = header(source_of.get(relative)) + rewrite_imports(text, layout, local_modules)
        files[layout.path(relative)] = text.encode("utf-8")
    for directory in layout.package_dirs(files):
        files.setdefault(f"{directory}/__init__.py", header(None).encode())
    for directory in layout.typed_marker_dirs(files):
        files[f"{directory}/py.typed"] = PY_TYPED
    return dict(sorted(files.items()))


def _output_sources(contracts: tuple[ContractFile, ...]) -> dict[str, str]:
    """Output path -> the contract (import path) it was generated from, for the header."""
    sources: dict[str, str] = {}
    for contract in contracts:
        for module in (pb2_module(contract.name), pb2_grpc_module(contract.name)):
            base = module.replace(".", "/")
            sources[f"{base}.py"] = contract.name
            sources[f"{base}.pyi"] = contract.name
    return sources


def out_relative(config: Config, path: Path) -> str:
    return path.relative_to(config.out).as_posix()
