"""User-facing errors: each carries a one-line message naming the problem and the fix.

The CLI prints ``rnnlab: error: <message>`` for these and exits non-zero,
without a traceback.
"""


class RnnlabError(Exception):
    """A user mistake or an environment problem the user can fix."""


class ConfigError(RnnlabError, ValueError):
    """A composed config value is wrong (names the key and what is allowed)."""


class PluginError(RnnlabError):
    """A plugin failed to load, is missing, or conflicts with another."""


class CheckpointError(RnnlabError):
    """A checkpoint cannot be used (missing, truncated, or from another model)."""
