"""The four classic models in one namespace (each lives in its own module).

``p_median``, ``coverage`` (maximal coverage), ``set_cover`` and ``p_center``
hold the solvers; this module re-exports them for the callers that name them
through it (the objective registry calls them as ``models.solve_*``, so a test
may replace one here).  Input conventions, shared by all four:

``cost``
    float ``(n_clients, n_sites)`` travel minutes, ``np.inf`` unreachable;
    negative or NaN entries are rejected.
``weight``
    float ``(n_clients,)`` people, ``>= 0``; weight-0 clients are ignored.
``fixed_open``
    bool ``(n_sites,)`` (or site indices) of sites already open: they stay
    open and do not count towards ``p``, the number of NEW sites.

HiGHS solves every model (never CBC); ``time_limit`` is the budget of the
whole call, ``gap_rel`` the relative MIP gap (default 0: prove optimality),
``threads`` the HiGHS thread count (default 1, ``random_seed`` 0: the same
input gives the same sites).  ``Solution.objective`` is always re-evaluated
with numpy from the returned sites, never read back from the solver.  The
formulations are in docs/formulations/.
"""

from allocator.solve.coverage import solve_max_coverage
from allocator.solve.p_center import solve_p_center
from allocator.solve.p_median import solve_p_median
from allocator.solve.set_cover import solve_set_cover

__all__ = ["solve_p_median", "solve_max_coverage", "solve_set_cover", "solve_p_center"]
