"""Evaluation of a plan: access metrics, equity, the objective on the exact times."""
