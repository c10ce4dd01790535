"""protoforge: contract-first gRPC for Python.

The library API is deliberately small: `load_config` turns a pyproject.toml / protoforge.toml into a
frozen `Config`, and `generate(config)` turns the contracts it names into an in-memory `Plan` that
the caller may write, check or diff. Heavy imports (grpc_tools, jinja2) happen inside the functions
that need them so that `import protoforge` and `protoforge --help` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Config", "Plan", "ProtoforgeError", "__version__", "generate", "load_config"]

if TYPE_CHECKING:
    from protoforge.config import Config, load_config
    from protoforge.errors import ProtoforgeError
    from protoforge.output.plan import Plan
    from protoforge.pipeline import generate


def __getattr__(name: str) -> Any:
    # Lazy re-exports: keep `import protoforge` free of grpc_tools/jinja2 imports.
    if name in ("Config", "load_config"):
        from protoforge import config

        return getattr(config, name)
    if name == "ProtoforgeError":
        from protoforge.errors import ProtoforgeError

        return ProtoforgeError
    if name == "generate":
        from protoforge.pipeline import generate

        return generate
    if name == "Plan":
        from protoforge.output.plan import Plan

        return Plan
    raise AttributeError(name)
