class CompileError(ValueError):
    """A definition or selector that cannot be compiled; the message names the problem for people."""

    def __init__(self, message: str, *, position: int | None = None, path: str = ""):
        super().__init__(message)
        self.message = message
        self.position = position  # 0-based offset into the selector or pattern, when there is one
        self.path = path  # where in the definition, e.g. "groups[0].conditions[1].value"

    def at(self, path: str) -> "CompileError":
        return CompileError(self.message, position=self.position, path=path)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message
