"""Operator commands on a stack's cluster (maintenance roll, rebalance, host-check, migrate) and their
pure planners."""
