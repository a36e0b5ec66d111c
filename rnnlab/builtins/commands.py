"""rnnlab's own subcommands beside training: ``rnnlab plugins``, ``sample`` and ``evaluate``."""

from __future__ import annotations

import argparse
from typing import cast

from rnnlab.errors import RnnlabError
from rnnlab.plugins.hookspecs import Register, hookimpl


def plugins_command(argv: list[str]) -> None:
    """Print each plugin, its distribution and version, what it registers; and failures."""
    argparse.ArgumentParser(
        prog="rnnlab plugins", description="List loaded plugins and what they register."
    ).parse_args(argv)
    from rnnlab.plugins.registry import get_registry

    registry = get_registry()
    by_plugin: dict[str, list[str]] = {}
    for kind, entries in registry.entries.items():
        for name, reg in entries.items():
            by_plugin.setdefault(reg.plugin.name, []).append(f"{kind} {name}")
    for info in registry.plugins.loaded:
        what = ", ".join(sorted(by_plugin.get(info.name, []))) or "lifecycle hooks only"
        print(f"{info.name}  ({info.distribution} {info.version}, {info.module}): {what}")
    for failure in registry.plugins.failures:
        print(
            f"FAILED {failure.plugin.name}  ({failure.plugin.distribution} "
            f"{failure.plugin.version}, {failure.plugin.module}): {failure.error}"
        )
    for conflict in registry.conflicts.values():
        print(f"CONFLICT {conflict}")
    for broken in registry.broken.values():
        print(f"BROKEN {broken}")


def sample_command(argv: list[str]) -> None:
    """Generate text from a finished character-level run."""
    parser = argparse.ArgumentParser(
        prog="rnnlab sample", description="Generate text from a trained character-level run."
    )
    parser.add_argument("run", help="run directory, or MLflow run id")
    parser.add_argument("--length", type=int, default=500, help="characters to generate")
    parser.add_argument("--temperature", type=float, default=0.8, help="0: the most likely")
    parser.add_argument(
        "--greedy", action="store_true", help="the most likely character (--temperature 0)"
    )
    parser.add_argument("--top-k", type=int, default=0, help="among the k most likely; 0: all")
    parser.add_argument(
        "--top-p", type=float, default=1.0, help="among the most likely, up to this probability"
    )
    parser.add_argument("--prime", default="\n", help="priming text")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best")
    args = parser.parse_args(argv)
    if args.greedy:
        args.temperature = 0.0
    check_flags(args, ("length", "temperature", "top_k", "top_p"))

    import sys

    import numpy as np

    from rnnlab.plugins.registry import get_registry
    from rnnlab.runner.build import build_dataset, build_reading_model
    from rnnlab.runner.checkpoint import Checkpoint
    from rnnlab.runner.data_contract import dataset_task
    from rnnlab.runner.job import resumed_config
    from rnnlab.runner.sampling import TextCodec, generate, warn_unseen

    registry = get_registry()
    _, conf, run_dir = resumed_config(args.run, registry)
    dataset = build_dataset(conf, registry)
    if not dataset_task(dataset, registry).samples_text:
        raise RnnlabError(
            f"run {run_dir} trained on '{conf.data.name}', which is not a text "
            f"dataset; sampling needs a character-level run (data=chars)"
        )
    model = build_reading_model(conf, dataset, registry)
    Checkpoint(run_dir / f"{args.checkpoint}.npz").load_into(model.params)
    codec = cast(TextCodec, dataset)  # checked: a text-sampling task's dataset encodes
    warn_unseen(codec, args.prime, "--prime")
    rng = np.random.default_rng(args.seed)
    pieces = generate(
        model, codec, args.prime, args.length, rng, args.temperature, args.top_k, args.top_p
    )
    for piece in pieces:  # streamed: each character as soon as it is drawn
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def check_flags(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """Check each flag by the range rule of the ``sample`` config field of the same name; a
    ConfigError names the flag as typed (``--top-k``)."""
    from rnnlab.config.schema import check_sample_option

    for name in names:
        check_sample_option("--" + name.replace("_", "-"), name, getattr(args, name))


def evaluate_command(argv: list[str]) -> None:
    """Score a run's checkpoint on another text, another split, or changed data options."""
    parser = argparse.ArgumentParser(
        prog="rnnlab evaluate",
        description="The loss and bits per character (accuracy, MSE) of a run's checkpoint on "
        "a split of its data, on another text (data.path=FILE: the whole file), or on its "
        "dataset with other options (e.g. data.length=200); logged to the run in MLflow.",
    )
    parser.add_argument("run", help="run directory, or MLflow run id")
    parser.add_argument("overrides", nargs="*", metavar="data.KEY=VALUE")
    parser.add_argument(
        "--split", choices=["train", "val", "test"], help="default: test (with data.path: all)"
    )
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best")
    args = parser.parse_intermixed_args(argv)  # overrides may come after --split
    from rnnlab.runner.evaluate_run import evaluate_run

    evaluate_run(args.run, args.overrides, args.split, args.checkpoint)


@hookimpl
def register_commands(register: Register) -> None:
    register("plugins", plugins_command, help="list the plugins and what each registers")
    register(
        "sample",
        sample_command,
        help="RUN [--length N --temperature T --top-k K ...]: "
        "generate text from a character-level run",
    )
    register(
        "evaluate",
        evaluate_command,
        help="RUN [data.path=FILE | --split val]: score a checkpoint on other text",
    )
