"""The plugin guide's worked examples, taken from the README and run as plugins."""

from __future__ import annotations

from tests_support import TINY_DIFFERENCE, readme_example


def test_the_cell_example_trains_from_the_installed_command(plugin_dist, run_rnnlab):
    module = readme_example("cell") + readme_example("cell-config")
    plugin_dist("rnnlab-mycell", {"mycell": "guide_mycell"}, {"guide_mycell": module})
    proc = run_rnnlab(
        "cell=mycell", "cell.my_option=2", *TINY_DIFFERENCE, "tracking.trackers=[metrics_file]"
    )
    assert proc.returncode == 0, proc.stderr
    assert "test, best checkpoint" in proc.stderr
