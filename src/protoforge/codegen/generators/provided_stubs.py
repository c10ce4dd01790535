"""Typed stubs for provided modules that ship none (googleapis-common-protos): a `.pyi` at the
installed module's path in `out`. mypy reads them from `out`, Python still imports the
installed module (a namespace package such as `google.rpc` spans both directories)."""

from __future__ import annotations

from protoforge.naming import module_to_path
from protoforge.output.ownership import header
from protoforge.source.protoc import typed_stubs
from protoforge.source.provided import ProvidedFile, descriptor_set_of


def stub_path(found: ProvidedFile) -> str:
    """Where the stub of `found` goes, relative to `out`."""
    return module_to_path(found.module, ".pyi")


def provided_stub_files(missing: list[ProvidedFile]) -> dict[str, bytes]:
    """mypy-protobuf's stubs for `missing`, with the header and a note, by path relative to
    `out`."""
    if not missing:
        return {}
    stubs = typed_stubs([f.registered_as for f in missing], descriptor_set_of(missing))
    files: dict[str, bytes] = {}
    for found in missing:
        relative = stub_path(found)
        text = stubs[relative].decode("utf-8")
        files[relative] = (header(found.registered_as) + _stub_note(found) + text).encode()
    return files


def _stub_note(found: ProvidedFile) -> str:
    return (
        f"# Types for {found.module}, which {found.distribution} installs without them;\n"
        "# Python imports the installed module, type checkers read this file.\n"
    )
