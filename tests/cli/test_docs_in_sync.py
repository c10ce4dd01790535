"""The README's command reference is the CLI's user manual: it must list exactly the options each
command accepts (and the choices of `--format`), so that a new option cannot ship undocumented
and a removed one cannot linger in the docs."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
from conftest import REPO

from protoforge.cli.app import app

README = (REPO / "README.md").read_text(encoding="utf-8")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])")


def _reference_sections() -> dict[str, str]:
    """`### protoforge NAME` subsection -> its text, inside `## Command reference`."""
    start = README.index("## Command reference")
    end = README.index("\n## ", start + 1)
    parts = re.split(r"^### protoforge ([a-z-]+)\n", README[start:end], flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _table_rows(section: str) -> dict[str, str]:
    """Option cell -> meaning cell of the section's table."""
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`-"):
            rows[cells[0]] = cells[1]
    return rows


# typer's command objects (click's API; typer vendors its own click): read by attribute.
COMMAND: Any = typer.main.get_command(app)
SECTIONS = _reference_sections()


def test_every_command_has_a_section_and_every_section_a_command() -> None:
    assert sorted(SECTIONS) == sorted(COMMAND.commands)


@pytest.mark.parametrize("name", sorted(COMMAND.commands))
def test_documented_options_are_exactly_the_accepted_ones(name: str) -> None:
    command = COMMAND.commands[name]
    accepted = {
        option
        for param in command.params
        if param.param_type_name == "option"
        for option in (*param.opts, *param.secondary_opts)
    }
    documented = {option for cell in _table_rows(SECTIONS[name]) for option in OPTION.findall(cell)}
    assert documented == accepted, (
        f"README `protoforge {name}` reference: undocumented {sorted(accepted - documented)}, "
        f"documented but not accepted {sorted(documented - accepted)}"
    )


@pytest.mark.parametrize(
    "name", sorted(n for n, c in COMMAND.commands.items() for p in c.params if "--format" in p.opts)
)
def test_documented_formats_are_exactly_the_choices(name: str) -> None:
    (param,) = (p for p in COMMAND.commands[name].params if "--format" in p.opts)
    choices = {member.value for member in param.type_descriptor.annotation}  # the StrEnum
    (meaning,) = (m for cell, m in _table_rows(SECTIONS[name]).items() if "--format" in cell)
    assert set(re.findall(r"`([a-z]+)`", meaning)) == choices


def test_the_configuration_reference_lists_exactly_the_accepted_keys() -> None:
    """README's `## Configuration reference` table against the config schema: every key a
    config may set (nested tables spelled `client.retry.x`, `targets.NAME.x`) is documented,
    and every documented key is accepted."""
    from protoforge.config.schema import CLIENT_KEYS, RETRY_KEYS, TARGET_KEYS, TOP_KEYS

    accepted = {key for key in TOP_KEYS if key not in ("client", "targets")}
    accepted |= {f"client.{key}" for key in CLIENT_KEYS if key != "retry"}
    accepted |= {f"client.retry.{key}" for key in RETRY_KEYS}
    accepted |= {f"targets.NAME.{key}" for key in TARGET_KEYS}
    start = README.index("## Configuration reference")
    section = README[start : README.index("\n## ", start + 1)]
    documented = set(re.findall(r"^\| `([a-zA-Z_.]+)` \|", section, flags=re.M))
    assert documented == accepted, (
        f"undocumented {sorted(accepted - documented)}, "
        f"documented but not accepted {sorted(documented - accepted)}"
    )
