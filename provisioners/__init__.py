"""Pulumi dynamic providers and the plain, testable logic behind them."""
