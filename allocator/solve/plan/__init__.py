"""The plan model: budgets, closures, relocation, capacities, time limits and district floors."""

from allocator.solve.kernels import split_minutes, split_times
from allocator.solve.plan.model import Floor, PlanService, Sites, solve_plan

__all__ = ["Floor", "PlanService", "Sites", "solve_plan", "split_minutes", "split_times"]
