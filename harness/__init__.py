"""What tests, benchmarks and the demo share on the lab: real clients (skopeo), the pull loop, the VIP
probe, lab secrets and throw-away stacks."""
