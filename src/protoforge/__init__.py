"""protoforge: contract-first gRPC for Python.

The library API is deliberately small: `load_config` turns a pyproject.toml / protoforge.toml into a
frozen `Config`, `generate(config)` turns the contracts it names into an in-memory `Plan` that
the caller may check or diff (`protoforge.output.plan.compare`), and `write(config, plan,
outcome)` puts it on disk. Heavy imports (grpc_tools, jinja2) happen inside the functions that
need them so that `import protoforge` and `protoforge --help` stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "Config",
    "Plan",
    "ProtoforgeError",
    "__version__",
    "generate",
    "load_config",
    "write",
]

# typing.TYPE_CHECKING without importing typing (mypy takes any `if TYPE_CHECKING:` as true).
# The modules on `protoforge check-breaking`'s route do the same: this package is imported before
# buf starts, and typing is about 5 ms of a small tree's check that nothing else on the route
# needs (its named tuples derive from protoforge.records.Record).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from protoforge.config import Config, load_config
    from protoforge.errors import ProtoforgeError
    from protoforge.output.plan import Plan
    from protoforge.pipeline import generate, write

# Lazy re-exports: public name -> the module that defines it. No name here is also the name of
# a submodule: importing `protoforge.x` sets the attribute `x` on this package, which would
# shadow a function of that name.
_LAZY = {
    "Config": "protoforge.config",
    "load_config": "protoforge.config",
    "ProtoforgeError": "protoforge.errors",
    "Plan": "protoforge.output.plan",
    "generate": "protoforge.pipeline",
    "write": "protoforge.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'protoforge' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cached: __getattr__ runs once per name
    return value
