"""The exact facility-location models (PuLP + HiGHS) and the plan rules."""
