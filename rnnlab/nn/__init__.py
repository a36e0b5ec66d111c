"""The NumPy engine: recurrent cells, layers, losses, optimizers, learning-rate
schedules and gradient checking."""

from rnnlab.nn import parallel
from rnnlab.nn.cell import Cell, State, StepCell
from rnnlab.nn.gradcheck import (
    gradient_errors,
    max_gradient_error,
    numerical_gradient,
    relative_error,
)
from rnnlab.nn.gru import GRUCell
from rnnlab.nn.layers import Dropout, Embedding, Linear
from rnnlab.nn.losses import LN2, mse, softmax_cross_entropy
from rnnlab.nn.lstm import LSTMCell
from rnnlab.nn.model import RecurrentModel
from rnnlab.nn.optim import (
    SGD,
    Adagrad,
    Adam,
    Optimizer,
    RMSprop,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
    grad_norms,
    l2_penalty,
)
from rnnlab.nn.rnn import RNNCell
from rnnlab.nn.schedules import (
    ConstantSchedule,
    CosineSchedule,
    PlateauSchedule,
    Schedule,
    StepSchedule,
)

__all__ = [
    "LN2",
    "SGD",
    "Adagrad",
    "Adam",
    "Cell",
    "ConstantSchedule",
    "CosineSchedule",
    "Dropout",
    "Embedding",
    "GRUCell",
    "LSTMCell",
    "Linear",
    "Optimizer",
    "PlateauSchedule",
    "RMSprop",
    "RNNCell",
    "RecurrentModel",
    "Schedule",
    "State",
    "StepCell",
    "StepSchedule",
    "clip_grad_norm",
    "clip_grad_value",
    "global_norm",
    "grad_norms",
    "gradient_errors",
    "l2_penalty",
    "max_gradient_error",
    "mse",
    "numerical_gradient",
    "parallel",
    "relative_error",
    "softmax_cross_entropy",
]
