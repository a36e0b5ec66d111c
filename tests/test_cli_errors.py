"""The bad-input catalogue: each user mistake gets one line naming the problem and the fix,
a non-zero exit, no traceback, and leaves every existing file and MLflow run as it was; a
start refused before training adds nothing (no output directory, no MLflow run).

Each case starts from a working directory that already holds an earlier, finished run
(its files and its MLflow run), so "nothing existing is overwritten" is checked every time.
The README's "Bad inputs" table lists these cases.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests_support import (
    STORE_FILES,
    TINY_DIFFERENCE,
    as_user_bound_by_permissions,
    files_of,
    mlflow_runs,
    read_only_folder,
    rnnlab_command,
    without_numba,
    write_text,
)

pytestmark = pytest.mark.slow

#: what a run that started prints before its error: where it is, its progress
RUN_OUTPUT = re.compile(r"^(step \d+|run directory: |context baselines )")
TINY_CHARS = [
    "model.hidden_size=8",
    "bptt=8",
    "train.batch_size=4",
    "train.steps=4",
    "train.eval_every=2",
    "train.log_every=2",
    "sample.length=5",
]


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not RUN_OUTPUT.match(ln)]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rnnlab: error: ")
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A folder with finished runs: ``runs/earlier`` (lstm, H=8) and the sources of foreign
    checkpoints: ``runs/gru`` (another cell), ``runs/wide`` (H=16), ``runs/vocab`` (another
    text)."""
    root = tmp_path_factory.mktemp("earlier")
    text = write_text(root / "text.txt", "abcdefgh \n")
    other = write_text(root / "other.txt", "xyz \n")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db"}
    base = [rnnlab_command(), "data=chars", *TINY_CHARS]
    subprocess.run(
        [*base, "cell=lstm", f"data.path={text}", "hydra.run.dir=runs/earlier"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )  # creates the store alone
    variants = {
        "gru": ["cell=gru", f"data.path={text}"],
        "wide": ["cell=lstm", f"data.path={text}", "model.hidden_size=16"],
        "vocab": ["cell=lstm", f"data.path={other}"],
    }
    procs = [
        subprocess.Popen(
            [*base, *args, f"hydra.run.dir=runs/{name}", "tracking.trackers=[metrics_file]"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, args in variants.items()
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    return root


def paths_of(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.name not in STORE_FILES}


@pytest.fixture
def bad_input(run_rnnlab, tmp_path, earlier):
    """``bad_input(*args, fragments=(...))`` runs rnnlab in a copy of ``earlier`` and checks the
    one-line error, then that every file and MLflow run that existed before is unchanged and,
    unless the run ``started`` (and failed: its directory and FAILED run are kept), that
    nothing was added: no file, no folder, no MLflow run."""
    shutil.copytree(earlier, tmp_path, dirs_exist_ok=True)  # copy2 keeps the mtimes

    def run(*args: str, fragments=(), preexec_fn=None, env=None, cwd=None, started=False):
        files, runs, paths = files_of(tmp_path), mlflow_runs(tmp_path), paths_of(tmp_path)
        began = time.monotonic()
        proc = run_rnnlab(*args, preexec_fn=preexec_fn, env=env, cwd=cwd)
        proc.seconds = time.monotonic() - began
        assert_one_line_error(proc, *fragments)
        after = files_of(tmp_path)
        assert {k: after.get(k) for k in files} == files, "an existing file changed"
        after_runs = mlflow_runs(tmp_path)
        assert {k: after_runs.get(k) for k in runs} == runs, "an existing MLflow run changed"
        if not started:
            assert paths_of(tmp_path) == paths, "a refused start left files or folders"
            assert after_runs.keys() == runs.keys(), "a refused start left an MLflow run"
        return proc

    return run


# ------------------------------------------------------------------ config values, every group

CONFIG_CASES = {
    "cell wrong type": (
        ["cell=lstm", "cell.forget_bias=strong"],
        ["cell.forget_bias", "use a number"],
    ),
    "cell choice not allowed": (
        ["cell=rnn", "cell.nonlinearity=sigmoid"],
        ["cell.nonlinearity='sigmoid'", "tanh, relu"],
    ),
    "cell kernel not offered": (
        ["cell=lstm", "cell.kernel=fast"],
        ["cell.kernel='fast' is not allowed", "numpy, numba"],
    ),
    "cell option of another cell": (
        ["cell=gru", "cell.forget_bias=2"],
        ["unknown key cell.forget_bias", "check the spelling"],
    ),
    "data wrong type": (
        ["data=difference", "data.train_size=lots"],
        ["data.train_size", "use a whole number"],
    ),
    "data out of range": (
        ["data=difference", "data.train_size=0"],
        ["data.train_size=0 is not allowed", "a number > 0"],
    ),
    "data split fractions": (
        ["data=chars", "data.train_fraction=0.99"],
        [
            "data.train_fraction=0.99 and data.val_fraction=0.05 are not "
            "allowed: their sum must be below 1"
        ],
    ),
    "optimizer wrong type": (["optimizer.lr=fast"], ["optimizer.lr", "use a number"]),
    "optimizer out of range": (["optimizer.lr=-1"], ["optimizer.lr=-1.0", "a number > 0"]),
    "optimizer momentum out of range": (
        ["optimizer=sgd", "optimizer.momentum=1.5"],
        ["optimizer.momentum=1.5", "[0, 1.0)"],
    ),
    "register a model that is not logged": (
        ["tracking.register_model=mine", "tracking.log_model=false"],
        ["tracking.register_model=mine needs the model logged: drop tracking.log_model=false"],
    ),
    "nesterov without momentum": (
        ["optimizer=sgd", "optimizer.nesterov=true", *TINY_DIFFERENCE],
        ["optimizer.nesterov=true needs optimizer.momentum > 0"],
    ),
    "model wrong type": (["model.hidden_size=1.5"], ["model.hidden_size", "use a whole number"]),
    "model out of range": (["model.hidden_size=0"], ["model.hidden_size=0", "a number > 0"]),
    "model dropout out of range": (["model.dropout=1.0"], ["model.dropout=1.0", "[0, 1.0)"]),
    "model head not allowed": (["model.head=middle"], ["model.head='middle'", "last, flatten"]),
    "train wrong type": (["train.steps=many"], ["train.steps", "use a whole number"]),
    "train out of range": (["train.batch_size=0"], ["train.batch_size=0", "a number > 0"]),
    "sample wrong type": (["sample.temperature=hot"], ["sample.temperature", "use a number"]),
    "sample out of range": (
        ["sample.temperature=-1"],
        ["sample.temperature=-1.0 is not allowed", "a number >= 0"],
    ),
    "sample top_k out of range": (["sample.top_k=-1"], ["sample.top_k=-1", "a number >= 0"]),
    "sample top_p out of range": (["sample.top_p=0"], ["sample.top_p=0.0", "a number in (0, 1]"]),
    "train patience out of range": (
        ["train.patience=-1"],
        ["train.patience=-1 is not allowed", "a number >= 0"],
    ),
    "train min_delta out of range": (
        ["train.min_delta=-0.1"],
        ["train.min_delta=-0.1 is not allowed", "a number >= 0"],
    ),
    "unknown schedule": (
        ["schedule=linear"],
        ["unknown schedule 'linear'", "constant, cosine, plateau, step"],
    ),
    "schedule factor out of range": (
        ["schedule=step", "schedule.factor=1.5"],
        ["schedule.factor=1.5 is not allowed", "a number in (0, 1)"],
    ),
    "schedule unit not allowed": (
        ["schedule=step", "schedule.unit=year"],
        ["schedule.unit='year' is not allowed", "epoch, step"],
    ),
    "plateau patience out of range": (
        ["schedule=plateau", "schedule.patience=-1"],
        ["schedule.patience=-1 is not allowed", "a number >= 0"],
    ),
    "cosine warm-up beyond the run": (
        ["schedule=cosine", "schedule.warmup=5000", "train.steps=3000"],
        ["schedule.warmup=5000 is not allowed: it must be below train.steps=3000"],
    ),
    "cosine final rate above the base rate": (
        ["schedule=cosine", "schedule.final_lr=1"],
        ["schedule.final_lr=1.0 is not allowed: it must be below optimizer.lr=0.1"],
    ),
    "rmsprop alpha out of range": (
        ["optimizer=rmsprop", "optimizer.alpha=1"],
        ["optimizer.alpha=1.0 is not allowed", "[0, 1.0)"],
    ),
    "tracking wrong type": (["tracking.trackers=mlflow"], ["tracking.trackers", "use a list"]),
    "tracking unknown tracker": (
        ["tracking.trackers=[nope]", *TINY_DIFFERENCE],
        ["unknown tracker 'nope'", "metrics_file, mlflow"],
    ),
    "bptt wrong type": (["bptt=long"], ["bptt", "use a whole number"]),
    "bptt out of range": (["bptt=0"], ["bptt=0 is not allowed", "a number > 0"]),
    "seed wrong type": (["seed=abc"], ["seed", "use a whole number"]),
    "seed out of range": (["seed=-1"], ["seed=-1 is not allowed", "a number >= 0"]),
    "dtype not allowed": (["dtype=float16"], ["dtype='float16'", "float32, float64"]),
    "threads wrong type": (["threads=two"], ["threads", "use a whole number"]),
    "threads out of range": (["threads=-1"], ["threads=-1 is not allowed", "a number >= 0"]),
    "unknown cell": (["cell=nope"], ["unknown cell 'nope'", "gru, lstm", "rnn"]),
    "unknown dataset": (["data=imagenet"], ["unknown data 'imagenet'", "chars, copy, difference"]),
    "unknown optimizer": (["optimizer=lbfgs"], ["unknown optimizer 'lbfgs'", "adagrad, adam"]),
    "experiment without -m": (
        ["experiment=adding_lengths"],
        ["experiment=adding_lengths is a sweep: run it with -m"],
    ),
    "search space without -m": (
        ["hparams_search=lstm_chars"],
        ["hparams_search=lstm_chars is a sweep: run it with -m"],
    ),
    "unknown experiment": (
        ["-m", "experiment=nope"],
        ["Could not find 'experiment/nope'", "available: adding_lengths"],
    ),
    "unknown search space": (
        ["-m", "hparams_search=nope"],
        ["Could not find 'hparams_search/nope'", "available: gru_difference"],
    ),
    "misspelt key": (["model.hiden_size=3"], ["unknown key model.hiden_size"]),
    "misspelt key added with +": (["+model.hiden=3"], ["unknown key model.hiden"]),
    "list of values without -m": (["cell=lstm,gru"], ["cell=lstm,gru", "add -m"]),
}


@pytest.mark.parametrize("args, fragments", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_bad_config_value(bad_input, args, fragments):
    bad_input(*args, fragments=fragments)


# ------------------------------------------------------------------ subcommand options

SUBCOMMAND_CASES = {
    "sample top-p above 1": (
        ["sample", "runs/earlier", "--top-p", "1.5"],
        ["--top-p 1.5 is not allowed: use a number in (0, 1]"],
    ),
    "sample negative temperature": (
        ["sample", "runs/earlier", "--temperature", "-1"],
        ["--temperature -1.0 is not allowed: use a number >= 0"],
    ),
    "evaluate with a non-data override": (
        ["evaluate", "runs/earlier", "cell=gru"],
        ["'cell=gru' is not a data option", "data.KEY=VALUE"],
    ),
    "evaluate another text on a split": (
        ["evaluate", "runs/earlier", "--split", "val", "data.path=text.txt"],
        ["--split picks a split of the run's own data", "drop --split"],
    ),
    "evaluate a missing text": (
        ["evaluate", "runs/earlier", "data.path=nope.txt"],
        ["nope.txt' does not exist", "check data.path"],
    ),
    "evaluate with a misspelt data key": (
        ["evaluate", "runs/earlier", "data.pth=other.txt"],
        ["unknown key data.pth"],
    ),
}


def test_the_numba_kernel_without_the_fast_extra(bad_input, tmp_path):
    bad_input(
        "cell=lstm",
        "cell.kernel=numba",
        *TINY_CHARS,
        env=without_numba(tmp_path.parent / f"{tmp_path.name}-no-numba"),
        fragments=[
            "cell.kernel=numba needs the fast extra (numba is not installed)",
            "pip install 'rnnlab[fast]', or use cell.kernel=numpy",
        ],
    )


@pytest.mark.parametrize("args, fragments", SUBCOMMAND_CASES.values(), ids=SUBCOMMAND_CASES.keys())
def test_bad_subcommand_option(bad_input, args, fragments):
    bad_input(*args, fragments=fragments)


# ------------------------------------------------------------------ data files


def make_empty(path: Path):
    path.write_bytes(b"")


def make_binary(path: Path):
    path.write_bytes(bytes(range(256)) * 4)


def make_latin1(path: Path):
    path.write_bytes("caf\u00e9 au lait\n".encode("latin-1") * 50)


def make_utf16(path: Path):
    path.write_bytes("hello world\n".encode("utf-16") * 50)


def make_too_short(path: Path):
    path.write_text("to be or not to be\n" * 3, encoding="utf-8")


DATA_CASES = {
    "empty": (make_empty, ["is empty", "give a text file"]),
    "binary": (make_binary, ["looks binary", "give a UTF-8 text file"]),
    "not UTF-8": (make_latin1, ["is not UTF-8 (byte 0xe9", "iconv"]),
    "UTF-16": (make_utf16, ["is UTF-16 text", "iconv"]),
    "too short for batch and bptt": (
        make_too_short,
        ["fewer than batch_size 4 x (bptt 8 + 1)", "lower train.batch_size or bptt"],
    ),
}


@pytest.mark.parametrize("make, fragments", DATA_CASES.values(), ids=DATA_CASES.keys())
def test_bad_data_file(bad_input, tmp_path, make, fragments):
    make(tmp_path / "corpus.txt")
    bad_input(
        "data=chars", f"data.path={tmp_path / 'corpus.txt'}", *TINY_CHARS, fragments=fragments
    )


def test_missing_data_file(bad_input, tmp_path):
    bad_input(
        "data=chars",
        f"data.path={tmp_path}/nope.txt",
        *TINY_CHARS,
        fragments=["nope.txt' does not exist", "check data.path"],
    )


def test_data_path_is_a_directory(bad_input, tmp_path):
    bad_input(
        "data=chars",
        f"data.path={tmp_path}",
        *TINY_CHARS,
        fragments=["is a directory", "point data.path at a text file"],
    )


def test_data_path_is_a_fifo(bad_input, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    proc = bad_input(
        "data=chars",
        f"data.path={tmp_path / 'pipe'}",
        *TINY_CHARS,
        fragments=["pipe' is a named pipe (FIFO), not a regular file", "point data.path at a text"],
    )
    assert proc.returncode == 2  # refused with the config, before Hydra makes a run directory
    assert not (tmp_path / "outputs").exists()


def test_data_path_is_a_device(bad_input):
    bad_input(
        "data=chars",
        "data.path=/dev/null",
        *TINY_CHARS,
        fragments=["'/dev/null' is a character device, not a regular file"],
    )


# ------------------------------------------------------------------ memory


def test_a_model_too_large_for_the_memory_available(bad_input):
    bad_input(
        "data=chars",
        "model.hidden_size=100000",
        *TINY_CHARS[1:],
        fragments=[
            "this model needs about",
            "(parameters 160 GB, gradients 160 GB,",
            "GB of memory is available",
            "lower model.hidden_size, model.layers, model.embed_size, train.batch_size or bptt",
        ],
    )


# ------------------------------------------------------------------ checkpoints and resume


@pytest.mark.parametrize(
    "source, fragments",
    [
        (
            "gru",
            ["parameter cells.0.weight_ih is float32[24, 11]", "float32[32, 11]", "another cell"],
        ),
        ("wide", ["parameter cells.0.weight_ih is float32[64, 11]", "float32[32, 11]"]),
        ("vocab", ["parameter embed.weight is float32[6, 6]", "float32[11, 11]"]),
    ],
    ids=["another cell", "another size", "another vocabulary"],
)
def test_resume_from_a_foreign_checkpoint(bad_input, tmp_path, source, fragments):
    shutil.copy2(tmp_path / "runs" / source / "last.npz", tmp_path / "runs/earlier/last.npz")
    bad_input(
        "resume=runs/earlier",
        "train.steps=8",
        fragments=[*fragments, "resume a run from its own directory"],
    )


def test_resume_from_a_truncated_checkpoint(bad_input, tmp_path):
    last = tmp_path / "runs/earlier/last.npz"
    last.write_bytes(last.read_bytes()[:1000])
    bad_input(
        "resume=runs/earlier", "train.steps=8", fragments=["is unreadable", "it may be truncated"]
    )


def test_resume_from_a_checkpoint_holding_a_pickled_object(bad_input, tmp_path):
    last = tmp_path / "runs/earlier/last.npz"
    with np.load(last) as z:
        arrays = dict(z)
    arrays["meta"] = np.array([{"step": 4}], dtype=object)  # np.savez pickles object arrays
    np.savez(last, **arrays)
    bad_input(
        "resume=runs/earlier",
        "train.steps=8",
        fragments=["holds pickled Python objects, which rnnlab never loads"],
    )


def test_resume_of_a_directory_that_is_not_a_run(bad_input, tmp_path):
    bad_input(f"resume={tmp_path / 'runs'}", fragments=["not an rnnlab run directory"])


def test_resume_that_changes_the_cell(bad_input):
    bad_input(
        "resume=runs/earlier",
        "cell=gru",
        fragments=["'cell=gru' cannot change a resumed run", "only train.steps may"],
    )


@pytest.mark.parametrize("steps", [[], ["train.steps=2"]], ids=["as saved", "fewer"])
def test_resume_with_no_steps_left_to_train(bad_input, steps):
    bad_input(
        "resume=runs/earlier",
        *steps,
        fragments=[
            "runs/earlier is already trained to step 4",
            "nothing to resume",
            "rnnlab resume=runs/earlier train.steps=<more than 4>",
        ],
    )


# ------------------------------------------------------------------ run directories


def test_new_run_in_the_directory_of_a_finished_run(bad_input):
    bad_input(
        "cell=gru",
        *TINY_DIFFERENCE,
        "hydra.run.dir=runs/earlier",
        fragments=[
            "runs/earlier already holds a run",
            "rnnlab resume=runs/earlier",
            "hydra.run.dir=<new directory>",
        ],
    )


def test_new_run_in_a_directory_holding_other_files(bad_input):
    bad_input(
        "cell=gru",
        *TINY_DIFFERENCE,
        "hydra.run.dir=.",
        fragments=[". is not empty and does not hold an rnnlab run", "hydra.run.dir="],
    )


def test_a_start_refused_in_an_empty_folder_leaves_it_empty(run_rnnlab, tmp_path):
    proc = run_rnnlab("data=chars", f"data.path={tmp_path}/nope.txt", *TINY_CHARS)

    assert_one_line_error(proc, "nope.txt' does not exist")
    assert list(tmp_path.iterdir()) == []  # no outputs/, no mlflow.db


# ------------------------------------------------------------------ plugins


def test_selecting_a_cell_whose_plugin_failed_to_load_shows_its_error(
    bad_input, run_rnnlab, plugin_dist
):
    plugin_dist(
        "rnnlab-broken",
        {"broken": "broken_plugin"},
        {"broken_plugin": "raise ImportError('needs libfoo')"},
    )
    bad_input(
        "cell=broken", fragments=["entry point 'broken' of rnnlab-broken 0.1.0", "needs libfoo"]
    )
    listing = run_rnnlab("plugins")
    assert listing.returncode == 0
    assert (
        "FAILED broken  (rnnlab-broken 0.1.0, broken_plugin): ImportError: needs libfoo"
        in listing.stdout
    )


HALF_CELL = """
import numpy as np
from rnnlab import hookimpl
from rnnlab.nn import Cell

class HalfCell(Cell):
    '''A plugin bug: its outputs have half the hidden size.'''

    def __init__(self, input_size, hidden_size, rng, dtype=np.float32):
        super().__init__(input_size, hidden_size, rng, dtype)
        self.params = {"w": rng.standard_normal((hidden_size // 2, input_size)).astype(dtype)}
        self.init_grads()

    def forward(self, xs, state):
        hs = np.tanh(xs @ self.params["w"].T)
        return hs, (hs[-1],)

    def backward(self, dhs, dfinal_state=None):
        return dhs @ self.params["w"], (dhs[0],)

@hookimpl
def register_cells(register):
    register("half", HalfCell)
"""


def test_plugin_cell_with_outputs_of_the_wrong_shape(bad_input, plugin_dist):
    plugin_dist("rnnlab-half", {"half": "half_plugin"}, {"half_plugin": HALF_CELL})
    bad_input(
        "cell=half",
        *TINY_DIFFERENCE,
        fragments=[
            "cell 'half' from entry point 'half' of rnnlab-half 0.1.0 breaks the cell contract",
            "forward hs shape (5, 2, 2), expected (5, 2, 4)",
            "cell_conformance_tests",
        ],
    )


BROKEN_DATA = """
from dataclasses import dataclass

from rnnlab import hookimpl
from rnnlab.config import DataConfig
from rnnlab.data import Dataset
from rnnlab.data.difference import DifferenceDataset
from rnnlab.tasks import Task


@dataclass
class NoOptions(DataConfig):
    pass


class NoBatch(Dataset):
    '''A plugin bug: the method that hands out batches is missing.'''

    task = "classify"
    vocab_size = 10
    output_size = 2

    def num_batches(self, split, batch_size, bptt):
        return 1


class NoOutputSize:
    '''A dataset that does not subclass rnnlab.data.Dataset and forgot output_size.'''

    task, vocab_size, input_size, seq_len, baselines = "classify", 10, None, 2, {}

    def num_batches(self, split, batch_size, bptt):
        return 1

    def batch(self, split, epoch, index, batch_size, bptt):
        raise NotImplementedError


class NoMetrics(Task):
    def loss(self, outputs, targets, mask):
        raise NotImplementedError


def difference(task):
    def build(config, seed):
        data = DifferenceDataset(64, 32, 32, seed=seed)
        data.task = task
        return data

    return build


@hookimpl
def register_tasks(register):
    register("nometrics", NoMetrics)


@hookimpl
def register_datasets(register):
    register("nobatch", lambda config, seed: NoBatch(), config=NoOptions)
    register("nooutput", lambda config, seed: NoOutputSize(), config=NoOptions)
    register("unknowntask", difference("seq2seq"), config=NoOptions)
    register("lmnotext", difference("lm"), config=NoOptions)
    register("nometrics", difference("nometrics"), config=NoOptions)
    register("notatask", difference(object()), config=NoOptions)
"""
PLUGIN = "entry point 'broken_data' of rnnlab-broken-data 0.1.0"
BROKEN_DATA_CASES = {
    "a dataset without batch()": (
        "nobatch",
        ["dataset 'nobatch' from " + PLUGIN, "NoBatch has no method batch(split, epoch,", "add it"],
    ),
    "a dataset without output_size": (
        "nooutput",
        ["dataset 'nooutput' from " + PLUGIN, "no attribute output_size", "subclass"],
    ),
    "a dataset naming a task nobody registers": (
        "unknowntask",
        ["dataset 'unknowntask' from " + PLUGIN, "unknown task 'seq2seq'; available: classify"],
    ),
    "a text-sampling task on a dataset without encode/decode": (
        "lmnotext",
        ["its task writes text samples", "no method encode(text) -> ids"],
    ),
    "a registered task without metrics()": (
        "nometrics",
        ["task 'nometrics' from " + PLUGIN, "NoMetrics does not implement metrics"],
    ),
    "a dataset whose task is not a Task": (
        "notatask",
        ["dataset 'notatask' from " + PLUGIN, "its task is a object, not an rnnlab.tasks.Task"],
    ),
}


TRACKER_PLUGINS = {
    "a tracker class that cannot be built": (
        """
class Broken:
    def __init__(self):  # the contract: Broken(run)
        pass
""",
        [
            "tracker 'broken' from entry point 'broken' of rnnlab-broken 0.1.0 breaks the "
            "tracker contract: Broken(run) raised TypeError",
            "fix the tracker class",
        ],
    ),
    "a misspelt hook": (
        """
class Broken:
    def __init__(self, run):
        pass

    @hookimpl
    def on_metric(self, run, step, metrics):
        pass
""",
        ["entry point 'broken' of rnnlab-broken 0.1.0", "Broken marks on_metric with @hookimpl"],
    ),
    "a hook with an argument the hook does not give": (
        """
class Broken:
    def __init__(self, run):
        pass

    @hookimpl
    def on_metrics(self, run, step, values):
        pass
""",
        ["entry point 'broken' of rnnlab-broken 0.1.0", "Broken: hookimpl definition: "],
    ),
    "no hook marked": (
        """
class Broken:
    def __init__(self, run):
        pass

    def on_metrics(self, run, step, metrics):
        pass
""",
        ["entry point 'broken' of rnnlab-broken 0.1.0", "Broken implements no hook"],
    ),
}


#: an optimizer plugin with one contract bug: ``{bug}`` replaces one of its methods
BROKEN_OPTIMIZER = """
import numpy as np
from rnnlab import hookimpl

class Plain:
    def __init__(self, params):
        self.params, self.lr, self.steps = params, 0.1, 0

    def step(self, grads):
        self.steps += 1
        for name, p in self.params.items():
            p -= self.lr * grads[name]

    def state_dict(self):
        return {{"steps": np.array(self.steps)}}

    def load_state_dict(self, state):
        self.steps = int(state["steps"])

class Broken(Plain):
{bug}

@hookimpl
def register_optimizers(register):
    register("broken", lambda params, config: Broken(params))
"""

OPTIMIZER_BUGS = {
    "no lr and no load_state_dict": (
        "    def __init__(self, params):\n        self.params, self.steps = params, 0\n"
        "    load_state_dict = None\n",
        "Broken lacks load_state_dict(state), an lr attribute",
    ),
    "a step that replaces the arrays": (
        "    def step(self, grads):\n"
        "        for name, p in list(self.params.items()):\n"
        "            self.params[name] = p - self.lr * grads[name]\n",
        "step(grads) replaced params['weight'] instead of updating it in place",
    ),
    "a state that is not arrays": (
        "    def state_dict(self):\n        return {'steps': {'n': self.steps}}\n",
        "state_dict()['steps'] is a dict, not an array",
    ),
    "a state that does not load": (
        "    def load_state_dict(self, state):\n        pass\n",
        "load_state_dict(state_dict()) does not restore the state (differs at 'steps')",
    ),
}


@pytest.mark.parametrize(
    ("name", "fragments"), BROKEN_DATA_CASES.values(), ids=list(BROKEN_DATA_CASES)
)
def test_plugin_dataset_or_task_that_breaks_its_contract(bad_input, plugin_dist, name, fragments):
    plugin_dist("rnnlab-broken-data", {"broken_data": "broken_data"}, {"broken_data": BROKEN_DATA})
    bad_input(f"data={name}", "model.hidden_size=4", "train.steps=2", fragments=fragments)


@pytest.mark.parametrize("tracker, fragments", TRACKER_PLUGINS.values(), ids=TRACKER_PLUGINS.keys())
def test_a_tracker_that_breaks_the_contract_fails_before_training(
    bad_input, plugin_dist, tracker, fragments
):
    source = (
        "from rnnlab import hookimpl\n"
        + tracker
        + ("\n@hookimpl\ndef register_trackers(register):\n    register('broken', Broken)\n")
    )
    plugin_dist("rnnlab-broken", {"broken": "broken_tracker"}, {"broken_tracker": source})
    bad_input(
        *TINY_DIFFERENCE, "tracking.trackers=[metrics_file,mlflow,broken]", fragments=fragments
    )


def test_a_command_that_is_not_callable(bad_input, plugin_dist):
    source = """
from rnnlab import hookimpl

@hookimpl
def register_commands(register):
    register("mycmd", "print('hello')", help="greets")
"""
    plugin_dist("rnnlab-mycmd", {"mycmd": "mycmd_plugin"}, {"mycmd_plugin": source})
    bad_input(
        "mycmd",
        fragments=[
            "command 'mycmd' from entry point 'mycmd' of rnnlab-mycmd 0.1.0 is not callable "
            "(it is a str)",
            "register('mycmd', run, help='...')",
        ],
    )


def test_a_command_named_like_another_plugins(bad_input, plugin_dist, run_rnnlab):
    source = """
from rnnlab import hookimpl

@hookimpl
def register_commands(register):
    register("report", lambda argv: print("mine"), help="my report")
"""
    plugin_dist("rnnlab-myreport", {"myreport": "myreport_plugin"}, {"myreport_plugin": source})
    bad_input(
        "report",
        fragments=[
            "command 'report' is registered twice: by entry point ",
            "entry point 'mlflow' of rnnlab 0.1.0",
            "entry point 'myreport' of rnnlab-myreport 0.1.0",
            "RNNLAB_PLUGINS",
        ],
    )
    assert run_rnnlab("report", env={"RNNLAB_PLUGINS": "none"}).returncode == 1  # rnnlab's own
    assert run_rnnlab(*TINY_DIFFERENCE, "tracking.trackers=[metrics_file]").returncode == 2


def test_two_trackers_declaring_the_same_option(bad_input, plugin_dist):
    source = """
from dataclasses import dataclass
from rnnlab import hookimpl
from rnnlab.tracking.metrics_file import MetricsFileTracker

@dataclass
class Options:
    experiment: str = "mine"

@hookimpl
def register_trackers(register):
    register("mine", MetricsFileTracker, config=Options)
"""
    plugin_dist("rnnlab-mine", {"mine": "mine_plugin"}, {"mine_plugin": source})
    bad_input(
        *TINY_DIFFERENCE,
        fragments=[
            "tracking.experiment is declared twice: by tracker ",
            "tracker 'mlflow' from entry point 'mlflow' of rnnlab 0.1.0",
            "tracker 'mine' from entry point 'mine' of rnnlab-mine 0.1.0",
        ],
    )


@pytest.mark.parametrize("bug", OPTIMIZER_BUGS)
def test_plugin_optimizer_that_breaks_the_contract(bad_input, plugin_dist, bug):
    code, detail = OPTIMIZER_BUGS[bug]
    source = BROKEN_OPTIMIZER.format(bug=code)
    plugin_dist("rnnlab-broken-optim", {"broken": "broken_optim"}, {"broken_optim": source})
    bad_input(
        "optimizer=broken",
        *TINY_DIFFERENCE,
        fragments=[
            "optimizer 'broken' from entry point 'broken' of rnnlab-broken-optim 0.1.0 breaks "
            "the optimizer contract: " + detail,
            "fix the optimizer (README: Plugin guide, Writing an optimizer)",
        ],
    )


def test_a_run_reference_nothing_recognises(bad_input):
    bad_input(
        "resume=nope",
        fragments=[
            "'nope' is neither a run directory nor an MLflow run id (the 32-character id shown "
            "in mlflow ui); give a path under outputs/ or that"
        ],
    )


def test_an_unknown_command(bad_input):
    bad_input(
        "reprot", fragments=["unknown command 'reprot'; available: evaluate, plugins, report"]
    )


# ------------------------------------------------------------------ output directory


def test_read_only_output_directory(bad_input, tmp_path):
    locked = read_only_folder(tmp_path / "locked")
    bad_input(
        *TINY_DIFFERENCE,
        f"hydra.run.dir={locked}/run",
        preexec_fn=as_user_bound_by_permissions,
        fragments=[
            f"cannot write '{locked}/run' (Permission denied)",
            "choose a writable output directory with hydra.run.dir=",
        ],
    )


def test_full_disk(bad_input, tmp_path):
    """A file size limit (RLIMIT_FSIZE) stands in for a full disk: the checkpoint write fails.

    Only the local metrics file tracks this run: under the limit, MLflow's sqlite store
    would fail first, and SQLAlchemy logs a traceback of its own before rnnlab's line.
    """
    limit = 200_000  # bytes: room for the config and metrics, not for the 1 MB checkpoint

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    bad_input(
        *TINY_DIFFERENCE,
        "cell=lstm",
        "model.hidden_size=128",
        "train.eval_every=1",
        "tracking.trackers=[metrics_file]",
        "hydra.run.dir=full",
        preexec_fn=limit_file_size,
        fragments=["cannot write", "last.npz' (File too large)", "free disk space"],
        started=True,
    )
    assert (
        sorted(p.name for p in (tmp_path / "full").iterdir() if p.suffix in (".npz", ".tmp")) == []
    )


def test_full_disk_under_the_mlflow_store(bad_input, tmp_path):
    """The same limit, just above the sqlite store's size: the store fails as the run starts,
    in one line (not SQLAlchemy's traceback), and its earlier runs stay readable and unchanged."""
    limit = (tmp_path / "mlflow.db").stat().st_size + 4096

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    bad_input(
        *TINY_DIFFERENCE,
        "hydra.run.dir=full",
        preexec_fn=limit_file_size,
        fragments=["failed at run start", "disk I/O error", "its disk has space"],
    )


# ------------------------------------------------------------------ tracking store

#: generous: MLflow alone retries a store it cannot open for about 100 s
STORE_ERROR_WITHIN_S = 60


def broken_store(folder: Path) -> str:
    """The URI of a file that is not an sqlite database (a damaged store)."""
    (folder / "broken.db").write_bytes(bytes(range(256)) * 64)
    return f"sqlite:///{folder}/broken.db"


def test_store_that_is_a_directory(bad_input, tmp_path):
    (tmp_path / "store").mkdir()
    proc = bad_input(
        *TINY_DIFFERENCE,
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/store"},
        fragments=["is a directory, not a database file", "MLFLOW_TRACKING_URI"],
    )
    assert proc.seconds < STORE_ERROR_WITHIN_S


def test_store_in_a_folder_that_does_not_exist(bad_input, tmp_path):
    proc = bad_input(
        *TINY_DIFFERENCE,
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/typo/runs/mlflow.db"},
        fragments=[f"the folder {tmp_path}/typo/runs", "does not exist", "typo"],
    )
    assert proc.seconds < STORE_ERROR_WITHIN_S
    assert not (tmp_path / "typo").exists()


def test_store_in_a_read_only_folder(bad_input, tmp_path):
    locked = read_only_folder(tmp_path / "locked")
    proc = bad_input(
        *TINY_DIFFERENCE,
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{locked}/mlflow.db"},
        preexec_fn=as_user_bound_by_permissions,
        fragments=[f"the folder {locked} is not writable"],
    )
    assert proc.seconds < STORE_ERROR_WITHIN_S


@pytest.mark.parametrize(
    "command",
    [
        [*TINY_DIFFERENCE],
        ["report"],
        ["sample", "0123456789abcdef0123456789abcdef"],
        ["upload", "runs/earlier"],
    ],
    ids=["train", "report", "sample", "upload"],
)
def test_store_that_is_not_a_database(bad_input, tmp_path, command):
    uri = broken_store(tmp_path)
    if command[0] == "upload":
        from rnnlab.mlflow_plugin.backlog import Backlog

        Backlog("0123456789abcdef0123456789abcdef", uri).save(tmp_path / "runs/earlier")
    bad_input(
        *command,
        env={"MLFLOW_TRACKING_URI": uri},
        fragments=[f"MLflow tracking store {uri} cannot be read (file is not a database)"],
    )


def test_sample_by_run_id_without_a_store_creates_none(bad_input, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bad_input(
        "sample",
        "0123456789abcdef0123456789abcdef",
        cwd=elsewhere,
        env={"MLFLOW_TRACKING_URI": ""},
        fragments=[f"no MLflow store at sqlite:///{elsewhere}/mlflow.db"],
    )
    assert list(elsewhere.iterdir()) == []


def test_resume_of_a_run_whose_config_is_not_yaml(bad_input, tmp_path):
    (tmp_path / "runs/earlier/config.yaml").write_text("cell: [lstm\n", encoding="utf-8")
    bad_input(
        "resume=runs/earlier",
        "train.steps=8",
        fragments=["runs/earlier/config.yaml is not the config of an rnnlab run", "line 2"],
    )


# ------------------------------------------------------------------ what works


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
