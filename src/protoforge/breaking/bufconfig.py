"""The project's `buf.yaml` breaking section (v1beta1, v1 and v2), translated for images.

buf reads a module's config from its directory, but protoforge hands buf two descriptor-set images,
which have no module. So the breaking section is parsed here and passed to buf as a generated
config of the same version (`--config '{...}'`: rule IDs and categories keep the meaning buf gives
them in that version), with every path rewritten the way buf sees files in an image: as import
paths, relative to the proto root. A v2 workspace whose modules carry different breaking
sections becomes several groups, each checked by its own buf run over its own files.
"""

from __future__ import annotations

from pathlib import Path

from protoforge.config import Config
from protoforge.errors import ConfigError, Diagnostic
from protoforge.paths import display_path
from protoforge.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any

    from protoforge.breaking.bufyaml import Document

BUF_YAML_NAMES = ("buf.yaml", "buf.yml")
VERSIONS = ("v1beta1", "v1", "v2")
_BREAKING_KEYS = (
    "use",
    "except",
    "ignore",
    "ignore_only",
    "ignore_unstable_packages",
    "disable_builtin",
)


# NamedTuples, not dataclasses: see RawFinding in buf.py.


class BreakingConfig(Record):
    """One effective breaking configuration, paths already import paths. `version` is the
    buf.yaml version it came from: rule IDs and categories mean what buf gives them in that
    version (FILE_SAME_PACKAGE is FILE-only in v1beta1; FIELD_SAME_CTYPE is a deprecated alias
    in v1beta1 and v1 and unknown in v2), so buf gets the config in the same version. Without a
    buf.yaml buf applies its v1 defaults."""

    use: tuple[str, ...] = ("FILE",)
    except_: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    ignore_only: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ignore_unstable_packages: bool = False
    version: str = "v1"

    def to_buf_json(self) -> str:
        breaking: dict[str, Any] = {"use": list(self.use)}
        if self.except_:
            breaking["except"] = list(self.except_)
        if self.ignore:
            breaking["ignore"] = list(self.ignore)
        if self.ignore_only:
            breaking["ignore_only"] = {rule: list(paths) for rule, paths in self.ignore_only}
        if self.ignore_unstable_packages:
            breaking["ignore_unstable_packages"] = True
        return json_text({"version": self.version, "breaking": breaking})


class RuleGroup(Record):
    """The proto roots (indices into `Config.proto_roots`) of one module, and its breaking
    config. buf compares a workspace module by module, each module's images holding its own
    files and what they import on that side; so a file that only the baseline's files imported
    from another module is deleted for that module, whatever the rules. Two modules are two
    groups even with the same config."""

    config: BreakingConfig
    roots: tuple[int, ...]


class BufSettings(Record):
    source: Path | None  # the buf.yaml read, None for buf's defaults
    groups: tuple[RuleGroup, ...] = ()
    # buf.yaml's build excludes (v1beta1/v1 `build.excludes`, v2 `modules[].excludes`) as
    # import-path globs: buf leaves those files out of its image, so protoforge does too
    exclude: tuple[str, ...] = ()


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def json_text(value: object) -> str:
    """`json.dumps(value, sort_keys=True)` for the strings, booleans, lists and dicts of a buf
    configuration, character for character, without importing json: the configuration is
    written before buf can start comparing, and json's import (its decoder compiles regular
    expressions) is ~3 ms of a small tree's check that only the report needs (the console route
    imports it while buf compares: cli/direct.py)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ", ".join(f"{_json_string(k)}: {json_text(v)}" for k, v in items) + "}"
    raise TypeError(f"not part of a buf configuration: {value!r}")


def _json_string(text: str) -> str:
    """A JSON string as json.dumps writes it (ensure_ascii: everything outside printable ASCII
    as \\uXXXX, astral characters as surrogate pairs)."""
    parts = []
    for char in text:
        if char in _JSON_ESCAPES:
            parts.append(_JSON_ESCAPES[char])
        elif " " <= char <= "~":
            parts.append(char)
        elif (code := ord(char)) < 0x10000:
            parts.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            parts.append(f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}")
    return '"' + "".join(parts) + '"'


def find_buf_yaml(config: Config) -> Path | None:
    """buf.yaml next to the protoforge config (the project dir), else in a proto root (the usual
    place of a v1 module's buf.yaml)."""
    return first_buf_yaml(*_project_dirs(config), *config.proto_roots)


def first_buf_yaml(*directories: Path) -> Path | None:
    """The first buf.yaml (or buf.yml) in `directories`, in their order."""
    for directory in directories:
        for name in BUF_YAML_NAMES:
            if (directory / name).is_file():
                return directory / name
    return None


def _project_dirs(config: Config) -> list[Path]:
    """Where a project-level buf file is: next to the protoforge config, in the project dir."""
    return [*([config.config_path.parent] if config.config_path else []), config.project_dir]


def read_buf_yaml(path: Path) -> Document:
    """The parsed buf.yaml; ConfigError (exit 2) with file and line for anything unreadable."""
    from protoforge.breaking.bufyaml import YamlError, decode, parse

    shown = display_path(path)
    try:
        document = parse(decode(path.read_bytes()))
    except YamlError as exc:
        raise _error(shown, exc.line, exc.message) from None
    except OSError as exc:
        raise _error(shown, 0, f"cannot read: {exc.strerror}") from None
    if not isinstance(document.data, dict):
        raise _error(shown, 1, "buf.yaml must be a mapping with a `version` key")
    version = document.data.get("version")
    if version not in VERSIONS:
        raise _error(
            shown,
            document.line("version") or 1,
            f"unsupported buf.yaml version {version!r}; expected one of {', '.join(VERSIONS)}",
        )
    return document


def module_dirs(document: Document, base: Path) -> list[tuple[Path, tuple[Path, ...]]]:
    """(module or root directory, excluded directories) as buf.yaml lays them out: v1beta1
    `build.roots` (excludes relative to each root), v1 the directory of buf.yaml, v2 `modules`
    (paths relative to the workspace)."""
    data = document.data
    version = data["version"]

    def paths(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    build = data.get("build") if isinstance(data.get("build"), dict) else {}
    if version == "v1beta1":
        roots = paths(build.get("roots")) or ["."]
        excludes = paths(build.get("excludes"))
        return [
            ((base / r).resolve(), tuple((base / r / e).resolve() for e in excludes)) for r in roots
        ]
    if version == "v1":
        return [(base.resolve(), tuple((base / e).resolve() for e in paths(build.get("excludes"))))]
    modules = data.get("modules") if isinstance(data.get("modules"), list) else None
    result = []
    for module in modules or [{"path": "."}]:
        if isinstance(module, dict):
            directory = (base / str(module.get("path", "."))).resolve()
            excluded = tuple((base / e).resolve() for e in paths(module.get("excludes")))
            result.append((directory, excluded))
    return result


def exclude_globs(
    document: Document, base: Path, roots: tuple[Path, ...], indexes: tuple[int, ...] | None = None
) -> tuple[str, ...]:
    """buf.yaml's excluded directories as exclude patterns of the proto roots they lie in
    (`roots[i]` for i in `indexes`, all by default): each matches its own root's import paths
    only (`discover.root_pattern`)."""
    from protoforge.source.discover import root_pattern

    globs: list[str] = []
    for _, excluded in module_dirs(document, base):
        for directory in excluded:
            for index in range(len(roots)) if indexes is None else indexes:
                root = roots[index]
                if directory == root or root.is_relative_to(directory):
                    globs.append(root_pattern(index, "*"))
                elif directory.is_relative_to(root):
                    glob = directory.relative_to(root).as_posix() + "/*"
                    globs.append(root_pattern(index, glob))
    return tuple(dict.fromkeys(globs))


def needs_baseline_locations(settings: BufSettings) -> bool:
    """Whether the baseline must be compiled with source info. buf decides `ignore`,
    `ignore_only` and `ignore_unstable_packages` by where a finding is, on both sides: a
    deletion (a message gone from a package along with its file) is only in the baseline, and a
    file that moved from an unstable package to a stable one is ignored for its old package.
    buf reads the baseline side of that from the set's locations, which a set compiled without
    source info does not have: the finding would be reported, ignored or not. Without these
    keys the locations are never read, and a set without them is smaller and quicker for buf to
    read."""
    return any(
        group.config.ignore or group.config.ignore_only or group.config.ignore_unstable_packages
        for group in settings.groups
    )


def load_buf_settings(config: Config) -> BufSettings:
    path = find_buf_yaml(config)
    all_roots = tuple(range(len(config.proto_roots)))
    if len(all_roots) > 1 and (
        path.parent.resolve() in config.proto_roots if path else _workspace_file(config)
    ):
        return _per_root_settings(config)
    if path is None:
        return BufSettings(None, (RuleGroup(BreakingConfig(), all_roots),))
    return _settings(path, config, all_roots)


def _workspace_file(config: Config) -> bool:
    """Whether the project is a v1 workspace (a buf.work.yaml next to its config or in its
    directory): its directories are modules, with or without a buf.yaml each."""
    names = ("buf.work.yaml", "buf.work.yml")
    return any((d / n).is_file() for d in _project_dirs(config) for n in names)


def _per_root_settings(config: Config) -> BufSettings:
    """Several proto roots, no buf.yaml above them and one in a root: each root is a module of
    its own, as buf.work.yaml's directories are in a v1 workspace, checked with its own buf.yaml
    (rules, ignores, excludes), or with buf's defaults where it has none. One group per root,
    even where two have the same rules: buf compares module by module (see RuleGroup)."""
    groups: list[RuleGroup] = []
    exclude: list[str] = []
    source: Path | None = None
    for index, root in enumerate(config.proto_roots):
        path = first_buf_yaml(root)
        if path is None:
            groups.append(RuleGroup(BreakingConfig(), (index,)))
            continue
        source = source or path
        settings = _settings(path, config, (index,))
        groups += settings.groups
        exclude += (glob for glob in settings.exclude if glob not in exclude)
    return BufSettings(source, tuple(groups), tuple(exclude))


def _settings(path: Path, config: Config, roots: tuple[int, ...]) -> BufSettings:
    """The rule groups of the buf.yaml at `path` for the proto roots numbered `roots`."""
    document = read_buf_yaml(path)
    data = document.data
    version = data["version"]
    shown = display_path(path)
    base = path.parent
    exclude = exclude_globs(document, base, config.proto_roots, roots)
    if version == "v2":
        top = _breaking(document, ("breaking",), shown, [base], config, version)
        modules = data.get("modules") or []
        if not isinstance(modules, list):
            raise _error(shown, document.line("modules"), "modules must be a list")
        # one group per module (buf compares module by module, see RuleGroup), under the
        # module's own breaking section if it has one; roots in no module under the top one
        groups: list[RuleGroup] = []
        placed: set[int] = set()
        for number, module in enumerate(modules):
            if not isinstance(module, dict):
                raise _error(
                    shown, document.line("modules", number), "each module must be a mapping"
                )
            section = top
            if module.get("breaking") is not None:
                at = ("modules", number, "breaking")
                section = _breaking(document, at, shown, [base], config, version)
            module_dir = (base / str(module.get("path", "."))).resolve()
            inside = tuple(
                index
                for index in roots
                if index not in placed
                and (
                    config.proto_roots[index] == module_dir
                    or config.proto_roots[index].is_relative_to(module_dir)
                )
            )
            if inside:
                groups.append(RuleGroup(section, inside))
                placed.update(inside)
        rest = tuple(index for index in roots if index not in placed)
        if rest or not groups:
            groups.append(RuleGroup(top, rest))
        return BufSettings(path, tuple(groups), exclude)
    bases = [directory for directory, _ in module_dirs(document, base)]
    section = _breaking(document, ("breaking",), shown, bases, config, version)
    return BufSettings(path, (RuleGroup(section, roots),), exclude)


def _breaking(
    document: Document,
    at: tuple[str | int, ...],
    shown: str,
    bases: list[Path],
    config: Config,
    version: str,
) -> BreakingConfig:
    section: Any = document.data
    for step in at:
        section = section.get(step) if isinstance(section, dict) else section[step]
    if section is None:
        return BreakingConfig(version=version)
    if not isinstance(section, dict):
        raise _error(shown, document.line(*at), "breaking must be a mapping")
    for key in section:
        if key not in _BREAKING_KEYS:
            raise _error(
                shown,
                document.line(*at, key),
                f"unknown key {key!r} in breaking; known: {', '.join(_BREAKING_KEYS)}",
            )

    def strings(key: str) -> tuple[str, ...]:
        value = section.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _error(shown, document.line(*at, key), f"breaking.{key}: expected a list")
        return tuple(value)

    use = strings("use") or ("FILE",)
    ignore_only_raw = section.get("ignore_only") or {}
    if not isinstance(ignore_only_raw, dict):
        raise _error(shown, document.line(*at, "ignore_only"), "ignore_only: expected a map")
    ignore_only: list[tuple[str, tuple[str, ...]]] = []
    for rule, paths in sorted(ignore_only_raw.items()):
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list):
            raise _error(
                shown,
                document.line(*at, "ignore_only", rule),
                f"ignore_only.{rule}: expected a list",
            )
        ignore_only.append((rule, _import_paths(paths, bases, config)))
    unstable = section.get("ignore_unstable_packages", False)
    if not isinstance(unstable, bool):
        raise _error(
            shown,
            document.line(*at, "ignore_unstable_packages"),
            "ignore_unstable_packages: expected true or false",
        )
    return BreakingConfig(
        use=use,
        except_=strings("except"),
        ignore=_import_paths(list(strings("ignore")), bases, config),
        ignore_only=tuple(ignore_only),
        ignore_unstable_packages=unstable,
        version=version,
    )


def _import_paths(paths: list[Any], bases: list[Path], config: Config) -> tuple[str, ...]:
    """buf.yaml paths are relative to the module (v1), a build root (v1beta1) or the workspace
    (v2); in an image, buf matches them against import paths. A path that is not below a proto
    root is kept as written (it may already be an import path)."""
    result: list[str] = []
    for raw in paths:
        written = str(raw).strip("/")
        mapped: list[str] = []
        for base in bases:
            absolute = (base / written).resolve()
            for root in config.proto_roots:
                if absolute == root:
                    mapped += sorted({p.relative_to(root).parts[0] for p in root.iterdir()})
                elif absolute.is_relative_to(root):
                    mapped.append(absolute.relative_to(root).as_posix())
        result += mapped or [written]
    return tuple(dict.fromkeys(result))


def _error(shown: str, line: int, message: str) -> ConfigError:
    return ConfigError(
        "invalid buf.yaml",
        diagnostics=(Diagnostic(shown, line, 1 if line else 0, "error", message),),
        hint="see https://buf.build/docs/configuration/v2/buf-yaml for the breaking section",
    )


def with_buf_excludes(config: Config, settings: BufSettings) -> Config:
    """The config with buf.yaml's excluded directories added to `exclude`: buf leaves them out
    of its images, so check-breaking does too."""
    from dataclasses import replace

    extra = tuple(glob for glob in settings.exclude if glob not in config.exclude)
    return replace(config, exclude=(*config.exclude, *extra)) if extra else config
