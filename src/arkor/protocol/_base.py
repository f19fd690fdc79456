"""The base model of every wire shape: snake_case attributes, camelCase JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A JSON body on the wire.

    Reading is lenient (unknown keys are kept, so a newer peer never breaks an
    older one); writing uses camelCase and drops unset optional fields.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        serialize_by_alias=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict of this model, camelCase, without None values."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
