"""Package markers: `__init__.py` in every directory that holds generated modules, `py.typed`
at each package root (PEP 561)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from protoforge.codegen.layout import Layout
from protoforge.output.ownership import header

PY_TYPED = header(None).encode()


def package_marker_files(outputs: set[str], layout: Layout) -> dict[str, bytes]:
    """`__init__.py` in every directory holding generated modules, and `py.typed`; `outputs`
    and the keys are paths relative to `out`, with `/`."""
    shared: dict[str, bytes] = {}
    for directory in layout.package_dirs(outputs):
        shared[f"{directory}/__init__.py"] = header(None).encode()
    for directory in layout.typed_marker_dirs(outputs):
        shared[f"{directory}/py.typed"] = PY_TYPED
    return shared


def marker_files(out: Path, outputs: Iterable[str], layout: Layout) -> dict[Path, bytes]:
    """The markers for `outputs` (absolute paths; those outside `out` are ignored), by
    absolute path."""
    prefix = str(out) + os.sep
    relative = {
        output[len(prefix) :].replace(os.sep, "/")
        for output in outputs
        if output.startswith(prefix)
    }
    return {out / name: content for name, content in package_marker_files(relative, layout).items()}
