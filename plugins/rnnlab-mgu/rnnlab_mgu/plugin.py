"""Registers the ``mgu`` cell with rnnlab (entry point ``mgu`` in group ``rnnlab``)."""

from dataclasses import dataclass

from rnnlab import hookimpl
from rnnlab.config import CellConfig
from rnnlab_mgu.cell import MGUCell


@dataclass
class MGUConfig(CellConfig):
    #: initial value of the forget-gate bias
    forget_bias: float = 1.0


@hookimpl
def register_cells(register):
    register("mgu", MGUCell, config=MGUConfig)
