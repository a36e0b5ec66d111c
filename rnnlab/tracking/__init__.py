"""Trackers (a local metrics file, MLflow) and the plots drawn from what they record."""
