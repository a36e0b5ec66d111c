"""A dataset's task, found by name or given by the dataset, and the checks that a dataset and
its task keep their contracts, before a run starts: a plugin that breaks one fails with one
line naming it, what it lacks and the fix, not with a traceback in the middle of training."""

from __future__ import annotations

from typing import Any

from rnnlab.data.base import Dataset, DataShape
from rnnlab.errors import PluginError
from rnnlab.plugins.registry import Registration, Registry
from rnnlab.tasks import PER_STEP, Task

GUIDE = "README: Plugin guide, Writing a dataset and its task"
#: the methods the runner calls on a dataset, with their signatures
DATASET_METHODS = {
    "num_batches": "num_batches(split, batch_size, bptt)",
    "batch": "batch(split, epoch, index, batch_size, bptt)",
}
#: the attributes the runner reads (rnnlab.data.Dataset gives every one but these defaults)
DATASET_ATTRIBUTES = ("task", "output_size", "vocab_size", "input_size", "seq_len", "baselines")
#: what a task that writes text samples needs of its dataset
TEXT_METHODS = {"encode": "encode(text) -> ids", "decode": "decode(ids) -> text"}
TASK_FLAGS = ("carries_state", "truncates_within_sequence", "samples_text")


def _lacks_method(obj: object, name: str, base: type) -> bool:
    """True unless ``obj`` has a callable ``name`` of its own (not ``base``'s placeholder)."""
    method = getattr(obj, name, None)
    return not callable(method) or getattr(type(obj), name, None) is getattr(base, name, 0)


def check_dataset(reg: Registration, dataset: Any, registry: Registry) -> Task:
    """``dataset``'s task, once ``dataset`` (built by ``reg``) and its task keep their
    contracts; a one-line PluginError naming the plugin, what it lacks and the fix otherwise."""
    who = f"dataset '{reg.name}' from {reg.plugin.describe()}"
    kind = type(dataset).__name__

    def broken(problem: str, fix: str) -> PluginError:
        return PluginError(f"{who} breaks the dataset contract: {problem}; {fix} ({GUIDE})")

    for name, signature in DATASET_METHODS.items():
        if _lacks_method(dataset, name, Dataset):
            raise broken(f"{kind} has no method {signature}", "add it")
    for name in DATASET_ATTRIBUTES:
        if not hasattr(dataset, name):
            raise broken(
                f"{kind} has no attribute {name}",
                "set it, or subclass rnnlab.data.Dataset, which gives the optional ones",
            )
    size = dataset.output_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise broken(f"{kind}.output_size is {size!r}", "set it to the number of outputs (>= 1)")
    if dataset.vocab_size is None and dataset.input_size is None:
        raise broken(
            f"{kind} sets neither vocab_size (token inputs) nor input_size (dense inputs)",
            "set the one that fits its inputs",
        )
    task = dataset_task(dataset, registry, who)
    if task.samples_text:
        for name, signature in TEXT_METHODS.items():
            if not callable(getattr(dataset, name, None)):
                raise broken(
                    f"its task writes text samples, but {kind} has no method {signature}",
                    "add encode and decode, or use a task that does not sample text",
                )
    return task


def dataset_task(dataset: DataShape, registry: Registry, who: str = "") -> Task:
    """The Task ``dataset.task`` names (a registered task, built fresh) or is; a one-line
    PluginError naming ``who`` (the dataset's plugin) if it is neither or breaks the task
    contract."""
    who = who or f"dataset {type(dataset).__name__}"
    named = dataset.task
    if isinstance(named, str):
        try:
            reg = registry.get("task", named)
        except PluginError as exc:
            fix = "; set its task to one of them, or install the plugin that registers it"
            raise PluginError(
                f"{who}: {exc}{fix if str(exc).startswith('unknown') else ''}"
            ) from None
        return built_task(reg)
    check_task(named, f"the task of {who}")
    return named


def built_task(reg: Registration) -> Task:
    """The task ``reg`` registers, built with no arguments and checked."""
    who = f"task '{reg.name}' from {reg.plugin.describe()}"
    missing = sorted(getattr(reg.obj, "__abstractmethods__", ()))
    if missing:
        raise PluginError(
            f"{who} breaks the task contract: {reg.obj.__name__} does not implement "
            f"{', '.join(missing)}; implement each ({GUIDE})"
        )
    try:
        task = reg.obj()
    except Exception as exc:
        raise PluginError(
            f"{who} cannot be built with no arguments ({type(exc).__name__}: {exc}); register "
            f"a class or function that takes none"
        ) from None
    check_task(task, who)
    return task


def check_task(task: object, who: str) -> None:
    """PluginError unless ``task`` is a Task whose attributes have allowed values."""

    def broken(problem: str, fix: str) -> PluginError:
        return PluginError(f"{who} breaks the task contract: {problem}; {fix} ({GUIDE})")

    if not isinstance(task, Task):
        raise broken(
            f"its task is a {type(task).__name__}, not an rnnlab.tasks.Task",
            "subclass rnnlab.tasks.Task, or name a registered task (e.g. task = 'classify')",
        )
    if task.head not in (None, PER_STEP):
        raise broken(f"head is {task.head!r}", f"use '{PER_STEP}' or None (model.head decides)")
    for flag in TASK_FLAGS:
        if not isinstance(getattr(task, flag), bool):
            raise broken(f"{flag} is {getattr(task, flag)!r}", "use True or False")
