"""The plan model: budgets, closures, relocation, capacities, time limits and district floors.

:mod:`.model` solves a plan (``solve_plan``) from its services (:mod:`.spec`);
:mod:`.block` holds one service's rows, :mod:`.levels` its p-median levels and
:mod:`.diagnosis` explains an impossible plan.  Nothing is imported here: the
objective catalogue builds on :mod:`.block`, and :mod:`.model` on the catalogue.
"""
