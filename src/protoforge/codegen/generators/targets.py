"""Other-language targets: what their protoc generators or plugins returned, confined to each
target's `out`, plus the manifest that says which files there are gen's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from protoforge.config import Target
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.output.ownership import MANIFEST, clean_relative, manifest_text
from protoforge.paths import display_path


def target_files(
    targets: tuple[Target, ...], outputs: Mapping[str, Mapping[str, bytes]]
) -> dict[Path, bytes]:
    """Every target's files (`outputs`: target name -> relative path -> content) and its
    manifest, by absolute path. A plugin that names a file outside its directory is an error,
    before anything is written."""
    files: dict[Path, bytes] = {}
    for target in targets:
        produced = outputs.get(target.name, {})
        unsafe = sorted(name for name in produced if not clean_relative(name) or name == MANIFEST)
        if unsafe:
            raise ProtoforgeError(
                f"target {target.name!r}: the plugin returned file names outside its directory",
                diagnostics=tuple(
                    Diagnostic(
                        f"targets.{target.name}",
                        0,
                        0,
                        "error",
                        f"{name!r} is not a relative path inside {display_path(target.out)}",
                    )
                    for name in unsafe
                ),
                hint="protoforge writes a plugin's files only inside the target's `out`; "
                "nothing was written. Fix the plugin or its options",
            )
        for relative, content in produced.items():
            files[target.out / relative] = content
        files[target.out / MANIFEST] = manifest_text(produced).encode()
    return files
