"""The built-in optimizers: sgd (momentum, Nesterov), adagrad, adam, rmsprop."""

from dataclasses import dataclass

from rnnlab.config import OptimizerConfig, below, checked, non_negative, positive
from rnnlab.errors import ConfigError
from rnnlab.nn.optim import SGD, Adagrad, Adam, RMSprop
from rnnlab.plugins.hookspecs import hookimpl


@dataclass
class SGDConfig(OptimizerConfig):
    lr: float = checked(0.5, positive())
    momentum: float = checked(0.0, below(1.0))
    nesterov: bool = False

    def check(self, prefix: str) -> None:
        if self.nesterov and not self.momentum:
            raise ConfigError(
                f"{prefix}nesterov=true needs {prefix}momentum > 0 (e.g. {prefix}momentum=0.9)"
            )


@dataclass
class AdagradConfig(OptimizerConfig):
    lr: float = checked(0.1, positive())
    eps: float = checked(1e-10, positive())
    initial_accumulator_value: float = checked(0.0, non_negative())


@dataclass
class AdamConfig(OptimizerConfig):
    lr: float = checked(0.002, positive())
    beta1: float = checked(0.9, below(1.0))
    beta2: float = checked(0.999, below(1.0))
    eps: float = checked(1e-8, positive())


@dataclass
class RMSpropConfig(OptimizerConfig):
    """Defaults as char-rnn's (torch.optim.RMSprop's are lr 0.01, alpha 0.99)."""

    lr: float = checked(0.002, positive())
    #: decay of the running mean of squared gradients
    alpha: float = checked(0.95, below(1.0))
    eps: float = checked(1e-8, positive())
    momentum: float = checked(0.0, below(1.0))
    #: divide by the running variance of the gradient rather than its mean square
    centered: bool = False


def build_sgd(params, c: SGDConfig):
    return SGD(params, lr=c.lr, momentum=c.momentum, nesterov=c.nesterov)


def build_adagrad(params, c: AdagradConfig):
    return Adagrad(
        params, lr=c.lr, eps=c.eps, initial_accumulator_value=c.initial_accumulator_value
    )


def build_adam(params, c: AdamConfig):
    return Adam(params, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps)


def build_rmsprop(params, c: RMSpropConfig):
    return RMSprop(
        params, lr=c.lr, alpha=c.alpha, eps=c.eps, momentum=c.momentum, centered=c.centered
    )


@hookimpl
def register_optimizers(register):
    register("sgd", build_sgd, config=SGDConfig)
    register("adagrad", build_adagrad, config=AdagradConfig)
    register("adam", build_adam, config=AdamConfig)
    register("rmsprop", build_rmsprop, config=RMSpropConfig)
