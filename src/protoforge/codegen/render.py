"""render: the Jinja environment of the templates, and how their failures are reported.

One `Environment` factory (`environment`): StrictUndefined (a typo in a template is an error, not
an empty string), keep_trailing_newline, trim_blocks/lstrip_blocks, no autoescape (this is Python,
not HTML), a ChoiceLoader that puts the user's `templates_dir` in front of the built-ins (a file
there with the same name replaces the built-in one), and compiled templates kept between runs
(template_cache.py).

The generators (codegen/generators/) build the templates' context; `render` fills the import
block a template asked for; `reported` turns a failing template into a user error naming its
file and line. The runtime module is not a template: see codegen/generators/runtime.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from protoforge.codegen.pysource import Imports
from protoforge.config import Config
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.runtime import RUNTIME_SOURCE

if TYPE_CHECKING:
    import jinja2

# Template names: copy one into your templates_dir to replace it.
SERVER_TEMPLATE = "server.py.jinja"
CLIENT_TEMPLATE = "client.py.jinja"
IMPL_TEMPLATE = "impl.py.jinja"


def generator_inputs(config: Config) -> tuple[Path | None, ...]:
    """The directories whose files every generated module depends on (the cache key hashes
    them): the built-in templates, the runtime's source, the user's templates_dir."""
    return (builtin_templates_dir(), RUNTIME_SOURCE.parent, config.templates_dir)


def builtin_templates_dir() -> Path:
    """The templates shipped with protoforge: `protoforge/templates` inside an installed wheel,
    else the repository's top-level `templates/` (editable installs)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "templates", package.parents[1] / "templates"):
        if (candidate / SERVER_TEMPLATE).is_file():
            return candidate
    raise ProtoforgeError(
        "protoforge's built-in templates are missing from this installation",
        hint="reinstall protoforge (pip install --force-reinstall protoforge)",
    )


# The Environment's options: they shape the compiled templates (template_cache keys on them).
_OPTIONS: dict[str, object] = {
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "autoescape": False,
}


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    import jinja2

    from protoforge.codegen.template_cache import compiled_templates

    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        _refuse_runtime_template(templates_dir)
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(builtin_templates_dir())))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=compiled_templates({**_OPTIONS, "undefined": "StrictUndefined"}),
        **_OPTIONS,  # type: ignore[arg-type]
    )


def _refuse_runtime_template(templates_dir: Path) -> None:
    """A runtime.py.jinja in templates_dir replaced the runtime before it became real Python;
    ignoring it silently would change the user's generated code behind their back."""
    stale = templates_dir / "runtime.py.jinja"
    if stale.is_file():
        from protoforge.paths import display_path

        raise ProtoforgeError(
            f"{display_path(stale)}: protoforge no longer renders the runtime from a template",
            hint="the runtime (errors, client and servicer bases, serve/start) is fixed Python "
            "that generated code relies on; delete the file, and put additions in a module "
            "of your own (docs/templates.md)",
        )


def render(env: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
    """A template rendered, with the import block its text asked for in place."""
    text = env.get_template(template).render(context)
    imports = context["imports"]
    return imports.finish(text) if isinstance(imports, Imports) else text


def reported(error: Exception, templates_dir: Path | None) -> Exception:
    """What a rendering failure is reported as: a Jinja error (syntax, undefined name) in any
    template, or any exception a *user's* template raised (`{{ 1 // 0 }}`, a filter applied to
    the wrong type), is the user's to fix: a ProtoforgeError naming the template's file and
    line. An exception raised inside a built-in template is a bug and stays as it is."""
    import jinja2

    if isinstance(error, jinja2.TemplateSyntaxError):
        return _template_error(error, error.filename or error.name, error.lineno)
    filename, line = _template_location(error)
    if isinstance(error, jinja2.TemplateError):
        return _template_error(error, filename, line)
    if filename is not None and templates_dir is not None and _inside(filename, templates_dir):
        return _template_error(error, filename, line, f"{type(error).__name__}: {error}")
    return error


def _inside(filename: str, directory: Path) -> bool:
    return Path(filename).resolve().is_relative_to(directory.resolve())


def _template_error(
    error: Exception, filename: str | None, line: int, message: str | None = None
) -> ProtoforgeError:
    from protoforge.paths import display_path

    where = display_path(Path(filename)) if filename else "template"
    return ProtoforgeError(
        "a template failed to render",
        diagnostics=(Diagnostic(where, line, 0, "error", message or str(error)),),
        hint="templates see only the context listed in docs/templates.md",
    )


def _template_location(error: BaseException) -> tuple[str | None, int]:
    """The innermost template frame of a rendering error (Jinja compiles templates to Python
    code whose frames carry the template's file name)."""
    found: tuple[str | None, int] = (None, 0)
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith(".jinja"):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found
