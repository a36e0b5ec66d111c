"""Markdown output: tables, and ratios marked against their targets."""

from __future__ import annotations


def table(headers: list[str], rows: list[list]) -> str:
    """A markdown table; floats get thousands separators or 2 decimals as they need."""

    def cell(v):
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def mark(value: float, target: float, higher_is_better: bool = True, pct: bool = False) -> str:
    """``1.23x ok (>=1)`` or ``0.80x MISS (>=1)``; with ``pct``, ``74% MISS (>=75%)``."""
    ok = value >= target if higher_is_better else value <= target
    shown, goal = (f"{value:.0%}", f"{target:.0%}") if pct else (f"{value:.2f}x", f"{target:g}")
    return f"{shown} {'ok' if ok else 'MISS'} ({'>=' if higher_is_better else '<='}{goal})"
