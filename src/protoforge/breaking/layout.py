"""A baseline tree's own layout: where its proto roots are and what it excludes.

A baseline is read the way it lays itself out, as buf reads an `--against` directory with its
own buf.yaml: its protoforge config's `proto_roots` and `exclude`, else its buf.yaml's roots or
modules (buf.yaml's excluded directories are added in both cases). A tree that declares nothing
is a checkout of the project (today's roots, if present there) or a plain tree of contracts (the
directory is the one root).
"""

from __future__ import annotations

from pathlib import Path

from protoforge.breaking.errors import BaselineError
from protoforge.config import Config
from protoforge.paths import display_path


def baseline_layout(directory: Path, config: Config) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """(proto roots, exclude globs) of a baseline tree whose project directory is `directory`.

    A baseline is read the way it lays itself out, as buf reads an `--against` directory with
    its own buf.yaml: its protoforge config's `proto_roots` and `exclude`, else its buf.yaml's
    roots or modules; buf.yaml's excluded directories are added in both cases. A tree that
    declares nothing is a checkout of the project (today's roots, if present there) or a plain
    tree of contracts (the directory is the one root)."""
    declared = declared_layout(directory, config)
    return declared if declared is not None else (_dir_roots(directory, config), config.exclude)


def declared_layout(
    directory: Path, config: Config
) -> tuple[tuple[Path, ...], tuple[str, ...]] | None:
    """The layout the tree at `directory` declares itself, None when it declares none."""
    declared = _declared_roots(directory, config)
    buf_yaml = _buf_yaml_in(directory, declared or ())
    if declared is None and buf_yaml is not None:
        from protoforge.breaking.bufconfig import module_dirs, read_buf_yaml

        declared = tuple(d for d, _ in module_dirs(read_buf_yaml(buf_yaml), buf_yaml.parent))
    if declared is None:
        return None
    exclude = _declared_exclude(directory, config)
    if buf_yaml is not None:
        from protoforge.breaking.bufconfig import exclude_globs, read_buf_yaml

        globs = exclude_globs(read_buf_yaml(buf_yaml), buf_yaml.parent, declared)
        exclude = (*exclude, *(g for g in globs if g not in exclude))
    return declared, exclude


def _config_table(directory: Path, config: Config) -> dict[str, object] | None:
    """The protoforge table of the tree's own protoforge.toml / pyproject.toml, if any."""
    names = ["protoforge.toml", "pyproject.toml"]
    if config.config_path is not None and config.config_path.name not in names:
        names.insert(0, config.config_path.name)
    for name in names:
        path = directory / name
        if not path.is_file():
            continue
        from protoforge.breaking.bufyaml import YamlError, decode
        from protoforge.config.load import parse_toml

        try:
            data = parse_toml(path, decode(path.read_bytes()))
        except (YamlError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
            raise BaselineError(
                f"the baseline's {display_path(path)} cannot be read: {exc}"
            ) from None
        table = data.get("tool", {}).get("protoforge") if name == "pyproject.toml" else data
        if isinstance(table, dict) and "proto_roots" in table:
            return table
    return None


def _declared_roots(directory: Path, config: Config) -> tuple[Path, ...] | None:
    table = _config_table(directory, config)
    if table is None:
        return None
    roots = table.get("proto_roots")
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        return None
    return tuple((directory / root).resolve() for root in roots)


def _declared_exclude(directory: Path, config: Config) -> tuple[str, ...]:
    table = _config_table(directory, config)
    exclude = table.get("exclude") if table is not None else None
    if isinstance(exclude, list) and all(isinstance(e, str) for e in exclude):
        return tuple(exclude)
    return ()


def _buf_yaml_in(directory: Path, roots: tuple[Path, ...]) -> Path | None:
    from protoforge.breaking.bufconfig import first_buf_yaml

    return first_buf_yaml(directory, *roots)


def _dir_roots(directory: Path, config: Config) -> tuple[Path, ...]:
    relative = [relative_root(root, config.project_dir) for root in config.proto_roots]
    if all(rel is not None for rel in relative) and any(
        rel != Path(".") and (directory / rel).is_dir() for rel in relative if rel is not None
    ):
        return tuple(directory / rel for rel in relative if rel is not None)
    return (directory,)


def relative_root(root: Path, base: Path) -> Path | None:
    return root.relative_to(base) if root.is_relative_to(base) else None
