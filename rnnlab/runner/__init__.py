"""The runner: a job's setup, the truncated-BPTT training loop, evaluation, checkpoints, sampling."""
