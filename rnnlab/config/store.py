"""Put the schema and every registered group node into Hydra's ConfigStore."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from rnnlab.config.composed import run_schema
from rnnlab.config.schema import CellConfig, DataConfig, OptimizerConfig, ScheduleConfig
from rnnlab.errors import PluginError
from rnnlab.plugins.registry import Registry

GROUP_BASES = {
    "cell": CellConfig,
    "data": DataConfig,
    "optimizer": OptimizerConfig,
    "schedule": ScheduleConfig,
}


def store_configs(registry: Registry) -> None:
    """Store ``rnnlab_schema`` (``run_schema``), and ``<group>/<name>`` for each registered
    cell, dataset, optimizer and schedule."""
    cs = ConfigStore.instance()
    cs.store(name="rnnlab_schema", node=run_schema(registry))
    for group, base in GROUP_BASES.items():
        for name, reg in registry.entries[group].items():
            config = reg.config or base
            if not issubclass(config, base):
                raise PluginError(
                    f"{group} '{name}' from {reg.plugin.describe()} has config "
                    f"{config.__name__}, which must subclass rnnlab.config.{base.__name__}"
                )
            cs.store(group=group, name=name, node=config(name=name))
