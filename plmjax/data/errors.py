"""The errors bad input data raises: each names where the problem is, so the user can go and fix it."""


class DataError(ValueError):
    """Input data that cannot be used (a malformed row, an empty split, an unknown task or split)."""


class MalformedRowError(DataError):
    """A row of a local file that cannot be parsed; `path` and `line` (1-based) say where it is."""

    def __init__(self, path: str, line: int, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}")


class EmptyDatasetError(DataError):
    """A split with no examples: training on it would loop forever and evaluating it would divide by zero."""
