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
class CompiledConfig(CellConfig):
    #: numpy: the reference engine; numba: the time loops compiled (the `fast` extra)
    kernel: str = checked("numpy", one_of("numpy", "numba"))


@dataclass
class LSTMConfig(CompiledConfig):
    #: initial value of the forget-gate bias
    forget_bias: float = 1.0


@dataclass
class GRUConfig(CompiledConfig):
    pass


def compiled_cells() -> dict[str, type]:
    """The cells whose time loops numba compiles (``cell.kernel=numba``), by name; a one-line
    ConfigError without the fast extra."""
    try:
        from rnnlab.kernels.gru import NumbaGRUCell
        from rnnlab.kernels.lstm import NumbaLSTMCell
    except ImportError as exc:
        raise ConfigError(
            f"cell.kernel=numba needs the fast extra ({exc.name} is not installed): "
            "pip install 'rnnlab[fast]', or use cell.kernel=numpy"
        ) from None
    return {"lstm": NumbaLSTMCell, "gru": NumbaGRUCell}


def lstm(
    input_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
    forget_bias: float = 1.0,
    kernel: str = "numpy",
) -> LSTMCell:
    """The LSTM cell, with its time loops in NumPy or compiled by numba (``kernel``)."""
    cell = LSTMCell if kernel == "numpy" else compiled_cells()["lstm"]
    return cell(input_size, hidden_size, rng, dtype, forget_bias)


def gru(
    input_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
    kernel: str = "numpy",
) -> GRUCell:
    """The GRU cell, with its time loops in NumPy or compiled by numba (``kernel``)."""
    cell = GRUCell if kernel == "numpy" else compiled_cells()["gru"]
    return cell(input_size, hidden_size, rng, dtype)


@hookimpl
def register_cells(register):
    register("rnn", RNNCell, config=RNNConfig)
    register("lstm", lstm, config=LSTMConfig)
    register("gru", gru, config=GRUConfig)
