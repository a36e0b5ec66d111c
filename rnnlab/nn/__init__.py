"""The NumPy engine: recurrent cells, layers, losses, optimizers and gradient checking."""

from rnnlab.nn.cell import Cell, State, StepCell
from rnnlab.nn.gradcheck import (gradient_errors, max_gradient_error, numerical_gradient,
                                 relative_error)
from rnnlab.nn.gru import GRUCell
from rnnlab.nn.lstm import LSTMCell
from rnnlab.nn.rnn import RNNCell
