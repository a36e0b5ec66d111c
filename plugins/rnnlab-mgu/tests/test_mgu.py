"""The MGU cell passes rnnlab's conformance kit, and is registered under the name ``mgu``."""

from rnnlab.testing import cell_conformance_tests
from rnnlab_mgu import MGUCell
from rnnlab_mgu.plugin import MGUConfig, register_cells

TestMGU = cell_conformance_tests(MGUCell, options={"forget_bias": 0.5})


def test_registers_the_mgu_cell_with_its_config():
    registered = {}
    register_cells(lambda name, obj, config=None: registered.update({name: (obj, config)}))
    assert registered == {"mgu": (MGUCell, MGUConfig)}
