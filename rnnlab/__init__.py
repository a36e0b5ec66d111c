"""rnnlab: a plugin-based experiment runner for recurrent networks on a pure-NumPy core."""

__version__ = "0.1.0"

from rnnlab.plugins.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
