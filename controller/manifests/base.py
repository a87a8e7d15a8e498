"""The base every manifest model derives from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

_FIELD_SETS: dict[frozenset[str], set[str]] = {}
"""One shared set per distinct set of fields written: the `run` service keeps every
endpoint's models for as long as it runs, and a set per model instance (216 bytes, five models an
endpoint) was a kilobyte per endpoint of identical sets. Bounded by the field combinations the
manifests use."""


class Strict(BaseModel):
    """Base: camelCase aliases, unknown fields rejected, immutable once loaded."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )

    def model_post_init(self, context: Any, /) -> None:
        """Share the fields-set with every model that wrote the same fields (see `_FIELD_SETS`).

        Safe because the models are frozen: pydantic adds to the set only on assignment, and
        `model_copy` copies it first. A plain set, since pydantic-core's `exclude_unset` needs one.
        """
        fields = self.__pydantic_fields_set__
        shared = _FIELD_SETS.setdefault(frozenset(fields), fields)
        object.__setattr__(self, "__pydantic_fields_set__", shared)
