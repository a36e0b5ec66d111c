"""The built-in tasks: lm (next token at every step), classify (a class per sequence),
regress (a vector per sequence) and classify_steps (a class at every step, masked)."""

from rnnlab.plugins.hookspecs import Register, hookimpl
from rnnlab.tasks import Classification, LanguageModel, Regression, StepClassification


@hookimpl
def register_tasks(register: Register) -> None:
    register("lm", LanguageModel)
    register("classify", Classification)
    register("regress", Regression)
    register("classify_steps", StepClassification)
