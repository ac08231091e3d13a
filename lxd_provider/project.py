"""`lxd:index/project:Project`: an LXD project, the namespace the other resources' `project` names.

A project LXD creates without `features.*` keys gets its defaults (its own images, profiles and
volumes): those keys are compared only where declared, as upstream does. A project is deleted only
when empty (LXD refuses otherwise; the error names what is still in it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pylxd.exceptions import LXDAPIException

from cluster.errors import StepFailed
from lxd_provider.base import Context, Failures
from lxd_provider.config_rules import PROJECT, Table
from lxd_provider.named import NamedObject
from lxd_provider.spec import STRING, STRING_MAP, Prop, sorted_map

# LXD refuses names with a slash, whitespace or quotes, and "*" or ".." on their own
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$")


class Project(NamedObject):
    token: ClassVar[str] = "lxd:index/project:Project"
    description: ClassVar[str] = ("An LXD project. `features.*` keys LXD sets by itself are compared only where "
                                  "declared.")
    id_description: ClassVar[str] = "<name>"
    collection = "projects"
    what = "project"
    filled_in_by_lxd = ("features.",)
    props = (
        Prop("name", STRING, "Project name.", required=True, replaces=True),
        Prop("description", STRING, "Description.", default=""),
        Prop("config", STRING_MAP, "Project config (e.g. features.profiles, limits.instances, restricted).",
             default={}, normalize=sorted_map),
    )

    def config_table(self, inputs: Mapping[str, Any]) -> Table:
        return PROJECT

    def validate(self, inputs: dict[str, Any]) -> Failures:
        name = str(inputs["name"])
        if NAME_RE.match(name) and name != "..":
            return []
        return [("name", f"{name!r} is not a valid project name: use letters, digits and - _ . +, at most 63 "
                         "characters, no slash or space")]

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        try:
            super().delete(ctx, resource_id, state)
        except LXDAPIException as error:
            if "empty" not in str(error):
                raise
            raise StepFailed(f"project {resource_id}", f"still holds objects ({error})",
                             f"delete them first (`lxc list --project {resource_id}`, `lxc image list --project "
                             f"{resource_id}`, `lxc profile list --project {resource_id}`), or keep the project") \
                from error
