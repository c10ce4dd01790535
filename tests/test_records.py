"""protoforge.records.Record: what typing.NamedTuple makes of the same class body."""

from __future__ import annotations

import pickle
from typing import NamedTuple

from protoforge.records import Record


class Typed(NamedTuple):
    """A finding."""

    path: str
    line: int = 0
    tags: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    def tagged(self, tag: str) -> Typed:
        return self._replace(tags=(*self.tags, tag))


class Recorded(Record):
    """A finding."""

    path: str
    line: int = 0
    tags: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    def tagged(self, tag: str) -> Recorded:
        return self._replace(tags=(*self.tags, tag))


def test_a_record_is_the_named_tuple_typing_makes_of_the_same_body() -> None:
    for cls in (Typed, Recorded):
        value = cls("a.proto", 3)
        assert cls._fields == ("path", "line", "tags")
        assert cls._field_defaults == {"line": 0, "tags": ()}
        assert cls("b.proto") == ("b.proto", 0, ())
        assert value.location == "a.proto:3"
        assert value.tagged("x").tags == ("x",)
        assert sorted([cls("b", 1), cls("a", 2)]) == [cls("a", 2), cls("b", 1)]
        assert {value: 1}[cls("a.proto", 3)] == 1
        assert pickle.loads(pickle.dumps(value)) == value
        assert cls.__doc__ == "A finding."
        assert cls.__module__ == __name__
        assert isinstance(value, tuple)
    assert repr(Recorded("a.proto", 3)) == repr(Typed("a.proto", 3)).replace("Typed", "Recorded")
    assert list(Recorded.__annotations__) == list(Typed.__annotations__)
