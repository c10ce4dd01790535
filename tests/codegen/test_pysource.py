"""The imports registry and layout helpers that the templates write Python with."""

from __future__ import annotations

from protoforge.codegen.pysource import LINE_LENGTH, Imports, docstring, fit


def local_to(*modules: str) -> Imports:
    return Imports("acme.orders.v1.orders_pf_server", frozenset(modules).__contains__)


def test_only_what_was_asked_for_is_imported_in_ruffs_section_order() -> None:
    imports = local_to("acme._protoforge_runtime", "acme.orders.v1.orders_pb2")
    assert imports.name("typing", "ClassVar") == "ClassVar"
    assert imports.module_alias("grpc") == "grpc"
    assert imports.name("acme._protoforge_runtime", "Servicer") == "Servicer"
    assert imports.module_alias("acme._protoforge_runtime", "_rt") == "_rt"
    assert imports.module_alias("acme.orders.v1.orders_pb2", "orders_pb2") == "orders_pb2"
    imports.name("collections.abc", "Iterator")
    imports.name("collections.abc", "AsyncIterator")
    imports.name("google.protobuf.descriptor", "ServiceDescriptor")
    text = imports.finish(f"# head\n{imports}\n# body\n")
    assert text == (
        "# head\n"
        "from collections.abc import AsyncIterator, Iterator\n"
        "from typing import ClassVar\n"
        "\n"
        "import grpc\n"
        "from google.protobuf.descriptor import ServiceDescriptor\n"
        "\n"
        "from ... import _protoforge_runtime as _rt\n"
        "from ..._protoforge_runtime import Servicer\n"
        "from . import orders_pb2\n"
        "# body\n"
    )


def test_asking_twice_gives_one_import_and_a_taken_name_gets_an_alias() -> None:
    imports = local_to()
    assert imports.name("typing", "Any") == imports.name("typing", "Any") == "Any"
    assert imports.name("other", "Any") == "Any_"
    assert imports.block().third_party == ("from other import Any as Any_",)
    assert imports.block().stdlib == ("from typing import Any",)


def test_nothing_asked_for_writes_no_block() -> None:
    imports = local_to()
    assert imports.finish(f"a\n{imports}\nb\n") == "a\n\nb\n"


def test_a_top_level_module_of_the_tree_is_imported_absolutely() -> None:
    imports = Imports("orders.v1.x_pf_client", lambda module: False)
    imports.name("_protoforge_runtime", "Client")
    imports.module_alias("grpc")
    assert imports.block().third_party == (
        "import grpc",
        "from _protoforge_runtime import Client",
    )


def test_absolute_imports_outside_the_tree_are_combined_per_package() -> None:
    generated = {"acme.orders.v1.orders_pb2", "acme.orders.v1.orders_pf_server"}
    imports = Imports("acme_orders_v1_orders_impl", generated.__contains__, relative=False)
    imports.module_alias("acme.orders.v1.orders_pf_server", "orders_pf_server")
    imports.module_alias("acme.orders.v1.orders_pb2", "orders_pb2")
    imports.module_alias("sys")
    assert imports.block().local == ("from acme.orders.v1 import orders_pb2, orders_pf_server",)
    assert imports.block().stdlib == ("import sys",)


def test_a_long_from_import_is_exploded_as_isort_writes_it() -> None:
    imports = local_to()
    names = [f"VeryLongName{index:02}" for index in range(8)]
    for name in names:
        imports.name("typing", name)
    (line,) = imports.block().stdlib
    assert line.splitlines()[0] == "from typing import ("
    assert line.splitlines()[-1] == ")"
    assert all(
        row == f"    {name}," for row, name in zip(line.splitlines()[1:-1], names, strict=True)
    )


def test_fit_keeps_short_brackets_on_one_line_and_splits_long_ones_as_ruff_does() -> None:
    assert fit(8, "x: Iterator[", ["a_pb2.B"], "],") == "        x: Iterator[a_pb2.B],"
    long = "a_pb2." + "B" * 90
    assert (
        fit(8, "x: Iterator[", [long], "],")
        == f"        x: Iterator[\n            {long}\n        ],"
    )


COMMENT = """Returns the feature at a
point, or an unnamed
feature when none is there.

A second paragraph,
broken by hand
too.
Example:
  stub.GetFeature(
      point)
- a bullet that stays
  as written
- another
```
keep   this
as is
```
| a | table |"""


def test_comment_docstrings_refill_prose_and_keep_code_and_lists() -> None:
    """Harm: docstrings kept the comments' hand-made line breaks (ragged at any width)."""
    text = docstring(COMMENT, 8, reflow=True)
    body = [line.removeprefix(" " * 8) for line in text.splitlines()]
    assert body[:3] == [
        '"""Returns the feature at a point, or an unnamed feature when none is there.',
        "",
        "A second paragraph, broken by hand too. Example:",
    ]
    kept = COMMENT.split("Example:\n", 1)[1].splitlines()
    assert body[3 : 3 + len(kept)] == kept
    assert body[-1] == '"""'


def test_refilled_prose_fits_the_line_length() -> None:
    long = "\n".join(["word " * 7] * 30)
    text = docstring(long, 8, reflow=True)
    lines = text.splitlines()
    assert all(len(line) <= LINE_LENGTH for line in lines)
    assert len(lines) < 30 and "word word" in lines[1]
    assert docstring(long, 8) != text  # without reflow (protoforge's own texts) lines are kept
