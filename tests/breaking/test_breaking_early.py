"""buf started before its configuration and images exist (breaking/early.py): the same findings
as an ordinary buf run, nothing left behind whichever way the check ends, and buf's image-only
runs without the system's CA certificates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from breaking_support import isolated_cache, write_tree  # noqa: F401
from conftest import run_cli

from protoforge.breaking.bufconfig import BreakingConfig, BufSettings, RuleGroup
from protoforge.breaking.early import EarlyBuf, buf_environment

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the early buf is POSIX only")

BEFORE = """syntax = "proto3";
package acme.v1;
message Order { string id = 1; int32 quantity = 2; string note = 3; }
service Orders { rpc Get(Order) returns (Order); rpc Delete(Order) returns (Order); }
"""
AFTER = """syntax = "proto3";
package acme.v1;
message Order { string id = 1; int64 quantity = 2; }
service Orders { rpc Get(Order) returns (Order); }
"""
TOML = 'proto_roots = ["proto"]\nout = "gen"\n'


def _images(tmp_path: Path) -> tuple[bytes, bytes]:
    from protoforge.breaking.inprocess import compile_descriptor_set
    from protoforge.source.discover import ContractFile

    images = []
    for name, text in (("current", AFTER), ("baseline", BEFORE)):
        root = write_tree(tmp_path / name, {"acme/v1/o.proto": text})
        contract = ContractFile(name="acme/v1/o.proto", root=root)
        images.append(compile_descriptor_set([contract], [root], source_info=name == "current"))
    return images[0], images[1]


@pytest.mark.parametrize(
    "config",
    [
        BreakingConfig(),
        BreakingConfig(use=("WIRE",), version="v2"),
        BreakingConfig(use=("FILE",), except_=("RPC_NO_DELETE",), version="v1"),
    ],
    ids=["default", "v2 WIRE", "v1 FILE except RPC_NO_DELETE"],
)
def test_a_buf_configured_after_it_started_finds_what_an_ordinary_run_finds(
    config: BreakingConfig, tmp_path: Path
) -> None:
    from protoforge.breaking.buf import buf_result, run_breaking

    current, baseline = _images(tmp_path)
    expected = run_breaking(current, baseline, config)
    early = EarlyBuf.launch(small=True)
    assert early is not None
    early.configure(config)
    outcome = early.finish(current, baseline)
    assert outcome is not None
    assert buf_result(*outcome, config.version) == expected
    assert not os.path.exists(early.directory)
    if config.use == ("FILE",) and config.except_:
        assert {f.rule for f in expected} == {"FIELD_SAME_TYPE", "FIELD_NO_DELETE"}
    else:
        assert expected  # the pair has findings under every configuration above


def test_a_buf_that_cannot_read_its_files_is_replaced_by_an_ordinary_run(tmp_path: Path) -> None:
    """A buf that looked for its configuration or baseline before its stdin ended (not today's
    buf) would fail naming its directory: the check then runs buf the ordinary way."""
    from protoforge.breaking.buf import find_buf, run_breaking
    from protoforge.breaking.early import BufProcess, breaking_command
    from protoforge.breaking.report import run_groups

    current, baseline = _images(tmp_path)
    directory = tmp_path / "early"
    directory.mkdir()
    command = breaking_command(
        find_buf(), "-#format=binpb", f"{directory}/elsewhere.binpb", str(directory / "buf.yaml")
    )
    misdirected = EarlyBuf(BufProcess(command, env=None), str(directory), small=True)
    misdirected.configure(BreakingConfig())
    settings = BufSettings(None, (RuleGroup(BreakingConfig(), (0,)),))
    found = run_groups(
        settings, current, baseline, lambda group: (frozenset(), frozenset()), (misdirected,)
    )
    assert found == run_breaking(current, baseline, BreakingConfig())
    assert found and misdirected.process.returncode not in (0, 100)
    assert not directory.exists()


def test_one_early_buf_per_module_and_unused_ones_are_stopped() -> None:
    """Small images: a buf per rule group (module), the one started earliest for the first,
    each configured for its group; a buf that never gets its inputs is stopped and its
    directory removed."""
    from protoforge.breaking.buf import start_buf

    early = EarlyBuf.launch(small=True)
    assert early is not None
    groups = (RuleGroup(BreakingConfig(), (0,)), RuleGroup(BreakingConfig(use=("WIRE",)), (1,)))
    bufs = start_buf(BufSettings(None, groups), small=True, started=early)
    assert len(bufs) == 2 and bufs[0] is early
    assert [buf.config for buf in bufs] == [group.config for group in groups]
    for buf in bufs:
        buf.cancel()
        assert buf.process.returncode is not None
        assert not os.path.exists(buf.directory)
        buf.cancel()  # idempotent
    # large images: the first group only (several bufs would each hold one in memory)
    large = start_buf(BufSettings(None, groups), small=False)
    try:
        assert len(large) == 1 and not large[0].small
    finally:
        for buf in large:
            buf.cancel()


def test_several_early_bufs_find_what_ordinary_runs_find(tmp_path: Path) -> None:
    """One buf per module, all given their inputs before any is waited for: each group's
    findings are those of an ordinary run with its configuration."""
    from protoforge.breaking.buf import run_breaking, start_buf
    from protoforge.breaking.report import run_groups

    current, baseline = _images(tmp_path)
    configs = (BreakingConfig(), BreakingConfig(use=("WIRE",), version="v2"))
    settings = BufSettings(None, tuple(RuleGroup(c, (i,)) for i, c in enumerate(configs)))
    bufs = start_buf(settings, small=True)
    assert len(bufs) == 2
    found = run_groups(settings, current, baseline, lambda group: (frozenset(), frozenset()), bufs)
    expected = [f for c in configs for f in run_breaking(current, baseline, c)]
    assert found == expected
    assert all(buf.closed for buf in bufs) and not any(os.path.exists(b.directory) for b in bufs)


def test_an_early_buf_for_small_images_is_not_used_for_large_ones() -> None:
    from protoforge.breaking.buf import start_buf

    early = EarlyBuf.launch(small=True)
    assert early is not None
    one_group = BufSettings(None, (RuleGroup(BreakingConfig(), (0,)),))
    (replacement,) = start_buf(one_group, small=False, started=early)
    try:
        assert replacement is not early
        assert not replacement.small
        assert early.process.returncode is not None and not os.path.exists(early.directory)
    finally:
        replacement.cancel()


@pytest.mark.parametrize(
    ("buf_yaml", "expected_code"),
    [
        (None, 1),  # findings
        ("version: v1\nbreaking:\n  use: [NOT_A_RULE]\n", 2),  # buf rejects the configuration
        ("version: v1\nbreaking: [\n", 2),  # protoforge rejects buf.yaml before buf is configured
    ],
    ids=["findings", "unknown rule", "invalid buf.yaml"],
)
def test_check_breaking_leaves_no_process_state_behind(
    buf_yaml: str | None, expected_code: int, tmp_path: Path
) -> None:
    files = {"protoforge.toml": TOML, "proto/acme/v1/o.proto": AFTER}
    if buf_yaml is not None:
        files["buf.yaml"] = buf_yaml
    project = write_tree(tmp_path / "project", files)
    baseline = write_tree(tmp_path / "baseline", {"proto/acme/v1/o.proto": BEFORE})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_cli(
        "check-breaking",
        "--against",
        baseline,
        "--format",
        "json",
        cwd=project,
        env={"TMPDIR": str(scratch)},
        timeout=60,
    )
    assert result.code == expected_code, result.output
    assert list(scratch.iterdir()) == []  # the early buf's files are gone, whatever happened
    if expected_code == 1:
        assert '"rule": "FIELD_SAME_TYPE"' in result.stdout
        assert result.stdout.rstrip().endswith("}")  # flushed in full before the process ended


def test_image_only_buf_runs_do_not_load_ca_certificates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", "/the/users/bundle.pem")
    environment = buf_environment(False, offline_in=tmp_path)
    assert environment is not None
    assert environment["SSL_CERT_FILE"] == os.devnull
    assert not Path(environment["SSL_CERT_DIR"]).exists()  # a missing directory is skipped
    assert Path(environment["SSL_CERT_DIR"]).parent == tmp_path
    assert "GOGC" not in environment
    # other runs (lint's, over sources with dependencies) may need the network: the user's setting
    assert (buf_environment(True) or {})["SSL_CERT_FILE"] == "/the/users/bundle.pem"


# Run in a new interpreter (not the tests' zygote, which has imported everything already): what
# the console route imports, and when, is the point.
ROUTE = """
import json, sys
from_start = set(sys.modules)
import protoforge.breaking.early as early

launch = early.EarlyBuf.launch
seen = {}

def recording_launch(**options):
    seen["before buf"] = sorted(set(sys.modules) - from_start)
    return launch(**options)

early.EarlyBuf.launch = recording_launch
from protoforge.cli.direct import run_check_breaking

code = run_check_breaking({"against": sys.argv[1], "format": "json"})
unused = ("inspect", "copy", "urllib.parse", "typer", "subprocess", "typing", "yaml")
after = sorted(m for m in unused if m in sys.modules)

import dataclasses

@dataclasses.dataclass
class Point:
    x: int
    y: int = 0

print(json.dumps({"code": code, "before buf": seen["before buf"], "after": after,
                  "doc": Point.__doc__, "inspect then": "inspect" in sys.modules}))
"""


@pytest.mark.parametrize(
    "buf_yaml", [None, "version: v1\nbreaking:\n  use:\n    - FILE\n"], ids=["", "buf.yaml"]
)
def test_the_console_route_starts_buf_first_and_leaves_inspect_unloaded(
    tmp_path: Path, buf_yaml: str | None
) -> None:
    """buf starts before anything but protoforge's own entry modules is imported (its start-up
    overlaps the rest), and a check imports none of the modules it does not use (inspect, copy,
    urllib.parse, typing, the CLI framework; PyYAML for a buf.yaml read before); dataclasses
    made afterwards still get inspect's signature docstring (its placeholder only defers it)."""
    import json
    import subprocess
    import sys

    files = {"protoforge.toml": TOML, "proto/acme/v1/o.proto": AFTER}
    baseline_files = {"proto/acme/v1/o.proto": BEFORE}
    if buf_yaml is not None:
        files["buf.yaml"] = baseline_files["buf.yaml"] = buf_yaml
    project = write_tree(tmp_path / "project", files)
    baseline = write_tree(tmp_path / "baseline", baseline_files)
    # the second run reads the parsed config and buf.yaml from the cache (the first may parse
    # them: tomllib imports typing, and PyYAML is a large import)
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", ROUTE, str(baseline)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout[done.stdout.rindex("\n{") :])
    assert report["code"] == 1  # the findings are there: the check ran in full
    assert '"rule": "FIELD_SAME_TYPE"' in done.stdout
    # `from __future__ import annotations` imports __future__ itself
    assert all(n.startswith("protoforge") or n == "__future__" for n in report["before buf"])
    assert report["after"] == []
    assert report["doc"] == "Point(x: int, y: int = 0)"
    assert report["inspect then"]


def test_work_given_to_an_early_buf_runs_once_it_has_its_inputs(tmp_path: Path) -> None:
    """`meanwhile` tasks run while buf compares: after the images are handed over (the
    baseline file is in buf's directory), before the findings come back; a buf that is
    cancelled instead runs none."""
    from protoforge.breaking.buf import buf_result, run_breaking

    current, baseline = _images(tmp_path)
    early = EarlyBuf.launch(small=True)
    assert early is not None
    early.configure(BreakingConfig())
    seen: list[bool] = []
    early.meanwhile(lambda: seen.append(os.path.exists(early.baseline_path)))
    outcome = early.finish(current, baseline)
    assert seen == [True]
    assert outcome is not None
    assert buf_result(*outcome, "v1") == run_breaking(current, baseline, BreakingConfig())

    cancelled = EarlyBuf.launch(small=True)
    assert cancelled is not None
    cancelled.meanwhile(lambda: seen.append(False))
    cancelled.cancel()
    assert seen == [True]


def test_a_check_with_an_empty_cache_fills_it(tmp_path: Path) -> None:
    """The console route holds its cache writes back until buf compares: they are still made
    (the parsed config and the compiled baseline), on a run with findings and on one without."""
    # a float with an exponent: outside the TOML that config/toml_subset reads, so tomllib
    # parses it
    toml = TOML + "client.timeout = 25e-1\n"
    files = {"protoforge.toml": toml, "proto/acme/v1/o.proto": AFTER}
    project = write_tree(tmp_path / "project", files)
    for name, text, code in (("breaking", BEFORE, 1), ("same", AFTER, 0)):
        baseline = write_tree(tmp_path / name, {"proto/acme/v1/o.proto": text})
        cache = tmp_path / f"cache-{name}"
        result = run_cli(
            "check-breaking", "--against", baseline, cwd=project,
            env={"PROTOFORGE_CACHE_DIR": str(cache)}, timeout=60,
        )  # fmt: skip
        assert result.code == code, result.output
        assert len(list((cache / "config").iterdir())) == 1
        assert len(list((cache / "breaking-directories").glob("*.bin"))) == 1
