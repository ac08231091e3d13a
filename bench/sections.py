"""Sections of BENCHMARKS.md that their own commands generate (migration, PostgreSQL, soak). Each sits
between two markers, so its command replaces just that part and the others carry it over."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Markers:
    begin: str
    end: str

    def replace(self, text: str, section: str) -> str:
        """`text` with its section replaced by `section` (appended when it has none)."""
        start, end = text.find(self.begin), text.find(self.end)
        if start == -1 or end < start:
            return text.rstrip("\n") + "\n\n" + section
        return text[:start] + section.rstrip("\n") + text[end + len(self.end):]

    def kept(self, text: str) -> str:
        """The section of an existing file ("" when none), for writers of the other sections."""
        start, end = text.find(self.begin), text.find(self.end)
        return "" if start == -1 or end < start else text[start:end + len(self.end)] + "\n"
