"""pysource: pieces of Python source that every generator writes the same way.

- `Imports`: a registry that the templates ask for a name (`imports.name("typing", "Any")` returns
  the name to write) and that writes the import block from what was asked for, in ruff's isort
  order. An import can be neither missing nor unused, and a user's template can add its own.
- `docstring`, `py_literal`: docstrings and JSON-like literals as `ruff format` leaves them.
- `fit`: the one layout rule that depends on the line length (a bracketed expression on one
  line, else split the way `ruff format` splits it). Everything else the templates write in
  exploded forms with magic trailing commas, which `ruff format` keeps at any width; a
  one-element subscript such as `Iterator[x_pb2.Point]` has no such form (`ruff format` reads
  `Iterator[x_pb2.Point,]` as a tuple and joins it again), so templates lay those out with `fit`.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from protoforge import naming

LINE_LENGTH = 100  # the generated code passes `ruff check`/`ruff format --check` at this width

# Written where the import block goes; replaced by the block once the whole module is rendered
# (templates ask for names after the place where their imports are written).
IMPORTS_MARKER = "\x00protoforge-imports\x00"


@dataclass(frozen=True)
class ImportBlock:
    """Import lines in isort/ruff order, one tuple per section (stdlib, third party, local)."""

    stdlib: tuple[str, ...]
    third_party: tuple[str, ...]
    local: tuple[str, ...]

    def text(self) -> str:
        sections = [s for s in (self.stdlib, self.third_party, self.local) if s]
        return "\n\n".join("\n".join(lines) for lines in sections)


class Imports:
    """The imports of one generated module. `is_local(module)` says whether a module belongs
    to the generated tree: those are imported relatively from inside `out` (`relative`), else
    absolutely, in the last section. Asking twice for a name returns the same name."""

    def __init__(
        self, module: str, is_local: Callable[[str], bool], *, relative: bool = True
    ) -> None:
        self.module = module
        self._is_local = is_local
        self._relative = relative
        self._modules: dict[str, str] = {}  # module -> local name (`import m as a`)
        self._names: dict[tuple[str, str], str] = {}  # (module, name) -> local name
        self._taken: dict[str, tuple[str, str | None]] = {}

    def __str__(self) -> str:
        return IMPORTS_MARKER

    def name(self, module: str, name: str) -> str:
        """`from module import name`; the name to write (`name`, or an alias if taken)."""
        key = (module, name)
        if key not in self._names:
            self._names[key] = self._claim(name, (module, name))
        return self._names[key]

    def module_alias(self, module: str, alias: str | None = None) -> str:
        """`import module [as alias]`; the name to write."""
        if module not in self._modules:
            wanted = alias or module.split(".")[0]
            self._modules[module] = self._claim(wanted, (module, None))
        return self._modules[module]

    def taken(self) -> frozenset[str]:
        return frozenset(self._taken)

    def _claim(self, wanted: str, owner: tuple[str, str | None]) -> str:
        candidate = wanted
        while candidate in self._taken and self._taken[candidate] != owner:
            candidate += "_"
        self._taken[candidate] = owner
        return candidate

    def finish(self, text: str) -> str:
        """The rendered module with the import block in place of the marker."""
        return text.replace(IMPORTS_MARKER, self.block().text())

    def block(self) -> ImportBlock:
        stdlib_plain: list[str] = []
        stdlib_from: dict[str, set[str]] = {}
        third: list[str] = []
        local: list[tuple[str, str, str | None]] = []  # (module, name or "", alias)
        for module, alias in self._modules.items():
            if self._is_local(module):
                local.append((module, "", alias))
            elif _is_stdlib(module) and alias == module:
                stdlib_plain.append(f"import {module}")
            else:
                third += _absolute_imports([(module, alias)])
        for (module, name), alias in self._names.items():
            if self._is_local(module):
                local.append((module, name, alias))
            elif _is_stdlib(module) and alias == name:
                stdlib_from.setdefault(module, set()).add(name)
            else:
                third.append(_from_line(module, [_as(name, alias)]))
        return ImportBlock(
            stdlib=tuple(sorted(stdlib_plain) + _from_lines(stdlib_from)),
            third_party=_isort_section(_merge_from_lines(third)),
            local=tuple(self._local_lines(local)),
        )

    def _local_lines(self, entries: list[tuple[str, str, str | None]]) -> list[str]:
        """Relative imports where possible (they sort the same for every isort configuration),
        furthest package first; absolute ones (another top-level package) before them."""
        absolute: list[str] = []
        relative: dict[str, list[str]] = {}
        for module, name, alias in entries:
            parts = naming.relative_import(self.module, module) if self._relative else None
            if name:  # from module import name
                if parts is None:
                    absolute.append(_from_line(module, [_as(name, alias)]))
                else:
                    base, last = parts
                    spelled = base + last if base.endswith(".") else f"{base}.{last}"
                    relative.setdefault(spelled, []).append(_as(name, alias))
                continue
            if parts is None:
                if self._relative:
                    absolute.append(f"import {module} as {alias}")
                else:
                    absolute += _absolute_imports([(module, alias or module)])
                continue
            base, last = parts
            relative.setdefault(base, []).append(_as(last, alias))
        lines = _merge_from_lines(sorted(absolute)) if not self._relative else sorted(absolute)
        if not self._relative:
            return list(_isort_section(lines))
        for base in sorted(relative, key=lambda b: (-(len(b) - len(b.lstrip("."))), b)):
            plain = sorted((n for n in relative[base] if " as " not in n), key=_member_key)
            if plain:
                lines.append(_from_line(base, plain))
            for aliased in sorted(n for n in relative[base] if " as " in n):
                lines.append(f"from {base} import {aliased}")
        return lines


def _is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def _as(name: str, alias: str | None) -> str:
    return name if alias in (None, name) else f"{name} as {alias}"


def _from_line(module: str, names: list[str]) -> str:
    """`from module import a, b`, or exploded with a trailing comma when too long (as ruff's
    isort writes it)."""
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    body = "".join(f"    {name},\n" for name in names)
    return f"from {module} import (\n{body})"


def _from_lines(from_imports: dict[str, set[str]]) -> list[str]:
    return [
        _from_line(module, sorted(from_imports[module], key=_member_key))
        for module in sorted(from_imports)
    ]


def _merge_from_lines(lines: Iterable[str]) -> list[str]:
    """One `from m import a, b` per module for unaliased names (isort's combine rule);
    aliased names keep a line each."""
    merged: dict[str, list[str]] = {}
    rest: list[str] = []
    for line in lines:
        words = line.split()
        if words[0] == "from" and " as " not in line and "(" not in line:
            merged.setdefault(words[1], []).extend(n.strip(",") for n in words[3:])
        else:
            rest.append(line)
    for module, names in merged.items():
        rest.append(_from_line(module, sorted(set(names), key=_member_key)))
    return rest


def _member_key(name: str) -> tuple[int, str]:
    # isort's order-by-type: CONSTANTS, then Classes, then everything else.
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _isort_section(lines: Iterable[str]) -> tuple[str, ...]:
    """One import section as ruff's isort orders it: `import x` lines, then `from x import y`
    lines, each by module name."""

    def key(line: str) -> tuple[bool, str, str]:
        words = line.split()
        return (words[0] == "from", words[1].lower(), line)

    return tuple(sorted(lines, key=key))


def _absolute_imports(targets: Iterable[tuple[str, str]]) -> list[str]:
    """`import m as a` for top-level modules, then `from p import n[, …]` grouped by `p`."""
    plain: list[str] = []
    grouped: dict[str, list[str]] = {}
    for module, alias in targets:
        if "." not in module:
            plain.append(f"import {module}" + (f" as {alias}" if alias != module else ""))
            continue
        parent, name = module.rsplit(".", 1)
        grouped.setdefault(parent, []).append(_as(name, alias))
    lines = sorted(plain)
    for parent in sorted(grouped):
        names = sorted(n for n in grouped[parent] if " as " not in n)
        if names:
            lines.append(_from_line(parent, names))
        lines += [f"from {parent} import {n}" for n in sorted(grouped[parent]) if " as " in n]
    return lines


# --- layout -----------------------------------------------------------------------------------


def fit(indent: int, head: str, items: list[str], tail: str) -> str:
    """`head` + comma-separated `items` + `tail` as `ruff format` lays out a bracketed sequence
    at LINE_LENGTH: on one line; else the items together on one indented line; else one item
    per line with a trailing comma."""
    pad, inner = " " * indent, " " * (indent + 4)
    joined = ", ".join(items)
    if len(pad) + len(head) + len(joined) + len(tail) <= LINE_LENGTH:
        return f"{pad}{head}{joined}{tail}"
    # One item stays whole even when too long: `X[item,]` would be a tuple, not a magic comma.
    if len(inner) + len(joined) <= LINE_LENGTH or len(items) == 1:
        return f"{pad}{head}\n{inner}{joined}\n{pad}{tail}"
    exploded = "".join(f"{inner}{item},\n" for item in items)
    return f"{pad}{head}\n{exploded}{pad}{tail}"


def fit_union(indent: int, head: str, members: list[str], tail: str) -> str:
    """An annotation `A | B` as `ruff format` splits it when too long: one member per line."""
    pad = " " * indent
    line = f"{pad}{head}{' | '.join(members)}{tail}"
    if len(line) <= LINE_LENGTH:
        return line
    rest = "".join(f"\n{pad}| {member}" for member in members[1:])
    return f"{pad}{head}{members[0]}{rest}{tail}"


def docstring(text: str, indent: int, *, reflow: bool = False) -> str:
    """A docstring statement, indented, formatted the way `ruff format` formats it, and wrapped
    to the line length. "" for no text. `reflow`: the text is a contract's comment, whose
    paragraphs are refilled to the width (see `reflow_comment`)."""
    if not text.strip():
        return ""
    pad = " " * indent
    width = LINE_LENGTH - indent
    if reflow:
        text = reflow_comment(text, width - 6)
    lines: list[str] = []
    for raw in text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split("\n"):
        line = raw.rstrip()
        if len(line) + 6 > width and line.strip():
            lead = line[: len(line) - len(line.lstrip())]
            lines += textwrap.wrap(
                line,
                width=width - 6,
                subsequent_indent=lead,
                break_long_words=False,
                break_on_hyphens=False,
            )
        else:
            lines.append(line)
    if lines[-1].endswith('"'):
        lines[-1] += " "
    if len(lines) == 1:
        return f'{pad}"""{lines[0]}"""\n'
    body = "\n".join(f"{pad}{line}" if line else "" for line in lines[1:])
    return f'{pad}"""{lines[0]}\n{body}\n{pad}"""\n'


_BULLET = re.compile(r"([-*+\u2022]|\d+[.)])\s")
_FENCE = ("```", "~~~")


def reflow_comment(text: str, width: int) -> str:
    """A proto comment with its prose refilled to `width`: comments are wrapped by hand, at
    whatever width the author's editor had, and keeping those breaks gives ragged docstrings.
    Paragraphs stay separated by their blank lines. Kept exactly as written: indented lines
    (code, continuations), bullets and numbered items with the lines that follow them in the
    same paragraph, fenced blocks, and lines starting with `|`, `#` or `>` (tables, headings,
    quotes)."""
    out: list[str] = []
    prose: list[str] = []
    kept_block = False  # the paragraph so far ends with a line kept as written
    fenced = False

    def flush() -> None:
        if prose:
            out.extend(
                textwrap.wrap(
                    " ".join(prose), width, break_long_words=False, break_on_hyphens=False
                )
            )
            prose.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(_FENCE):
            flush()
            fenced = not fenced
            out.append(line)
            kept_block = True
        elif fenced:
            out.append(line)
        elif not stripped:
            flush()
            out.append("")
            kept_block = False
        elif kept_block or line[0].isspace() or _BULLET.match(line) or line[0] in "|#>":
            flush()
            out.append(line)
            kept_block = True
        else:
            prose.append(stripped)
    flush()
    return "\n".join(out)


def py_literal(value: Any, indent: int = 0) -> str:
    """A Python literal for JSON-like data, in the exploded style `ruff format` keeps (one item
    per line, magic trailing comma), so that it never depends on line length."""
    pad = " " * (indent + 4)
    if isinstance(value, dict) and value:
        items = "".join(
            f"{pad}{json.dumps(key)}: {py_literal(item, indent + 4)},\n"
            for key, item in value.items()
        )
        return "{\n" + items + " " * indent + "}"
    if isinstance(value, list | tuple) and value:
        items = "".join(f"{pad}{py_literal(item, indent + 4)},\n" for item in value)
        return "[\n" + items + " " * indent + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)
