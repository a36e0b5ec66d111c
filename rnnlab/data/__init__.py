"""rnnlab's built-in datasets and the dataset contract (numpy and the standard library only).

See ``rnnlab.data.base`` for the contract the runner relies on.
"""

from rnnlab.data.base import (
    SPLITS,
    DataError,
    Dataset,
    SequenceExamples,
    TokenStreams,
    seeded_rng,
)
from rnnlab.data.chars import CharDataset
from rnnlab.data.difference import DifferenceDataset

__all__ = [
    "SPLITS",
    "CharDataset",
    "DataError",
    "Dataset",
    "DifferenceDataset",
    "SequenceExamples",
    "TokenStreams",
    "seeded_rng",
]
