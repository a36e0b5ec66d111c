"""Names that one side writes and another reads back: run tags, run files, artifact folders.

Each is defined once here (the lowest layer), so renaming one cannot silently break a reader
(``resume=<run id>`` reads ``RUN_DIR_TAG``; ``rnnlab report`` reads ``SWEEP_DIR_TAG``,
``OVERRIDES_TAG`` and ``PLOTS_DIR/PROFILES_FILE``).
"""

# -- tags of a run (and of a sweep's parent run) ----------------------------------------------
#: the resolved run directory a run trains in
RUN_DIR_TAG = "rnnlab.run_dir"
#: the directory of a sweep (``hydra.sweep.dir``), on its parent run
SWEEP_DIR_TAG = "rnnlab.sweep_dir"
#: where a run's process runs (to find runs killed hard) and the overrides it was started with
HOST_TAG, PID_TAG, OVERRIDES_TAG = "rnnlab.host", "rnnlab.pid", "rnnlab.overrides"
#: a run resumed in a copy of another run's directory: that directory
COPIED_FROM_TAG = "rnnlab.copied_from"

# -- files in a run directory -----------------------------------------------------------------
#: the run's composed config; a run directory holds it once its run has started
CONFIG_FILE = "config.yaml"
#: one JSON line ``{"step": int, "metrics": {name: float}}`` per metrics batch
METRICS_FILE = "metrics.jsonl"
#: the last dL/dh_t profile of each BPTT window (label -> norms)
PROFILES_FILE = "grad_profile.json"

# -- folders -----------------------------------------------------------------------------------
#: the artifact folder of the run's config files
CONFIG_ARTIFACTS = "config"
#: the plots of a run, in its directory and among its artifacts (``plots/grad_profile.json``)
PLOTS_DIR = "plots"
