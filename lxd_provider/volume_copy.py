"""`lxd:index/volumeCopy:VolumeCopy`: a custom volume made as a copy of another one (upstream's
`lxd_volume_copy`), in the copy's project; every input replaces it.

The copy is a volume like any other once made: read finds it gone when it was deleted, and delete
removes it (upstream leaves it behind). LXD does not record where a volume was copied from, so an
imported copy takes its source from the declaration. A create whose answer was lost finds the copy
and adopts it when it still matches its source (content type and config); any other volume of that
name is refused, as for a Volume. On a pool local to each member, `target` is the member the copy
goes to and `sourceTarget` the one that holds the source (LXD's `source.location`), when they differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pylxd

from cluster.errors import StepFailed
from lxd_provider.base import Context, DiffResult, Failures
from lxd_provider.references import Reference
from lxd_provider.spec import PROJECT, STRING, Prop
from lxd_provider.volume import Volume

SOURCE_KEYS = ("sourcePool", "sourceName", "sourceTarget")


class VolumeCopy(Volume):
    token: ClassVar[str] = "lxd:index/volumeCopy:VolumeCopy"
    description: ClassVar[str] = "A copy of a custom LXD storage volume (the volume only, not its snapshots)."
    id_description: ClassVar[str] = "[<project>/]<pool>/<name> (the source is taken from the declaration)"
    what = "volume copy"
    props = (
        Prop("name", STRING, "Name of the copy.", required=True, replaces=True),
        Prop("pool", STRING, "Storage pool the copy goes to.", required=True, replaces=True),
        Prop("sourcePool", STRING, "Storage pool that holds the volume copied.", required=True, replaces=True),
        Prop("sourceName", STRING, "Name of the volume copied (a custom volume of the same project).",
             required=True, replaces=True),
        Prop("sourceTarget", STRING, "Member that holds the source, on a pool local to each member, when it is "
             "not `target` (not in upstream).", replaces=True),
        Prop("target", STRING, "Member the copy goes to, on a pool local to each member.", replaces=True),
        PROJECT,
        Prop("location", STRING, "Member that holds the copy (empty on shared pools).", input=False),
    )

    def _source(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """What the source is, read with the request that finds it (its member's, on a local pool)."""
        return {"pool": inputs["sourcePool"], "name": inputs["sourceName"],
                **({"target": inputs["sourceTarget"]} if inputs.get("sourceTarget") else
                   {"target": inputs["target"]} if inputs.get("target") else {})}

    def body(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """No config or description: LXD gives the copy the source's."""
        source = {"type": "copy", "pool": inputs["sourcePool"], "name": inputs["sourceName"], "volume_only": True}
        if inputs.get("sourceTarget"):
            source["location"] = inputs["sourceTarget"]
        return {"name": self.name_of(inputs), "type": "custom", "source": source}

    def validate(self, inputs: dict[str, Any]) -> Failures:
        failures = super().validate(inputs)
        if (inputs["pool"], inputs["name"]) == (inputs["sourcePool"], inputs["sourceName"]) and \
                inputs.get("sourceTarget") in (None, inputs.get("target")):
            failures.append(("name", f"{inputs['name']} would be a copy of itself: give the copy another name or "
                                     "pool"))
        return failures

    def references(self, inputs: Mapping[str, Any]) -> list[Reference]:
        return [*super().references(inputs), Reference("sourcePool", "storage pool", inputs.get("sourcePool")),
                Reference("sourceTarget", "member", inputs.get("sourceTarget"))]

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        """As declared; an imported copy (no source in its state) takes its source from the declaration."""
        imported = "sourceName" not in olds
        return super().diff({**olds, **({k: news.get(k) for k in SOURCE_KEYS} if imported else {})}, news)

    def _read_source(self, client: pylxd.Client, inputs: Mapping[str, Any]) -> dict[str, Any]:
        source = self._source(inputs)
        found = self._get(client, source)
        if found is None:
            where = f" on {source['target']}" if source.get("target") else ""
            raise StepFailed(f"volume {inputs['sourcePool']}/{inputs['sourceName']}",
                             f"does not exist{where}, so it cannot be copied",
                             "fix sourcePool/sourceName (or sourceTarget on a pool local to each member), or declare "
                             "the source volume first")
        return found

    def _matches(self, client: pylxd.Client, live: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
        """Our own copy, whose answer was lost: it holds what the source holds (content type, config)."""
        source = self._read_source(client, inputs)
        return live.get("content_type") == source.get("content_type") and \
            self.config_from(live.get("config") or {}, None) == self.config_from(source.get("config") or {}, None)

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._read_source(self.client(ctx, inputs), inputs)  # named before anything is made
        return super().create(ctx, inputs)

    def inputs_from(self, live: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": live["name"], "pool": old.get("pool"), "project": old.get("project", "default"),
                **{k: old[k] for k in (*SOURCE_KEYS, "target") if old.get(k) is not None}}
