"""`protoforge init`: a runnable contract-first project in one command.

The project is planned completely in memory first — every file with its content, and every
conflict with something that already exists — and written only when there is no conflict, so a
refused init writes nothing. Files that exist are never overwritten; the two exceptions are
appends that keep the original bytes as a prefix: `[tool.protoforge]` (and, when the project has
no pytest configuration yet, `[tool.pytest.ini_options]`) at the end of an existing
pyproject.toml, and missing entries at the end of an existing .gitignore.

The implementation module is written by init at the path of gen's implementation scaffold, so
`protoforge gen` leaves it alone (user-owned files are written only if absent) and the sample
service answers all four streaming kinds from the first run.
"""

from __future__ import annotations

import keyword
import os
import re
import shlex
import tomllib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from protoforge import naming, runtime
from protoforge.config import BUILTIN_GENERATORS, PYPROJECT, STANDALONE
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.output.cache import CACHE_DIR
from protoforge.paths import Rollback, display_path, make_dirs, write_failed

PROTO_ROOT = "proto"
OUT = "gen"
# The address the quick start serves on and connects to: the generated servers' default port
# (the runtime's DEFAULT_ADDRESS), on loopback rather than every interface, so that trying the
# scaffold out exposes nothing to the network and a client can connect to the same string.
DEFAULT_ADDRESS = f"127.0.0.1:{runtime.DEFAULT_ADDRESS.rsplit(':', 1)[1]}"
GITIGNORE_LINES = ("__pycache__/", ".pytest_cache/", ".venv/", f"{CACHE_DIR}/")
# `init --web`: the TypeScript client (protoc-gen-es), its page, and where they are served.
WEB_DIR = "web"
WEB_GEN = f"{WEB_DIR}/gen"
WEB_ADDRESS = "127.0.0.1:8080"  # the server's web endpoint
PAGE_ADDRESS = "127.0.0.1:8000"  # where `python -m http.server` serves the page
WEB_GITIGNORE_LINES = ("node_modules/", f"{WEB_DIR}/dist/")

# Messages of the sample contract: a service may not take one of their names.
SAMPLE_MESSAGES = frozenset(
    f"{rpc}{suffix}"
    for rpc in ("SayHello", "CountDown", "GreetAll", "Chat")
    for suffix in ("Request", "Response")
)
# Top-level names of the new project itself that its package must not take (the modules that
# generated code imports are naming.RUNTIME_TOP_LEVEL, checked by naming.shadowing_problem).
PROJECT_NAMES = frozenset({"tests", "conftest", "pytest", OUT, PROTO_ROOT})

_PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
_SERVICE = re.compile(r"[A-Z][A-Za-z0-9]*")


class FileStatus(Enum):
    CREATED = "created"
    UPDATED = "updated"  # appended to; the original bytes are kept as a prefix


@dataclass(frozen=True)
class Names:
    """Every name of the sample project, computed once (templates only substitute them)."""

    project: str  # the directory name, for comments
    package: str  # demo
    service: str  # DemoService

    @property
    def proto_package(self) -> str:
        return f"{self.package}.v1"

    @property
    def contract(self) -> str:
        """The contract's import path: demo/v1/demo_service.proto."""
        return f"{self.package}/v1/{naming.snake_case(self.service)}.proto"

    @property
    def contract_package(self) -> str:
        return naming.proto_module_base(self.contract).rsplit(".", 1)[0]

    def module(self, suffix: str) -> str:
        """The last component of a generated module: demo_service_pb2, demo_service_pf_client."""
        return naming.proto_module_base(self.contract).rsplit(".", 1)[1] + suffix

    @property
    def impl_module(self) -> str:
        return naming.impl_module(self.contract)

    @property
    def runtime_module(self) -> str:
        return naming.runtime_module(None)

    @property
    def client_class(self) -> str:
        return naming.client_class(self.service, asyncio=False)

    def context(self) -> dict[str, str]:
        return {
            "project": self.project,
            "package": self.package,
            "service": self.service,
            "proto_package": self.proto_package,
            "proto_root": PROTO_ROOT,
            "out": OUT,
            "contract": self.contract,
            "contract_package": self.contract_package,
            "pb2": self.module("_pb2"),
            "server": self.module(naming.SERVER_SUFFIX),
            "client": self.module(naming.CLIENT_SUFFIX),
            "servicer_class": naming.servicer_class(self.service, asyncio=False),
            "client_class": self.client_class,
            "impl_module": self.impl_module,
            "runtime_module": self.runtime_module,
        }


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: bytes  # the whole new content (for an append: the old bytes + the addition)
    status: FileStatus
    original_size: int = 0  # bytes kept from the existing file (appends)


@dataclass(frozen=True)
class InitResult:
    project: Path
    names: Names
    files: tuple[PlannedFile, ...]
    next_steps: tuple[str, ...]  # shell lines: comments (`# ...`) and the commands that work


# --- names -----------------------------------------------------------------------------------


def derive_package(directory_name: str) -> str:
    """`My Demo-API` -> `my_demo_api`: lower case, runs of other characters become `_`."""
    return re.sub(r"[^a-z0-9]+", "_", directory_name.lower()).strip("_")


def package_problem(name: str) -> str | None:
    """Why `name` cannot be the proto package and top-level Python package, or None."""
    if not _PACKAGE.fullmatch(name):
        return (
            f"{name!r} is not a valid package name: use lower_snake_case "
            "(a letter, then letters, digits and underscores)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{name!r} is a Python keyword"
    if name in PROJECT_NAMES or name in naming.NAMESPACE_ROOTS:
        return f"{name!r} would shadow the Python module of that name"
    shadowed = naming.shadowing_problem(name)
    if shadowed:
        return shadowed
    return None


def service_problem(name: str) -> str | None:
    """Why `name` cannot be the sample service's name, or None."""
    if not _SERVICE.fullmatch(name):
        return (
            f"{name!r} is not a valid service name: use PascalCase "
            "(an upper-case letter, then letters and digits)"
        )
    if keyword.iskeyword(name) or keyword.iskeyword(naming.snake_case(name)):
        return f"{name!r} is (or becomes the module name of) a Python keyword"
    if name in SAMPLE_MESSAGES:
        return f"{name!r} is the name of a message in the sample contract"
    return None


def resolve_names(directory: Path, package: str | None, service: str | None) -> Names:
    problems: list[str] = []
    if package is None:
        package = derive_package(directory.name)
        problem = package_problem(package)
        if problem:
            problems.append(
                f"cannot derive a package name from the directory name {directory.name!r}: "
                f"{problem}; pass --package NAME"
            )
    else:
        problem = package_problem(package)
        if problem:
            problems.append(f"--package: {problem}")
    if service is None:
        service = "".join(part.capitalize() for part in package.split("_") if part) + "Service"
        if not problems and service_problem(service):
            problems.append(f"--service: {service_problem(service)}")
    else:
        problem = service_problem(service)
        if problem:
            problems.append(f"--service: {problem}")
    if problems:
        raise ProtoforgeError(
            "; ".join(problems),
            hint="example: protoforge init my-api --package my_api --service GreeterService",
        )
    return Names(project=directory.name, package=package, service=service)


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRequest:
    """`--target NAME[=PLUGIN]`: an other-language target for the new project's config."""

    name: str
    plugin: str | None = None
    out_dir: str | None = None  # default gen_NAME
    options: tuple[str, ...] = ()

    @property
    def generator(self) -> str | None:
        return self.name if self.name in BUILTIN_GENERATORS and self.plugin is None else None

    @property
    def out(self) -> str:
        return self.out_dir or f"gen_{self.name}"

    @classmethod
    def parse(cls, text: str) -> TargetRequest:
        name, _, plugin = text.partition("=")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            raise ProtoforgeError(
                f"--target {text!r}: NAME must be letters, digits and _ (protoc's --NAME_out)",
                hint="for example --target es (uses protoc-gen-es) or --target go=path/to/plugin",
            )
        return cls(name, plugin or None)


WEB_TARGET = TargetRequest("es", out_dir=WEB_GEN, options=("target=ts",))


def plan_init(
    directory: Path,
    package: str | None = None,
    service: str | None = None,
    targets: tuple[TargetRequest, ...] = (),
    *,
    web: bool = False,
) -> InitResult:
    """Everything `init` would write, or a ProtoforgeError listing every conflict. With `web`,
    also a TypeScript client of the contract (the `es` target, protoc-gen-es) and a page that
    calls the server's web endpoint with it."""
    if web:
        if any(target.name == WEB_TARGET.name for target in targets):
            raise ProtoforgeError(
                f"--web sets up the {WEB_TARGET.name!r} target itself",
                hint=f"drop --target {WEB_TARGET.name}",
            )
        targets = (*targets, WEB_TARGET)
    from protoforge.codegen.render import environment

    directory = directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise ProtoforgeError(f"{display_path(directory)} exists and is not a directory")
    names = resolve_names(directory, package, service)
    env = environment()
    context = names.context()

    def render(template: str, **extra: object) -> str:
        values = {**context, **_web_context(names), "targets": targets, "web": web, **extra}
        return env.get_template(f"init/{template}").render(values)

    for target in targets:
        if (directory / target.out).exists():
            raise ProtoforgeError(
                f"{display_path(directory / target.out)} exists already",
                hint=f"the output directory of target {target.name!r} must be new",
            )

    conflicts: list[Diagnostic] = []
    files: list[PlannedFile] = []

    def create(relative: str, text: str) -> None:
        path = directory / relative
        blocked = next((p for p in (path, *path.parents) if _is_blocked(p, path)), None)
        if blocked is not None:
            conflicts.append(Diagnostic(display_path(blocked), 0, 0, "error", "already exists"))
        files.append(PlannedFile(path, text.encode("utf-8"), FileStatus.CREATED))

    # Existing things that the new project would collide with.
    for relative, why in (
        (STANDALONE, "a protoforge configuration exists already"),
        (OUT, "the output directory of `protoforge gen` exists already"),
        (names.package, f"a Python package {names.package!r} exists (pass another --package)"),
        (f"src/{names.package}", f"a Python package {names.package!r} exists (another --package)"),
    ):
        if (directory / relative).exists():
            conflicts.append(Diagnostic(display_path(directory / relative), 0, 0, "error", why))

    pyproject = directory / PYPROJECT
    pyproject_data = _read_toml(pyproject, conflicts)
    pytest_configured = _has_pytest_config(directory, pyproject_data)
    tables = render("tool_protoforge.toml.jinja")
    if not pytest_configured:
        tables += "\n" + render("pytest.toml.jinja", testpaths=pyproject_data is None)
    if pyproject_data is None:
        create(PYPROJECT, "# Created by `protoforge init`.\n" + tables)
    else:
        tool = pyproject_data.get("tool")
        if isinstance(tool, dict) and "protoforge" in tool:
            conflicts.append(
                Diagnostic(
                    display_path(pyproject), 0, 0, "error", "has a [tool.protoforge] table already"
                )
            )
        else:
            files.append(_append(pyproject, tables, conflicts, check_toml=True))

    create(f"{PROTO_ROOT}/{names.contract}", render("contract.proto.jinja"))
    create("buf.yaml", render("buf.yaml.jinja"))
    create(f"{names.impl_module}.py", render("impl.py.jinja"))
    create(f"tests/test_{naming.snake_case(names.service)}.py", render("test_service.py.jinja"))
    if pytest_configured:
        create("conftest.py", render("conftest.py.jinja"))
    if web:
        create("package.json", render("web/package.json.jinja"))
        create(f"{WEB_DIR}/index.html", render("web/index.html.jinja"))
        create(f"{WEB_DIR}/main.ts", render("web/main.ts.jinja"))
    ignored = GITIGNORE_LINES + (WEB_GITIGNORE_LINES if web else ())

    gitignore = directory / ".gitignore"
    if gitignore.is_file():
        present = {line.strip() for line in gitignore.read_text("utf-8", "replace").splitlines()}
        missing = [line for line in ignored if line not in present]
        if missing:
            addition = render("gitignore.jinja", lines=["# added by protoforge init", *missing])
            files.append(_append(gitignore, addition, conflicts, check_toml=False))
    else:
        create(".gitignore", render("gitignore.jinja", lines=list(ignored)))

    if conflicts:
        raise ProtoforgeError(
            f"refusing to initialise {display_path(directory)}: {len(conflicts)} conflict(s) "
            "with what exists; nothing was written",
            diagnostics=tuple(sorted(set(conflicts))),
            hint="run init in a new or empty directory, or move these out of the way",
        )
    return InitResult(directory, names, tuple(files), next_steps(directory, names, web=web))


def _is_blocked(candidate: Path, target: Path) -> bool:
    """`candidate` (the target or one of its parents) stands in the way of creating `target`."""
    if candidate == target:
        return candidate.exists() or candidate.is_symlink()
    return candidate.exists() and not candidate.is_dir()


def _read_toml(path: Path, conflicts: list[Diagnostic]) -> dict[str, object] | None:
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        conflicts.append(Diagnostic(display_path(path), 0, 0, "error", f"is not valid TOML: {exc}"))
        return {}


def _has_pytest_config(directory: Path, pyproject: dict[str, object] | None) -> bool:
    """Whether pytest is configured in `directory` already (then a conftest.py puts the
    generated code on sys.path instead of a [tool.pytest.ini_options] table that would take
    precedence over, or clash with, the existing settings)."""
    if (directory / "pytest.ini").exists() or (directory / ".pytest.ini").exists():
        return True
    tool = (pyproject or {}).get("tool")
    if isinstance(tool, dict) and "pytest" in tool:
        return True
    for name, section in (("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")):
        path = directory / name
        if path.is_file() and section in path.read_text("utf-8", "replace"):
            return True
    return False


def _append(
    path: Path, addition: str, conflicts: list[Diagnostic], *, check_toml: bool
) -> PlannedFile:
    """`path`'s bytes followed by `addition` (after a blank line), in the file's line endings."""
    old = path.read_bytes()
    newline = "\r\n" if b"\r\n" in old else "\n"
    if not old or old.endswith((b"\n\n", b"\r\n\r\n")):
        separator = ""
    elif old.endswith(b"\n"):
        separator = newline
    else:
        separator = newline * 2
    content = old + (separator + addition.replace("\n", newline)).encode("utf-8")
    if check_toml:
        try:
            data = tomllib.loads(content.decode("utf-8"))
            if "protoforge" not in data.get("tool", {}):
                raise ValueError("the table did not land under [tool]")
        except (tomllib.TOMLDecodeError, ValueError, UnicodeDecodeError, AttributeError) as exc:
            conflicts.append(
                Diagnostic(
                    display_path(path), 0, 0, "error", f"cannot append [tool.protoforge]: {exc}"
                )
            )
    return PlannedFile(path, content, FileStatus.UPDATED, original_size=len(old))


def _web_context(names: Names) -> dict[str, str]:
    return {
        "web_address": WEB_ADDRESS,
        "page_origin": f"http://{PAGE_ADDRESS}",
        # protoc-gen-es writes demo/v1/demo_service.proto's client to demo/v1/demo_service_pb.ts
        "web_module": f"./gen/{names.contract.removesuffix('.proto')}_pb",
    }


def next_steps(directory: Path, names: Names, *, web: bool = False) -> tuple[str, ...]:
    steps: list[str] = []
    here = Path.cwd().resolve()
    if directory != here:
        shown = os.path.relpath(directory, here) if directory.is_relative_to(here) else directory
        steps.append(f"cd {shlex.quote(str(shown))}")
    call = (
        f"from {names.contract_package} import {names.module('_pb2')} as pb, "
        f"{names.module(naming.CLIENT_SUFFIX)} as c; "
        f'client = c.{names.client_class}.connect("{DEFAULT_ADDRESS}"); '
        f'print(client.say_hello(pb.SayHelloRequest(name="you")).message)'
    )
    if web:
        steps += ["npm install  # protoc-gen-es, Connect-ES and esbuild (package.json)"]
    steps += [
        "protoforge gen",
        "python -m pip install pytest  # the runner of the sample test (tests/)",
        "python -m pytest",
    ]
    if not web:
        steps += [
            "# start the server (Ctrl-C stops it):",
            f"PYTHONPATH={OUT} python -m {names.impl_module} {DEFAULT_ADDRESS}",
            "# and call it from another terminal (in the same directory):",
            f"PYTHONPATH={OUT} python -c {shlex.quote(call)}",
        ]
        return tuple(steps)
    page = f"http://{PAGE_ADDRESS}"
    steps += [
        "npm run build  # bundles web/main.ts and the generated client into web/dist/main.js",
        "pip install hypercorn  # the server's web endpoint",
        "# start the server with its web endpoint (Ctrl-C stops it):",
        f"PYTHONPATH={OUT} python -m {names.impl_module} {DEFAULT_ADDRESS} "
        f"--web-address {WEB_ADDRESS} --cors-origin {page}",
        "# serve the page from another terminal, then open it in a browser:",
        f"python -m http.server {PAGE_ADDRESS.rsplit(':', 1)[1]} --bind 127.0.0.1 "
        f"--directory {WEB_DIR}",
        f"# {page}/",
    ]
    return tuple(steps)


# --- writing ---------------------------------------------------------------------------------


def write_init(result: InitResult) -> None:
    """Write the planned files: new ones exclusively (never replacing a file that appeared in
    the meantime), appends at the end. On failure, what was written is undone."""
    rollback = Rollback()
    try:
        for planned in result.files:
            if planned.status is FileStatus.CREATED:
                rollback.made_dirs(make_dirs(planned.path.parent))
                with planned.path.open("xb") as handle:
                    rollback.created(planned.path)
                    handle.write(planned.content)
            else:
                with planned.path.open("ab") as handle:
                    rollback.appended(planned.path, planned.original_size)
                    handle.write(planned.content[planned.original_size :])
    except OSError as exc:
        rollback.undo()
        raise write_failed(exc) from exc


def init_project(
    directory: Path,
    package: str | None = None,
    service: str | None = None,
    targets: tuple[TargetRequest, ...] = (),
    *,
    web: bool = False,
) -> InitResult:
    """Plan and write a new project in `directory` (created if absent)."""
    result = plan_init(directory, package, service, targets, web=web)
    write_init(result)
    return result
