"""`torch_compile=True`: the decoder layers compiled by `torch.compile` for the training steps only.

Each decoder layer's forward is compiled with dynamic shapes (length-grouped batches change the
sequence length from step to step). Every layer runs the same code on same-shaped tensors, so they
share the graphs built the first time; layer 0 gets its own, as its input needs no gradient.
Measured on SmolLM2 on 2 CPU cores (`benchmarks/compile_step.py`): a first step of 62-80 s for the
first build and 14-18 s once inductor's on-disk cache is warm, then 1.16-1.40x the eager step. The compiled forwards are in place only inside `active()`:
evaluation, task scoring and decoding call the layers with other shapes and without gradients, and
would otherwise build again. A build that fails (no C compiler, an op inductor cannot lower) is
caught on the first compiled step: that step is run again eagerly, and so is the rest of the run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from .loss import decoder_and_head

log = logging.getLogger(__name__)


def decoder_layers(model: Any) -> list[Any]:
    """The transformer blocks of a (peft-wrapped) causal LM."""
    decoder: Any = decoder_and_head(model)[0]
    layers = getattr(decoder, "layers", None)
    if layers is None:  # e.g. a multimodal wrapper: the text model holds the layers
        layers = decoder.language_model.layers
    return list(layers)


class CompiledLayers:
    """Compiled forwards for `model`'s decoder layers, swapped in by `active()`."""

    def __init__(self, model: Any, *, backend: str = "inductor") -> None:
        import torch

        self.layers = decoder_layers(model)
        self._compiled = [torch.compile(layer.forward, dynamic=True, backend=backend) for layer in self.layers]
        self.proven = False  # a step has run compiled: later errors are the step's, not the build's
        self.fallback_reason: str | None = None

    @property
    def enabled(self) -> bool:
        return self.fallback_reason is None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        for layer, compiled in zip(self.layers, self._compiled):
            layer.forward = compiled  # an instance attribute shadows the class's forward
        try:
            yield
        finally:
            for layer in self.layers:
                layer.__dict__.pop("forward", None)

    def fall_back(self, exc: BaseException) -> None:
        first_line = next(iter(str(exc).strip().splitlines()), "")  # inductor appends a long trace
        self.fallback_reason = f"{type(exc).__name__}: {first_line}"
        log.warning("torch.compile failed on the first step; training goes on eager: %s", self.fallback_reason)

    def status(self) -> str:
        """What the run's metrics say: "compiled", or why it fell back."""
        return "compiled" if self.enabled else f"eager (compiling failed: {self.fallback_reason})"


def run_step(layers: CompiledLayers | None, optimizer: Any, step: Any) -> Any:
    """`step()` with the compiled layers in place; on a first compiled step that fails, once more eagerly."""
    if layers is None or not layers.enabled:
        return step()
    try:
        with layers.active():
            result = step()
    except Exception as exc:  # noqa: BLE001 - any build failure; a real step error repeats eagerly and propagates
        if layers.proven:
            raise
        layers.fall_back(exc)
        optimizer.zero_grad(set_to_none=True)  # a backward that failed halfway may have left gradients
        return step()
    layers.proven = True
    return result
