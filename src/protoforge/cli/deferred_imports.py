"""Importing a standard-library module without the modules it imports for code that
check-breaking's route never runs.

On a small tree the check is mostly Python's start-up, and some of its imports are there for one
function: `dataclasses` imports `inspect` (ast, dis, tokenize: ~13 ms) to write a docstring for a
dataclass that has none and `copy` (~2 ms) for `asdict`'s deep copies; `pathlib` imports
`urllib.parse` (and ipaddress: ~5 ms) for `Path.as_uri`. `import_deferring` imports such a
module while each of those is a placeholder in `sys.modules`: the module binds the placeholder,
and the placeholder imports the real module the first time anything of it is used. Nothing
changes in what the modules do, only when the deferred ones are loaded; everything else imports
the real modules as usual (the placeholders are removed once the import is done).

Used by the console route only (cli/direct.py): it runs before anything else has imported these.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from types import ModuleType


def import_deferring(module: str, deferred: dict[str, tuple[str, ...]]) -> None:
    """Import `module` with the modules named in `deferred` standing in as placeholders. Each
    maps to the functions `module` imports from it by name (`from urllib.parse import
    quote_from_bytes`): the placeholder has them as forwarders. Any other attribute is looked up
    in the real module when it is read, so a module that reads more of a placeholder while it is
    imported (another Python version's) just gets the real one then. A no-op once `module` or
    a deferred module has been imported."""
    if module in sys.modules or any(name in sys.modules for name in deferred):
        return
    placeholders = {name: _placeholder(name, functions) for name, functions in deferred.items()}
    sys.modules.update(placeholders)
    try:
        __import__(module)
    finally:
        for name, placeholder in placeholders.items():
            if sys.modules.get(name) is placeholder:
                del sys.modules[name]


def _placeholder(name: str, functions: tuple[str, ...]) -> ModuleType:
    placeholder = type(sys)(name, f"stands in for {name} until it is used (deferred_imports)")

    def real() -> object:
        if sys.modules.get(name) is placeholder:  # used during the import itself
            del sys.modules[name]
        import importlib

        return importlib.import_module(name)

    def attribute_of_real(attribute: str) -> object:
        if attribute.startswith("__"):  # the import system's probes (__path__, ...)
            raise AttributeError(attribute)
        return getattr(real(), attribute)

    def forwarder(function: str) -> object:
        def call(*args: object, **kwargs: object) -> object:
            return getattr(real(), function)(*args, **kwargs)

        call.__name__ = call.__qualname__ = function
        return call

    placeholder.__getattr__ = attribute_of_real  # type: ignore[method-assign]
    for function in functions:
        setattr(placeholder, function, forwarder(function))
    return placeholder
