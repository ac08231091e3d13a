"""Errors that name the setting at fault and the fix, so an operator can act on them."""


class ConfigError(ValueError):
    """Bad or inconsistent input, detected before anything is created."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. Fix: {fix}")
        self.field = field


class ConnectionSetupError(RuntimeError):
    """The LXD remote cannot be used as configured (unreachable, wrong pin, not trusted)."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. Fix: {fix}")
        self.field = field
