"""The built-in datasets: chars (character text), difference (the two-step toy), and the
long-lag tasks adding (regression), temporal_order (classification) and copy (recall at
every step)."""

from dataclasses import dataclass
from pathlib import Path

from rnnlab.config import DataConfig, at_least, checked, non_negative, positive
from rnnlab.data import CharDataset, DifferenceDataset
from rnnlab.data.adding import AddingDataset
from rnnlab.data.copy_task import CopyDataset
from rnnlab.data.temporal_order import TemporalOrderDataset
from rnnlab.data.text import refuse_special_file
from rnnlab.errors import ConfigError
from rnnlab.plugins.hookspecs import hookimpl


@dataclass
class CharsConfig(DataConfig):
    #: a UTF-8 text file; None uses the tinyshakespeare corpus that ships with rnnlab
    path: str | None = None
    train_fraction: float = checked(0.9, positive())
    val_fraction: float = checked(0.05, positive())

    def check(self, prefix: str) -> None:
        if self.path:  # a FIFO or a directory is refused before a run directory is made
            refuse_special_file(Path(self.path).expanduser())
        if self.train_fraction + self.val_fraction >= 1:
            raise ConfigError(
                f"{prefix}train_fraction={self.train_fraction} and {prefix}val_fraction="
                f"{self.val_fraction} are not allowed: their sum must be below 1 (the test split "
                f"gets the rest); lower one of them"
            )


@dataclass
class DifferenceConfig(DataConfig):
    train_size: int = checked(8000, positive())
    val_size: int = checked(4000, positive())
    test_size: int = checked(4000, positive())


@dataclass
class LongLagConfig(DataConfig):
    #: steps per sequence
    length: int = checked(100, positive())
    train_size: int = checked(10000, positive())
    val_size: int = checked(1000, positive())
    test_size: int = checked(1000, positive())


@dataclass
class CopyConfig(DataConfig):
    #: blank steps between the last symbol shown and the recall marker
    delay: int = checked(20, non_negative())
    #: symbols shown, then recalled
    symbols: int = checked(10, positive())
    #: distinct symbols
    alphabet: int = checked(8, at_least(2))
    train_size: int = checked(10000, positive())
    val_size: int = checked(1000, positive())
    test_size: int = checked(1000, positive())


def build_chars(c: CharsConfig, seed: int) -> CharDataset:
    return CharDataset(c.path, train_fraction=c.train_fraction, val_fraction=c.val_fraction)


def build_difference(c: DifferenceConfig, seed: int) -> DifferenceDataset:
    return DifferenceDataset(c.train_size, c.val_size, c.test_size, seed=seed)


def build_adding(c: LongLagConfig, seed: int) -> AddingDataset:
    return AddingDataset(c.length, c.train_size, c.val_size, c.test_size, seed=seed)


def build_temporal_order(c: LongLagConfig, seed: int) -> TemporalOrderDataset:
    return TemporalOrderDataset(c.length, c.train_size, c.val_size, c.test_size, seed=seed)


def build_copy(c: CopyConfig, seed: int) -> CopyDataset:
    return CopyDataset(
        c.delay, c.symbols, c.alphabet, c.train_size, c.val_size, c.test_size, seed=seed
    )


@hookimpl
def register_datasets(register):
    register("chars", build_chars, config=CharsConfig)
    register("difference", build_difference, config=DifferenceConfig)
    register("adding", build_adding, config=LongLagConfig)
    register("temporal_order", build_temporal_order, config=LongLagConfig)
    register("copy", build_copy, config=CopyConfig)
