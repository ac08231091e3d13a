"""A real, local LXD cluster lab: members in network namespaces, a TCP load balancer, an image
remote, an S3 site host with a signed Debian package mirror, and DHCP — all on one machine.

Entry points: `python -m lab up|down|status|env|fault ...` and the pytest plugin
`lab.pytest_plugin`. Everything the lab creates is named `lxdha*` and lives under the lab dir.
"""
