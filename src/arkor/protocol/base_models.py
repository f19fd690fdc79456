"""The base models a backend or Studio offers (`GET /v1/models`, Studio's `/api/models`): one entry per
registered model family, and the default one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ._base import WireModel


class _Family(Protocol):
    """What a listing reads of a model family (`arkor.model_families.ModelFamily`)."""

    @property
    def id(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def offline_available(self) -> bool: ...
    @property
    def test_only(self) -> bool: ...


class BaseModelInfo(WireModel):
    """One base model: `offline` when its weights come with arkor (no download), `test_only` for the tiny
    test model."""

    id: str
    name: str
    description: str = ""
    offline: bool
    test_only: bool = False


class BaseModelList(WireModel):
    models: list[BaseModelInfo]
    default: str

    @classmethod
    def of(cls, families: Iterable[_Family], default: str) -> BaseModelList:
        return cls(
            models=[
                BaseModelInfo(
                    id=f.id,
                    name=f.display_name,
                    description=f.description,
                    offline=f.offline_available,
                    test_only=f.test_only,
                )
                for f in families
            ],
            default=default,
        )
