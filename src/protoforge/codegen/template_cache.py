"""Compiled templates, kept between gens: in memory for the process, on disk for the next one.

Jinja compiles a template to Python source and then to bytecode each time an Environment loads
it, and protoforge's three service templates (macros, loops, many small blocks) take about a
third of a second to compile: on a small tree that was most of gen's CPU, paid again by every
run and, in one process (`gen --watch`, the API), by every Environment. Jinja's bytecode cache
keys each entry by the template's name and file and checks a digest of its source, so a changed
template, or a user's file that replaces a built-in one, is compiled afresh.

- In memory: the code objects, by (entry, source digest), for the life of the process.
- On disk: `<cache>/templates/jinja-<version>-<options>/` (see `cachedir`), one file per
  template as Jinja writes them (its magic number holds Jinja's bytecode format and Python's
  version). A file that cannot be read, or is cut short, means a compile; so does an
  unwritable cache directory.
"""

from __future__ import annotations

import contextlib
import hashlib
from types import CodeType

import jinja2
from jinja2.bccache import Bucket

from protoforge.cachedir import read_entry, write_entry

# Bounds the memory cache (a long-lived process that renders many users' template directories).
_MEMORY_ENTRIES = 256
_memory: dict[tuple[str, str], CodeType] = {}


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's bytecode cache, in memory and in `kind`, a directory of the cache root."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def load_bytecode(self, bucket: Bucket) -> None:
        code = _memory.get((bucket.key, bucket.checksum))
        if code is None:
            data = read_entry(self.kind, bucket.key)
            if data is not None:
                with contextlib.suppress(Exception):  # not Jinja's, or cut short: compile
                    bucket.bytecode_from_string(data)
            code = bucket.code
            if code is not None:
                _remember(bucket.key, bucket.checksum, code)
        bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            _remember(bucket.key, bucket.checksum, bucket.code)
            write_entry(self.kind, bucket.key, bucket.bytecode_to_string())


def compiled_templates(options: dict[str, object]) -> CompiledTemplates:
    """The cache for Environments built with `options`: they shape the compiled code, so each
    set of options (and each Jinja version) has its own directory."""
    digest = hashlib.sha256(repr(sorted(options.items())).encode()).hexdigest()[:16]
    return CompiledTemplates(f"templates/jinja-{jinja2.__version__}-{digest}")


def _remember(key: str, checksum: str, code: CodeType) -> None:
    if len(_memory) >= _MEMORY_ENTRIES:
        _memory.clear()
    _memory[(key, checksum)] = code
