"""Testing tools for cell authors: the conformance kit (also a pytest plugin, ``rnnlab``)."""

from rnnlab.testing.conformance import (
    CHECKS,
    CellUnderTest,
    NotApplicable,
    cell_conformance_tests,
    check_cell,
)

__all__ = ["CHECKS", "CellUnderTest", "NotApplicable", "cell_conformance_tests", "check_cell"]
