"""The LXD layer everything shares: the pinned connection, operation waits and exec, cluster facts,
retry classification, and the idempotent steps that re-read the cluster before every retry."""
