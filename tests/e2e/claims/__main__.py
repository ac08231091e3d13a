"""A service's address claim on its own (the registry declares the same resource before its replicas).

The claim provider takes no connection input: it reads the stack's lxd:* config in configure()."""

import pulumi

from provisioners.address_claims import ClaimRequest
from provisioners.claim_provider import AddressClaim

config = pulumi.Config()
claim = AddressClaim("claim", ClaimRequest(
    owner=f"{pulumi.get_project()}/{pulumi.get_stack()}", service="e2e", vip=config.require("vip"),
    subnet="10.93.0.0/24", vrid=config.require_int("vrid")))
pulumi.export("claims", claim.claims)
