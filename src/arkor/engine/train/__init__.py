"""The LoRA training run: phases (load, prepare, adapt, loop, save) and the events they emit."""

from .run import StopRequested, run_training

__all__ = ["StopRequested", "run_training"]
