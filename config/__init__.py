"""Stack settings: every reader and input check, pure and testable offline, run before anything is declared."""
