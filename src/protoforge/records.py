"""`Record`: `typing.NamedTuple`'s class syntax, without importing typing.

check-breaking's modules keep their small immutable values (findings, rule groups, the compiled
sides) as named tuples: a dataclass costs about a millisecond to create at import. Declared with
`typing.NamedTuple` they would import typing, about 5 ms of a small tree's check before buf can
be given its inputs (typing is otherwise not imported on that route). So they derive from
`Record`: for mypy it is `typing.NamedTuple` itself; at run time a class derived from it is what
`typing.NamedTuple` makes of the same body, a `collections.namedtuple` with the annotated fields
(in order, with their defaults), the class's docstring, methods and properties, and its
annotations as written (typing would wrap them in ForwardRefs). Generic records are not
supported, and the body is not checked at run time (mypy checks it as a NamedTuple's: no field
without a default after one with a default).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    import collections

    # what a class body holds besides fields and methods
    _BOOKKEEPING = frozenset({"__module__", "__qualname__", "__annotations__", "__doc__"})

    class _RecordType(type):
        def __new__(mcs, name, bases, namespace):
            if not bases:  # Record itself
                return super().__new__(mcs, name, bases, namespace)
            annotations = namespace.get("__annotations__", {})
            fields = list(annotations)
            record = collections.namedtuple(
                name,
                fields,
                defaults=[namespace[field] for field in fields if field in namespace],
                module=namespace["__module__"],
            )
            record.__qualname__ = namespace["__qualname__"]
            record.__annotations__ = annotations
            if namespace.get("__doc__"):
                record.__doc__ = namespace["__doc__"]
            for key, value in namespace.items():
                if key not in _BOOKKEEPING and key not in annotations:
                    setattr(record, key, value)
            return record

    class Record(metaclass=_RecordType):
        """Derive from this as from `typing.NamedTuple` (see the module doc)."""


__all__ = ["Record"]
