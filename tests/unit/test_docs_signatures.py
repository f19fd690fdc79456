"""`help(create_trainer)` and editors show readable defaults: required fields read `REQUIRED`, not the
repr of a bare `object()` sentinel, and leaving one out is still reported with the other problems."""

from __future__ import annotations

import inspect
import pydoc

import pytest

from arkor import TrainerConfigError, create_trainer


def test_signature_has_no_bare_object_sentinel() -> None:
    signature = str(inspect.signature(create_trainer))
    assert "<object object" not in signature
    assert "name: 'str' = REQUIRED" in signature or "name: str = REQUIRED" in signature
    assert "<object object" not in pydoc.render_doc(create_trainer, renderer=pydoc.plaintext)


def test_a_missing_required_field_is_still_a_trainer_config_error() -> None:
    with pytest.raises(TrainerConfigError) as caught:
        create_trainer(model="HuggingFaceTB/SmolLM2-135M-Instruct", dataset={"type": "huggingface", "name": "a/b"})
    assert ("name", "is required") in caught.value.problems
