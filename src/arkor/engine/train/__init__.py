"""The LoRA training run: phases (load, prepare, adapt, loop, save) and the events they emit."""

from .run import TrainingCancelled, run_training

__all__ = ["TrainingCancelled", "run_training"]
