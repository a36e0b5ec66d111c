"""The built-in cells: rnn, lstm, gru."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from rnnlab.config import CellConfig, checked, one_of
from rnnlab.errors import ConfigError
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
    #: numpy: the reference engine; numba: the time loops compiled (the `fast` extra)
    kernel: str = checked("numpy", one_of("numpy", "numba"))


@dataclass
class GRUConfig(CellConfig):
    pass


def lstm(
    input_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
    forget_bias: float = 1.0,
    kernel: str = "numpy",
) -> LSTMCell:
    """The LSTM cell, with its time loops in NumPy or compiled by numba (``kernel``)."""
    if kernel == "numpy":
        return LSTMCell(input_size, hidden_size, rng, dtype, forget_bias)
    try:
        from rnnlab.kernels.lstm import NumbaLSTMCell
    except ImportError as exc:
        raise ConfigError(
            f"cell.kernel=numba needs the fast extra ({exc.name} is not installed): "
            "pip install 'rnnlab[fast]', or use cell.kernel=numpy"
        ) from None
    return NumbaLSTMCell(input_size, hidden_size, rng, dtype, forget_bias)


@hookimpl
def register_cells(register):
    register("rnn", RNNCell, config=RNNConfig)
    register("lstm", lstm, config=LSTMConfig)
    register("gru", GRUCell, config=GRUConfig)
