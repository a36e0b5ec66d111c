"""Tasks: what a dataset's targets mean (loss, scored steps, metrics, state, ``bptt``,
sampling). See ``rnnlab.tasks.base.Task`` for the contract; the built-in tasks implement it."""

from rnnlab.tasks.base import PER_STEP, Sums, Task, add_sums
from rnnlab.tasks.classification import Classification
from rnnlab.tasks.language_model import LanguageModel
from rnnlab.tasks.regression import Regression
from rnnlab.tasks.step_classification import StepClassification

__all__ = [
    "PER_STEP",
    "Classification",
    "LanguageModel",
    "Regression",
    "StepClassification",
    "Sums",
    "Task",
    "add_sums",
]
