"""The base model of every wire shape: snake_case attributes, camelCase JSON, and lenient reading."""

from __future__ import annotations

import functools
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel

# Validation context key: `Model.model_validate(data, context=LENIENT_READ)` reads a peer's answer leniently.
LENIENT = "arkor.lenient"
LENIENT_READ: dict[str, Any] = {LENIENT: True}


class WireModel(BaseModel):
    """A JSON body on the wire.

    Reading is lenient (unknown keys are kept, so a newer peer never breaks an older one); writing
    uses camelCase and drops unset optional fields.

    What a client reads from a backend it did not write (`context=LENIENT_READ`) is more lenient
    still, as the original's decoders are: only `read_required` fields must be present and valid;
    an optional field that does not validate is left out instead of failing the whole answer. What
    the backend receives is validated strictly (no context).
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        serialize_by_alias=True,
    )

    # The fields a lenient read insists on (snake_case names); None means the model's required fields.
    read_required: ClassVar[frozenset[str] | None] = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict of this model, camelCase, without None values."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @model_validator(mode="wrap")
    @classmethod
    def _read_leniently(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        try:
            return handler(data)
        except ValidationError:
            if not isinstance(data, dict) or not (info.context or {}).get(LENIENT):
                raise
            read = _lenient_read(cls, data, info.context)
            if read is None:
                raise
            return read


@functools.cache
def _field_adapter(cls: type[WireModel], name: str) -> TypeAdapter[Any]:
    field = cls.model_fields[name]
    # A type form built at run time from the field's annotation and its constraints.
    annotation: Any = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    return TypeAdapter(annotation)


def _lenient_read(cls: type[WireModel], data: dict[str, Any], context: Any) -> WireModel | None:
    """Field by field: keep what validates, drop optional fields that do not; None if a needed one fails."""
    fields = cls.model_fields
    required = (
        cls.read_required
        if cls.read_required is not None
        else frozenset(name for name, field in fields.items() if field.is_required())
    )
    wire_names = {(field.alias or name): name for name, field in fields.items()} | {name: name for name in fields}
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, raw in data.items():
        name = wire_names.get(key)
        if name is None:
            extra[key] = raw
            continue
        try:
            values[name] = _field_adapter(cls, name).validate_python(raw, context=context)
        except ValidationError:
            if name in required:
                return None
    if not required <= values.keys():
        return None
    for name, field in fields.items():
        if name not in values and field.is_required():
            values[name] = None  # not sent by this backend; the SDK does not need it
    return cls.model_construct(**values, **extra)
