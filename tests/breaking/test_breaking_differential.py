"""Differential tests: protoforge check-breaking against the real `buf breaking` binary.

Every pair below is compared finding for finding (path, line, column, rule, message) between
`buf breaking . --against PREVIOUS --error-format json` and protoforge's fast path and `--full`
(see breaking_support.compare_with_buf). Hand-written pairs cover what the issue names; a seeded
mutation generator covers the rest. The default suite runs a fixed sample of seeds; set
PROTOFORGE_DIFFERENTIAL_SEEDS=N (e.g. 500) to run N more seeds, PROTOFORGE_DIFFERENTIAL_START to
move the window.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from breaking_support import Pair, compare_with_buf, isolated_cache, mutation_pair  # noqa: F401

TOML = 'proto_roots = ["."]\nout = "gen"\n'
PROTO_TOML = 'proto_roots = ["proto"]\nout = "gen"\n'

ORDER = """syntax = "proto3";
package acme.orders.v1;
message Order {
  string id = 1;
  string name = 2 [ctype = CORD];
  optional int32 quantity = 3;
}
service Orders {
  rpc Get(Order) returns (Order);
  rpc Delete(Order) returns (Order);
}
"""
ORDER_EDITED = """syntax = "proto3";
package acme.orders.v1;
message Order {
  string id = 1;
  string name = 2 [ctype = STRING_PIECE];
  repeated int32 quantity = 3;
}
service Orders {
  rpc Get(Order) returns (Order);
}
"""
LEDGER = """syntax = "proto3";
package acme.ledger.v1;
message Entry { string id = 1; int64 cents = 2; }
"""


def _flat(buf_yaml: str | None, protos: dict[str, str]) -> dict[str, str]:
    tree = {"protoforge.toml": TOML, **protos}
    if buf_yaml is not None:
        tree["buf.yaml"] = buf_yaml
    return tree


HAND_WRITTEN = [
    Pair(
        "file names that are not Python identifiers",
        _flat(None, {"1.proto": ORDER, "my-api.proto": LEDGER}),
        _flat(None, {"1.proto": ORDER_EDITED}),
    ),
    Pair(
        "v1 deprecated FIELD_SAME_CTYPE",
        _flat("version: v1\nbreaking:\n  use: [FIELD_SAME_CTYPE]\n", {"a/o.proto": ORDER}),
        _flat("version: v1\nbreaking:\n  use: [FIELD_SAME_CTYPE]\n", {"a/o.proto": ORDER_EDITED}),
    ),
    Pair(
        "v1 deprecated FIELD_SAME_LABEL",
        _flat("version: v1\nbreaking:\n  use: [FIELD_SAME_LABEL]\n", {"a/o.proto": ORDER}),
        _flat("version: v1\nbreaking:\n  use: [FIELD_SAME_LABEL]\n", {"a/o.proto": ORDER_EDITED}),
    ),
    Pair(
        "v1beta1 deprecated IDs and FILE_SAME_PACKAGE in FILE",
        _flat(
            "version: v1beta1\nbreaking:\n  use: [FILE, FIELD_SAME_CTYPE]\n", {"a/o.proto": ORDER}
        ),
        _flat(
            "version: v1beta1\nbreaking:\n  use: [FILE, FIELD_SAME_CTYPE]\n",
            {"a/o.proto": ORDER_EDITED.replace("acme.orders.v1", "acme.orders.v2")},
        ),
    ),
    Pair(
        "the baseline's own v1beta1 roots",
        {"buf.yaml": "version: v1beta1\nbuild:\n  roots: [root]\n", "root/a/o.proto": ORDER},
        {
            "buf.yaml": "version: v1beta1\nbuild:\n  roots: [proto]\n",
            "protoforge.toml": PROTO_TOML,
            "proto/a/o.proto": ORDER.replace("acme.orders.v1", "acme.orders.v2"),
        },
    ),
    Pair(
        "files moved between packages, a deleted file, a deleted package (PACKAGE)",
        _flat(
            "version: v1\nbreaking:\n  use: [PACKAGE]\n",
            {"a/o.proto": ORDER, "b/l.proto": LEDGER, "b/m.proto": LEDGER.replace("Entry", "Mark")},
        ),
        _flat(
            "version: v1\nbreaking:\n  use: [PACKAGE]\n",
            {"c/o.proto": ORDER.replace("acme.orders.v1", "acme.moved.v1")},
        ),
    ),
    Pair(
        "v1 ignore, ignore_only and ignore_unstable_packages",
        _flat(
            "version: v1\nbreaking:\n  use: [FILE]\n  ignore: [b]\n"
            "  ignore_only:\n    RPC_NO_DELETE: [a/o.proto]\n  ignore_unstable_packages: true\n",
            {
                "a/o.proto": ORDER,
                "b/l.proto": LEDGER,
                "c/u.proto": LEDGER.replace("acme.ledger.v1", "acme.ledger.v1beta1"),
            },
        ),
        _flat(
            "version: v1\nbreaking:\n  use: [FILE]\n  ignore: [b]\n"
            "  ignore_only:\n    RPC_NO_DELETE: [a/o.proto]\n  ignore_unstable_packages: true\n",
            {"a/o.proto": ORDER_EDITED},
        ),
    ),
    Pair(
        "v2 modules with excludes and a module's own breaking section",
        {
            "buf.yaml": "version: v2\nmodules:\n  - path: proto\n    excludes: [proto/internal]\n"
            "  - path: more\n    breaking:\n      use: [WIRE]\n",
            "protoforge.toml": 'proto_roots = ["proto", "more"]\nexclude = ["internal/*"]\n'
            'out = "gen"\n',
            "proto/a/o.proto": ORDER,
            "proto/internal/x.proto": LEDGER.replace("acme.ledger.v1", "acme.internal"),
            "more/b/l.proto": LEDGER,
        },
        {
            "buf.yaml": "version: v2\nmodules:\n  - path: proto\n    excludes: [proto/internal]\n"
            "  - path: more\n    breaking:\n      use: [WIRE]\n",
            "protoforge.toml": 'proto_roots = ["proto", "more"]\nexclude = ["internal/*"]\n'
            'out = "gen"\n',
            "proto/a/o.proto": ORDER_EDITED,
            "more/b/l.proto": LEDGER.replace("int64 cents", "string cents"),
        },
    ),
    Pair(
        "v1 build.excludes",
        _flat(
            "version: v1\nbuild:\n  excludes: [internal]\n",
            {"a/o.proto": ORDER, "internal/x.proto": LEDGER},
        )
        | {"protoforge.toml": 'proto_roots = ["."]\nexclude = ["internal/*"]\nout = "gen"\n'},
        _flat("version: v1\nbuild:\n  excludes: [internal]\n", {"a/o.proto": ORDER_EDITED})
        | {"protoforge.toml": 'proto_roots = ["."]\nexclude = ["internal/*"]\nout = "gen"\n'},
    ),
]


# A v1 workspace: buf.work.yaml's directories are modules, each checked with its own buf.yaml
WORKSPACE = "version: v1\ndirectories:\n  - proto\n  - more\n"
WORKSPACE_TOML = 'proto_roots = ["proto", "more"]\nout = "gen"\n'
LEDGER_EDITED = LEDGER.replace("int64 cents = 2", "string amount = 2")
# a message and a service deleted from a package together with their file, in an ignored
# directory: buf matches the ignore against the baseline's location of what was deleted
IGNORED_ORDERS = "version: v1\nbreaking:\n  use: [PACKAGE]\n  ignore: [acme/orders]\n"
ORDERS_LEDGER = LEDGER.replace("acme.ledger.v1", "acme.orders.v1")
HAND_WRITTEN.append(
    Pair(
        "ignore: a directory with a deleted file whose package lives on",
        _flat(
            IGNORED_ORDERS,
            {"acme/orders/v1/o.proto": ORDER, "acme/orders/v1/l.proto": ORDERS_LEDGER},
        ),
        _flat(IGNORED_ORDERS, {"acme/orders/v1/l.proto": ORDERS_LEDGER}),
    )
)
UNSTABLE = "version: v1\nbreaking:\n  use: [FILE]\n  ignore_unstable_packages: true\n"
HAND_WRITTEN.append(
    Pair(
        "ignore_unstable_packages: a file moved out of an unstable package",
        _flat(UNSTABLE, {"a/o.proto": ORDER.replace("acme.orders.v1", "acme.orders.v1beta1")}),
        _flat(UNSTABLE, {"a/o.proto": ORDER_EDITED.replace("acme.orders.v1", "acme.moved.v1")}),
    )
)
HAND_WRITTEN += [
    Pair(
        "v1 workspace: each directory with its own buf.yaml",
        {
            "buf.work.yaml": WORKSPACE,
            "protoforge.toml": WORKSPACE_TOML,
            "proto/buf.yaml": "version: v1\nbreaking:\n  use: [FILE]\n  ignore: [internal]\n",
            "proto/a/o.proto": ORDER,
            "proto/internal/x.proto": LEDGER.replace("acme.ledger.v1", "acme.internal"),
            "more/buf.yaml": "version: v1\nbreaking:\n  use: [WIRE_JSON]\n",
            "more/b/l.proto": LEDGER,
        },
        {
            "buf.work.yaml": WORKSPACE,
            "protoforge.toml": WORKSPACE_TOML,
            "proto/buf.yaml": "version: v1\nbreaking:\n  use: [FILE]\n  ignore: [internal]\n",
            "proto/a/o.proto": ORDER_EDITED,
            "proto/internal/x.proto": LEDGER.replace("acme.ledger.v1", "acme.internal").replace(
                "int64 cents", "string cents"
            ),
            "more/buf.yaml": "version: v1\nbreaking:\n  use: [WIRE_JSON]\n",
            "more/b/l.proto": LEDGER_EDITED,
        },
    ),
    Pair(
        "v1 workspace: a directory without a buf.yaml has buf's defaults",
        {
            "buf.work.yaml": WORKSPACE,
            "protoforge.toml": WORKSPACE_TOML,
            "proto/buf.yaml": "version: v1\nbreaking:\n  use: [WIRE]\n",
            "proto/a/o.proto": ORDER,
            "more/b/l.proto": LEDGER,
        },
        {
            "buf.work.yaml": WORKSPACE,
            "protoforge.toml": WORKSPACE_TOML,
            "proto/buf.yaml": "version: v1\nbreaking:\n  use: [WIRE]\n",
            "proto/a/o.proto": ORDER_EDITED,
            "more/b/l.proto": LEDGER_EDITED,
        },
    ),
]


# buf.yaml excludes `legacy` of one module; the other module's `legacy/` is still checked
KEEP = 'syntax = "proto3";\npackage keep.v1;\nmessage K { string id = 1; int32 n = 2; }\n'
KEEP_EDITED = KEEP.replace(" int32 n = 2;", "")
OLD = LEDGER.replace("acme.ledger.v1", "old.v1")
V2_EXCLUDES = (
    "version: v2\nmodules:\n  - path: proto\n    excludes: [proto/legacy]\n  - path: more\n"
)
for name, layout in (
    (
        "v1 workspace",
        {
            "buf.work.yaml": WORKSPACE,
            "proto/buf.yaml": "version: v1\nbuild:\n  excludes: [legacy]\n",
        },
    ),
    ("v2 modules", {"buf.yaml": V2_EXCLUDES}),
):
    HAND_WRITTEN.append(
        Pair(
            f"{name}: one module's excluded directory is not another's",
            {
                **layout,
                "protoforge.toml": WORKSPACE_TOML,
                "proto/acme/o.proto": ORDER,
                "proto/legacy/old.proto": OLD,
                "more/legacy/k.proto": KEEP,
            },
            {
                **layout,
                "protoforge.toml": WORKSPACE_TOML,
                "proto/acme/o.proto": ORDER,
                "proto/legacy/old.proto": OLD.replace("int64 cents", "string cents"),
                "more/legacy/k.proto": KEEP_EDITED,
            },
        )
    )


# module `more` imports a file of module `proto` on the baseline side only: for `more`, that
# file is deleted, whatever the rules (buf compares module by module)
IMPORTING = (
    'syntax = "proto3";\npackage acme.ledger.v1;\nimport "a/o.proto";\n'
    "message Entry { string id = 1; acme.orders.v1.Order order = 2; }\n"
)
NOT_IMPORTING = 'syntax = "proto3";\npackage acme.ledger.v1;\nmessage Entry { string id = 1; }\n'
V2_TWO = "version: v2\nmodules:\n  - path: proto\n  - path: more\n"
for name, layout in (
    ("v2 modules with the same rules", {"buf.yaml": V2_TWO}),
    ("v1 workspace without a buf.yaml", {"buf.work.yaml": WORKSPACE}),
):
    HAND_WRITTEN.append(
        Pair(
            f"{name}: a file only the baseline imported from another module",
            {
                **layout,
                "protoforge.toml": WORKSPACE_TOML,
                "proto/a/o.proto": ORDER,
                "more/b/l.proto": IMPORTING,
            },
            {
                **layout,
                "protoforge.toml": WORKSPACE_TOML,
                "proto/a/o.proto": ORDER,
                "more/b/l.proto": NOT_IMPORTING,
            },
        )
    )


@pytest.mark.parametrize("pair", HAND_WRITTEN, ids=lambda p: p.name)
def test_hand_written_pairs_agree_with_buf(pair: Pair, tmp_path: Path) -> None:
    compare_with_buf(pair, tmp_path, git_too=True, diff_too=True)


DEFAULT_SEEDS = 30
START = int(os.environ.get("PROTOFORGE_DIFFERENTIAL_START", "0"))
COUNT = int(os.environ.get("PROTOFORGE_DIFFERENTIAL_SEEDS", str(DEFAULT_SEEDS)))


# Seeds of larger runs that once disagreed with buf (two v2 modules: a file's module, the files a
# module imports, a package spanning both modules), kept in the default suite.
FOUND = (24, 54, 89, 92, 237)


@pytest.mark.parametrize("seed", sorted({*range(START, START + COUNT), *FOUND}))
def test_mutation_pairs_agree_with_buf(seed: int, tmp_path: Path) -> None:
    compare_with_buf(mutation_pair(seed), tmp_path)


WORKSPACE_SEEDS = 12


@pytest.mark.parametrize("seed", range(START, START + WORKSPACE_SEEDS))
def test_v1_workspace_pairs_agree_with_buf(seed: int, tmp_path: Path) -> None:
    """buf.work.yaml's directories, each with a random buf.yaml of its own (or none)."""
    pair = mutation_pair(seed, two_modules="v1-workspace")
    if "v1-workspace" not in pair.name:
        pytest.skip("this seed's tree has files in one module only")
    compare_with_buf(pair, tmp_path)


def test_the_generator_finds_breaking_changes() -> None:
    """The sample is worth running only if buf finds something in most pairs."""
    edits = [mutation_pair(seed).name for seed in range(DEFAULT_SEEDS)]
    assert len({name.split(": ", 1)[1] for name in edits}) > DEFAULT_SEEDS // 2
