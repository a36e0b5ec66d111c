"""The built-in cells: rnn, lstm, gru."""

from dataclasses import dataclass

from rnnlab.config import CellConfig, checked, one_of
from rnnlab.nn.gru import GRUCell
from rnnlab.nn.lstm import LSTMCell
from rnnlab.nn.rnn import RNNCell
from rnnlab.plugins.hookspecs import hookimpl


@dataclass
class RNNConfig(CellConfig):
    nonlinearity: str = checked("tanh", one_of("tanh", "relu"))


@dataclass
class LSTMConfig(CellConfig):
    #: initial value of the forget-gate bias
    forget_bias: float = 1.0


@dataclass
class GRUConfig(CellConfig):
    pass


@hookimpl
def register_cells(register):
    register("rnn", RNNCell, config=RNNConfig)
    register("lstm", LSTMCell, config=LSTMConfig)
    register("gru", GRUCell, config=GRUConfig)
