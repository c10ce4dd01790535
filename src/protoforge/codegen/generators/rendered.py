"""Servers and clients (generated) and implementation scaffolds (the user's, written only if
absent) from the Jinja templates (their contexts: `generators.services`), grouped by the
contract they come from, so that the cache can record which files each contract produced."""

from __future__ import annotations

from pathlib import Path

from protoforge.codegen.layout import Layout
from protoforge.config import Config
from protoforge.output.plan import GeneratedFile, Owner
from protoforge.source.discover import ContractFile
from protoforge.source.protoc import CompileResult


def rendered_files(
    config: Config,
    all_names: list[str],
    selected: tuple[ContractFile, ...],
    result: CompileResult,
    layout: Layout,
) -> tuple[dict[str, dict[Path, GeneratedFile]], set[str]]:
    """The rendered files per contract that declares a service, and the names of those
    contracts."""
    from protoforge.codegen.generators.services import render_files
    from protoforge.codegen.model import build_contract
    from protoforge.codegen.reserved import reserved_names

    displays = {contract.name: contract.display for contract in selected}
    contract = build_contract(
        result.files,
        all_names,
        layout,
        only=displays.keys(),
        reserved=reserved_names(config),
        display=lambda name: displays.get(name, name),
    )
    by_contract: dict[str, dict[Path, GeneratedFile]] = {}
    services = {proto_file.name for proto_file in contract.service_files}
    if not services:
        return by_contract, services
    owner_of: dict[Path, str] = {}
    for proto_file in contract.service_files:
        for module in (proto_file.server_module, proto_file.client_module):
            owner_of[config.out / (module.replace(".", "/") + ".py")] = proto_file.name
        impl_dir = config.impl_out or config.project_dir
        owner_of[impl_dir / (proto_file.impl_module.replace(".", "/") + ".py")] = proto_file.name
    for path, (text, user_owned) in render_files(contract, config, layout).items():
        name = owner_of.get(path)
        if name is None:
            continue  # not a contract's file
        owner = Owner.USER if user_owned else Owner.GENERATED
        by_contract.setdefault(name, {})[path] = GeneratedFile(text.encode("utf-8"), owner)
    return by_contract, services
