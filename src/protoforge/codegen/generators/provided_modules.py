"""The `_pb2` modules of provided files that no installed distribution registers with
google-protobuf (`buf/validate/validate.proto`: protovalidate 2 carries it as protobuf-py code
only, source/provided.py FOREIGN_DESCRIPTORS). gen writes the module and its stub into `out` at
the module path every generated import names (`buf/validate/validate_pb2.py`, never under the
package prefix), compiled from the descriptor the installed distribution carries."""

from __future__ import annotations

from protoforge.naming import module_to_path
from protoforge.output.ownership import header
from protoforge.source.protoc import python_from_descriptors, typed_stubs
from protoforge.source.provided import ProvidedFile, descriptor_set_of


def module_paths(found: ProvidedFile) -> tuple[str, str]:
    """Where the module of `found` and its stub go, relative to `out`."""
    return module_to_path(found.module, ".py"), module_to_path(found.module, ".pyi")


def provided_module_files(missing: list[ProvidedFile]) -> dict[str, bytes]:
    """The `_pb2.py` and `_pb2.pyi` of `missing`, with the header and a note, by path relative
    to `out`."""
    if not missing:
        return {}
    names = [found.registered_as for found in missing]
    descriptors = descriptor_set_of(missing)
    outputs = {**python_from_descriptors(names, descriptors), **typed_stubs(names, descriptors)}
    files: dict[str, bytes] = {}
    for found in missing:
        for relative in module_paths(found):
            text = outputs[relative].decode("utf-8")
            files[relative] = (header(found.registered_as) + _note(found) + text).encode()
    return files


def _note(found: ProvidedFile) -> str:
    return (
        f"# {found.distribution} carries {found.registered_as} for another protobuf runtime\n"
        f"# only; this is its google-protobuf module, which the generated code imports.\n"
    )
