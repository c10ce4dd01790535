"""The project's `buf.yaml` breaking section (v1beta1, v1 and v2), translated for images.

buf reads a module's config from its directory, but protoforge hands buf two descriptor-set images,
which have no module. So the breaking section is parsed here and passed to buf as a generated v2
config (`--config '{...}'`), with every path rewritten the way buf sees files in an image: as
import paths, relative to the proto root. A v2 workspace whose modules carry different breaking
sections becomes several groups, each checked by its own buf run over its own files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protoforge.config import Config, display_path
from protoforge.errors import ConfigError, Diagnostic

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


@dataclass(frozen=True)
class BreakingConfig:
    """One effective breaking configuration, paths already import paths."""

    use: tuple[str, ...] = ("FILE",)
    except_: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    ignore_only: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ignore_unstable_packages: bool = False

    def with_extra_ignores(self, paths: tuple[str, ...]) -> BreakingConfig:
        return BreakingConfig(
            self.use,
            self.except_,
            tuple(sorted({*self.ignore, *paths})),
            self.ignore_only,
            self.ignore_unstable_packages,
        )

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
        return json.dumps({"version": "v2", "breaking": breaking}, sort_keys=True)


@dataclass(frozen=True)
class RuleGroup:
    """The proto roots (indices into `Config.proto_roots`) that share one breaking config."""

    config: BreakingConfig
    roots: tuple[int, ...]


@dataclass(frozen=True)
class BufSettings:
    source: Path | None  # the buf.yaml read, None for buf's defaults
    groups: tuple[RuleGroup, ...] = field(default_factory=tuple)


def find_buf_yaml(config: Config) -> Path | None:
    """buf.yaml next to the protoforge config (the project dir), else in a proto root (the usual
    place of a v1 module's buf.yaml)."""
    candidates = [config.config_path.parent] if config.config_path else []
    candidates += [config.project_dir, *config.proto_roots]
    for directory in candidates:
        for name in BUF_YAML_NAMES:
            if (directory / name).is_file():
                return directory / name
    return None


def load_buf_settings(config: Config) -> BufSettings:
    path = find_buf_yaml(config)
    all_roots = tuple(range(len(config.proto_roots)))
    if path is None:
        return BufSettings(None, (RuleGroup(BreakingConfig(), all_roots),))
    from protoforge.breaking.yamlsubset import YamlSubsetError, loads

    text = path.read_text(encoding="utf-8")
    shown = display_path(path)
    try:
        data = loads(text)
    except YamlSubsetError as exc:
        raise _error(shown, exc.line, exc.message) from None
    if not isinstance(data, dict):
        raise _error(shown, 1, "buf.yaml must be a mapping with a `version` key")
    version = data.get("version")
    if version not in VERSIONS:
        raise _error(
            shown,
            _line_of(text, "version"),
            f"unsupported buf.yaml version {version!r}; expected one of {', '.join(VERSIONS)}",
        )
    base = path.parent
    if version == "v2":
        top = _breaking(data.get("breaking"), shown, text, [base], config)
        modules = data.get("modules") or []
        if not isinstance(modules, list):
            raise _error(shown, _line_of(text, "modules"), "modules must be a list")
        per_root: dict[int, BreakingConfig] = {}
        for module in modules:
            if not isinstance(module, dict):
                raise _error(shown, _line_of(text, "modules"), "each module must be a mapping")
            if module.get("breaking") is None:
                continue
            module_dir = (base / str(module.get("path", "."))).resolve()
            section = _breaking(module["breaking"], shown, text, [base], config)
            for index, root in enumerate(config.proto_roots):
                if root == module_dir or root.is_relative_to(module_dir):
                    per_root[index] = section
        grouped: dict[BreakingConfig, list[int]] = {}
        for index in all_roots:
            grouped.setdefault(per_root.get(index, top), []).append(index)
        groups = tuple(RuleGroup(cfg, tuple(roots)) for cfg, roots in grouped.items())
        return BufSettings(path, groups)
    if version == "v1beta1":
        build = data.get("build") or {}
        roots = build.get("roots") if isinstance(build, dict) else None
        bases = [(base / str(root)).resolve() for root in (roots or ["."])]
    else:
        bases = [base]
    section = _breaking(data.get("breaking"), shown, text, bases, config)
    return BufSettings(path, (RuleGroup(section, all_roots),))


def _breaking(
    section: Any, shown: str, text: str, bases: list[Path], config: Config
) -> BreakingConfig:
    if section is None:
        return BreakingConfig()
    line = _line_of(text, "breaking")
    if not isinstance(section, dict):
        raise _error(shown, line, "breaking must be a mapping")
    for key in section:
        if key not in _BREAKING_KEYS:
            raise _error(
                shown,
                _line_of(text, key, after=line),
                f"unknown key {key!r} in breaking; known: {', '.join(_BREAKING_KEYS)}",
            )

    def strings(key: str) -> tuple[str, ...]:
        value = section.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _error(shown, _line_of(text, key, after=line), f"breaking.{key}: expected a list")
        return tuple(value)

    use = strings("use") or ("FILE",)
    ignore_only_raw = section.get("ignore_only") or {}
    if not isinstance(ignore_only_raw, dict):
        raise _error(
            shown, _line_of(text, "ignore_only", after=line), "ignore_only: expected a map"
        )
    ignore_only: list[tuple[str, tuple[str, ...]]] = []
    for rule, paths in sorted(ignore_only_raw.items()):
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list):
            raise _error(
                shown, _line_of(text, rule, after=line), f"ignore_only.{rule}: expected a list"
            )
        ignore_only.append((rule, _import_paths(paths, bases, config)))
    unstable = section.get("ignore_unstable_packages", False)
    if not isinstance(unstable, bool):
        raise _error(
            shown,
            _line_of(text, "ignore_unstable_packages", after=line),
            "ignore_unstable_packages: expected true or false",
        )
    return BreakingConfig(
        use=use,
        except_=strings("except"),
        ignore=_import_paths(list(strings("ignore")), bases, config),
        ignore_only=tuple(ignore_only),
        ignore_unstable_packages=unstable,
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


def _line_of(text: str, key: str, *, after: int = 0) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().lstrip("- ").strip()
        if number > after and (stripped.startswith(f"{key}:") or stripped == f"{key}:"):
            return number
    return 0


def _error(shown: str, line: int, message: str) -> ConfigError:
    return ConfigError(
        "invalid buf.yaml",
        diagnostics=(Diagnostic(shown, line, 1 if line else 0, "error", message),),
        hint="see https://buf.build/docs/configuration/v2/buf-yaml for the breaking section",
    )
