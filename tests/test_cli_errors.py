"""User mistakes on the command line: one line naming the problem, non-zero exit, no traceback."""

import pytest

pytestmark = pytest.mark.slow


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rnnlab: error: ")
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_cell_lists_the_available_cells(run_rnnlab):
    assert_one_line_error(run_rnnlab("cell=nope"), "unknown cell 'nope'", "gru, lstm", "rnn")


def test_unknown_optimizer_lists_the_available_optimizers(run_rnnlab):
    assert_one_line_error(run_rnnlab("optimizer=rmsprop"), "unknown optimizer 'rmsprop'", "adagrad")


def test_wrong_type_names_the_key(run_rnnlab):
    assert_one_line_error(run_rnnlab("train.steps=many"), "train.steps")


def test_out_of_range_value_names_the_key_and_what_is_allowed(run_rnnlab):
    assert_one_line_error(run_rnnlab("optimizer.lr=-1"), "optimizer.lr=-1.0", "a number > 0")


def test_unknown_key_is_refused(run_rnnlab):
    assert_one_line_error(run_rnnlab("model.hiden_size=3"), "hiden_size")


def test_option_of_another_cell_is_refused(run_rnnlab):
    assert_one_line_error(run_rnnlab("cell=gru", "cell.forget_bias=2"), "forget_bias")


def test_choice_outside_the_allowed_set(run_rnnlab):
    assert_one_line_error(run_rnnlab("cell=rnn", "cell.nonlinearity=sigmoid"),
                          "cell.nonlinearity='sigmoid'", "tanh, relu")


def test_missing_data_file_names_the_path(run_rnnlab, tmp_path):
    proc = run_rnnlab("data=chars", f"data.path={tmp_path}/nope.txt", "train.steps=1")
    assert_one_line_error(proc, "nope.txt")


def test_resume_of_a_directory_that_is_not_a_run(run_rnnlab, tmp_path):
    assert_one_line_error(run_rnnlab(f"resume={tmp_path}"), "not an rnnlab run directory")


def test_help_lists_groups_and_their_options(run_rnnlab):
    proc = run_rnnlab("--help")
    assert proc.returncode == 0
    groups = {}
    for line in proc.stdout.splitlines():
        group, _, options = line.partition(":")
        if group in ("cell", "data", "optimizer") and options.strip():
            groups.setdefault(group, set(options.replace(",", " ").split()))
    assert groups["cell"] >= {"gru", "lstm", "rnn"}
    assert groups["data"] >= {"chars", "difference"}
    assert groups["optimizer"] >= {"adagrad", "adam", "sgd"}


def test_help_does_not_import_mlflow(run_rnnlab, tmp_path):
    proc = run_rnnlab("--help", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "numpy" in imported
    assert not any(m == "mlflow" or m.startswith("mlflow.") for m in imported)


def test_cfg_job_prints_the_composed_config(run_rnnlab):
    proc = run_rnnlab("cell=gru", "bptt=16", "--cfg", "job")
    assert proc.returncode == 0
    assert "name: gru" in proc.stdout and "bptt: 16" in proc.stdout


def test_selecting_a_cell_whose_plugin_failed_to_load_shows_its_error(run_rnnlab, plugin_dist):
    plugin_dist("rnnlab-broken", {"broken": "broken_plugin"},
                {"broken_plugin": "raise ImportError('needs libfoo')"})
    assert_one_line_error(run_rnnlab("cell=broken"), "entry point 'broken' of rnnlab-broken 0.1.0",
                          "needs libfoo")
    listing = run_rnnlab("plugins")
    assert listing.returncode == 0
    assert "FAILED broken  (rnnlab-broken 0.1.0, broken_plugin): ImportError: needs libfoo" in listing.stdout


def test_nesterov_without_momentum_is_refused(run_rnnlab):
    assert_one_line_error(run_rnnlab("optimizer=sgd", "optimizer.nesterov=true", "data=difference",
                                     "tracking.trackers=[metrics_file]"),
                          "optimizer.nesterov=true needs optimizer.momentum > 0")
