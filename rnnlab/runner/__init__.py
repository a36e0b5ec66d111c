"""The runner: a job's setup, the truncated-BPTT loop, evaluation, checkpoints, sampling."""
