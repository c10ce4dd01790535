"""The errors of the breaking check that are its own (the others are protoforge.errors')."""

from __future__ import annotations

from protoforge.errors import ProtoforgeError


class BaselineError(ProtoforgeError):
    """The baseline cannot be resolved (missing ref, unreadable snapshot, not a repository)."""


class BufError(ProtoforgeError):
    """buf is missing, or failed for a reason other than breaking changes."""
