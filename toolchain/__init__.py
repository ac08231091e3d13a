"""The project's own set-up: the Pulumi toolchain and pinned Go programs built from source and cached,
and how to run that CLI offline."""
