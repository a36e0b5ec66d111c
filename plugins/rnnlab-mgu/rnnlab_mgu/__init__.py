"""rnnlab-mgu: the minimal gated unit as an rnnlab cell plugin."""

from rnnlab_mgu.cell import MGUCell

__all__ = ["MGUCell"]
