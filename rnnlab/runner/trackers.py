"""Starting a run's trackers, each checked against the tracker contract before training."""

from __future__ import annotations

from pluggy import PluginValidationError

from rnnlab.errors import PluginError, RnnlabError
from rnnlab.plugins.registry import Registration, Registry
from rnnlab.plugins.run import Run


def start_trackers(run: Run, registry: Registry) -> list[object]:
    """Build the trackers ``tracking.trackers`` names, register each as a plugin for the run
    and attach the hooks to ``run`` (``run.add_artifact``); returns them, to unregister.

    A tracker that cannot be built or breaks the contract fails with one PluginError naming
    its plugin, before any of them has seen the run.
    """
    pm = registry.plugins.pm
    trackers: list[object] = []
    try:
        for name in run.config["tracking"]["trackers"]:
            reg = registry.get("tracker", name)
            tracker = build_tracker(reg, run)
            try:
                pm.register(tracker, name=f"tracker:{name}:{id(tracker)}")
            except PluginValidationError as exc:  # a hook method with arguments the spec lacks
                detail = "; ".join(str(exc).splitlines()[1:]) or str(exc)
                raise contract_error(reg, f"{class_name(reg)}: {detail}") from None
            trackers.append(tracker)
            check_hooks(reg, tracker, registry)
    except BaseException:
        for tracker in trackers:
            pm.unregister(tracker)
        raise
    run.hook = pm.hook
    return trackers


def build_tracker(reg: Registration, run: Run) -> object:
    """``reg.obj(run)``; a class that cannot be built is a contract error of its plugin."""
    try:
        return reg.obj(run)
    except RnnlabError:  # the tracker's own one-line error (e.g. a store it cannot use)
        raise
    except Exception as exc:
        raise contract_error(
            reg, f"{class_name(reg)}(run) raised {type(exc).__name__}: {exc}; fix the tracker class"
        ) from None


def check_hooks(reg: Registration, tracker: object, registry: Registry) -> None:
    """Every method the tracker marks ``@hookimpl`` is a hook rnnlab calls (pluggy's
    ``check_pending``, for this tracker only); it marks one at least."""
    callers = registry.plugins.pm.get_hookcallers(tracker) or []
    unknown = sorted(c.name for c in callers if not c.has_spec())
    if unknown:
        raise contract_error(
            reg,
            f"{class_name(reg)} marks {', '.join(unknown)} with @hookimpl, which rnnlab does "
            f"not call; check the spelling against the hook reference (on_metrics, ...)",
        )
    if not callers:
        raise contract_error(
            reg,
            f"{class_name(reg)} implements no hook; mark its methods (on_run_start, ...) "
            f"with @rnnlab.hookimpl",
        )


def class_name(reg: Registration) -> str:
    return getattr(reg.obj, "__name__", repr(reg.obj))


def contract_error(reg: Registration, problem: str) -> PluginError:
    return PluginError(
        f"tracker '{reg.name}' from {reg.plugin.describe()} breaks the tracker contract: {problem}"
    )
