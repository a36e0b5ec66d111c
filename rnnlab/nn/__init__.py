"""The NumPy engine: recurrent cells, layers, losses, optimizers and gradient checking."""

from rnnlab.nn.cell import Cell, State, StepCell
from rnnlab.nn.gradcheck import (
    gradient_errors,
    max_gradient_error,
    numerical_gradient,
    relative_error,
)
from rnnlab.nn.gru import GRUCell
from rnnlab.nn.lstm import LSTMCell
from rnnlab.nn.rnn import RNNCell
from rnnlab.nn.layers import Dropout, Embedding, Linear
from rnnlab.nn.losses import LN2, mse, softmax_cross_entropy
from rnnlab.nn import parallel
from rnnlab.nn.model import RecurrentModel
from rnnlab.nn.optim import (
    SGD,
    Adagrad,
    Adam,
    Optimizer,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
    grad_norms,
    l2_penalty,
)
