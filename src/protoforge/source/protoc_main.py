"""protoc in this process: grpc_tools' compiler extension, with the messages that its C++ code
writes straight to file descriptor 2 sent to a file of the caller's for the call (and parsed
as a subprocess's stderr would be). Used where a compile is small enough that starting
`python -m grpc_tools.protoc` (an interpreter and a grpc_tools import, about 0.1 s of CPU)
costs more than compiling: gen's single-shard compiles of small trees (source/protoc.py) and
check-breaking's (breaking/inprocess.py). Imports nothing but the standard library's os and
sys until it runs protoc (check-breaking's start-up path)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any


def run_protoc(arguments: list[str], stderr_fd: int) -> int:
    """protoc's exit code for `arguments` (without the program name); its messages go to
    `stderr_fd`. The process's fd 2 points there during the call, so the call must not overlap
    another thread's use of stderr that matters."""
    _protoc_compiler = _load_compiler()
    encoded = [b"protoc", *(argument.encode() for argument in arguments)]
    return _with_fd2_to(stderr_fd, lambda: int(_protoc_compiler.run_main(encoded)))


def _with_fd2_to(target: int, call: Callable[[], int]) -> int:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(target, 2)
        return call()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _load_compiler() -> Any:
    """grpc_tools' compiler extension, loaded with lazy symbol binding. Python loads extensions
    with RTLD_NOW, which resolves every symbol of this 8 MB C++ library up front (about 13,000
    relocations, a quarter of its load time: ~3 ms of a small tree's breaking check); lazily,
    each is resolved on its first call. Only the binding changes: the library, and which of its
    symbols resolve, are the same. (Unix only: elsewhere Python has no dlopen flags.)"""
    if not hasattr(sys, "setdlopenflags"):
        from grpc_tools import _protoc_compiler

        return _protoc_compiler
    flags = sys.getdlopenflags()
    sys.setdlopenflags((flags & ~os.RTLD_NOW) | os.RTLD_LAZY)
    try:
        from grpc_tools import _protoc_compiler
    finally:
        sys.setdlopenflags(flags)
    return _protoc_compiler
