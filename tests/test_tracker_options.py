"""Tracker options join the ``tracking`` schema, declared by each tracker's config dataclass."""

from __future__ import annotations

import dataclasses
import pickle

from rnnlab.config import composed
from rnnlab.plugins.registry import get_registry


def test_the_mlflow_plugin_declares_its_options_under_tracking():
    tracking = composed.tracking_schema(get_registry())
    assert [f.name for f in dataclasses.fields(tracking)] == [
        "trackers",
        "run_name",
        "experiment",
        "tracking_uri",
        "log_model",
        "register_model",
    ]


def test_the_composed_schema_pickles_by_name_for_launchers_in_other_processes():
    """submitit and Ray send a job's config, whose type is the composed class, by pickle."""
    schema = composed.run_schema(get_registry())
    assert pickle.loads(pickle.dumps(schema)) is schema
    assert pickle.loads(pickle.dumps(schema().tracking)).experiment is None
