"""The one error type a user sees.

Every problem caused by input (a scenario, a data file, a model that cannot be
satisfied) is raised as :class:`AllocatorError`.  The command line prints it as
one readable message and exits with status 2, without a traceback (``--debug``
shows one).  Code deeper in the package raises it with as much context as it
has; callers higher up may add the file with :meth:`AllocatorError.with_file`.
"""

from __future__ import annotations

from pathlib import Path


class AllocatorError(Exception):
    """A problem with the user's input, explained with where it is and how to fix it.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file
        The file at fault (scenario YAML or data file), if known.
    field
        The scenario field or data column at fault, e.g. ``services[0].p``.
    fix
        What the user can do about it.
    line
        Line number in ``file`` (1-based), when known (YAML errors).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        fix: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.fix = fix
        self.line = line

    def with_file(self, file: str | Path) -> AllocatorError:
        """Return this error with ``file`` set, unless it already names one."""
        if self.file is None:
            self.file = str(file)
        return self

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text
