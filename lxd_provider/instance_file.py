"""`lxd:index/instanceFile:InstanceFile`: a file in an instance; and the file an Instance pushes (its
`files`), both written the same way.

The content is `content`, or the local file `sourcePath` (read where the program runs). Its SHA-256
is kept in the state (`contentHash`): a source file that changed shows as a diff on `sourcePath`, and
a file changed inside the instance is drift a refresh reports. Writing the file again is the update,
so a retry, or a create whose answer was lost, writes the same bytes once more. Delete removes the
file (directories made for it stay); a file already gone, or whose instance is gone, is success.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

import pylxd
from pulumi.provider.experimental.provider import PropertyDiff, PropertyDiffKind
from pylxd.exceptions import NotFound

from cluster.connection import DEFAULT_PROJECT
from cluster.errors import StepFailed
from cluster.facts import read_instance
from cluster.operations import delete_file, pull_file, push_file
from cluster.retry import with_retries
from cluster.steps import gone_error
from lxd_provider.base import Context, DiffResult, Failures, Resource, instance_problems, join_id
from lxd_provider.spec import BOOLEAN, INSTANCE, INTEGER, PROJECT, STRING, Prop, TypeSpec
from lxd_provider.values import has_unknowns

MODE_RE = re.compile(r"^0?[0-7]{3}$")


def octal_mode(value: Any) -> str:
    """"644", "0644" -> "0644": the form LXD answers in."""
    return f"{int(str(value), 8):04o}" if MODE_RE.match(str(value)) else str(value)


FILE_PROPS = (
    Prop("targetPath", STRING, "Absolute path of the file in the instance.", required=True),
    Prop("content", STRING, "The file's content (or sourcePath)."),
    Prop("sourcePath", STRING, "A local file whose content is copied (read where the program runs), instead of "
         "content."),
    Prop("uid", INTEGER, "Owner's uid.", default=0),
    Prop("gid", INTEGER, "Owner's gid.", default=0),
    Prop("mode", STRING, 'Octal permissions, quoted (e.g. "0644").', default="0755", normalize=octal_mode),
    Prop("createDirectories", BOOLEAN, "Create the missing directories leading to targetPath.", default=False),
)
FILE = TypeSpec("lxd:index/InstanceFile:InstanceFile", "A file the instance gets after it is created, and again "
                "whenever it changes.", FILE_PROPS)


def file_problems(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(property, problem) for one file's declaration; its source file must be readable here. Values not
    known yet (preview) are checked when they are."""
    known = {k: v for k, v in entry.items() if not has_unknowns(v)}
    problems = []
    target = known.get("targetPath", "/unknown")
    if not isinstance(target, str) or not target.startswith("/") or target.endswith("/"):
        problems.append(("targetPath", f"targetPath {target!r} must be an absolute path to a file, e.g. /etc/motd"))
    if (entry.get("content") is None) == (entry.get("sourcePath") is None):
        problems.append(("content", "give exactly one of content and sourcePath"))
    elif "sourcePath" in known:
        try:
            with open(str(known["sourcePath"]), "rb"):
                pass
        except OSError as error:
            problems.append(("sourcePath", f"sourcePath {known['sourcePath']!r} cannot be read here "
                                           f"({error.strerror}): give a file that exists where the program runs"))
    if not MODE_RE.match(str(known.get("mode", "0755"))):
        problems.append(("mode", f"mode {known.get('mode')!r} must be octal permissions, quoted, e.g. \"0644\""))
    for key in ("uid", "gid"):
        value = known.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append((key, f"{key} must be a whole number, 0 or more, got {value!r}"))
    return problems


def file_bytes(entry: Mapping[str, Any]) -> bytes:
    if entry.get("sourcePath") is not None:
        with open(str(entry["sourcePath"]), "rb") as source:
            return source.read()
    return str(entry.get("content") or "").encode()


def content_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of what the file holds as declared ("" when its source cannot be read: check says why)."""
    try:
        return hashlib.sha256(file_bytes(entry)).hexdigest()
    except OSError:
        return ""


def with_defaults(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A declared file with every default filled in and its mode as LXD writes it."""
    filled = {p.name: entry.get(p.name, p.default) for p in FILE_PROPS}
    return {k: (octal_mode(v) if k == "mode" else v) for k, v in filled.items() if v is not None}


def files_by_path(files: Any) -> list[dict[str, Any]]:
    """An Instance's files compare as a set keyed by targetPath, defaults filled in."""
    return sorted((with_defaults(entry) for entry in files or []), key=lambda entry: str(entry.get("targetPath")))


def declared_hashes(files: Any) -> dict[str, str]:
    return {str(entry.get("targetPath")): content_hash(entry) for entry in files or []}


def write_file(client: pylxd.Client, instance: str, entry: Mapping[str, Any]) -> str:
    """Writes the file (and, when asked, the directories it goes in); returns its content's SHA-256. Writing
    again is harmless, so a retry simply writes again."""
    entry = with_defaults(entry)
    target, content = str(entry["targetPath"]), file_bytes(entry)
    uid, gid = int(entry["uid"]), int(entry["gid"])

    def attempt() -> None:
        if entry["createDirectories"]:
            for directory in reversed(PurePosixPath(target).parents):
                if str(directory) != "/" and pull_file(client, instance, str(directory)) is None:
                    push_file(client, instance, str(directory), b"", "0755", uid, gid, kind="directory")
        try:
            push_file(client, instance, target, content, entry["mode"], uid, gid)
        except NotFound as error:
            if read_instance(client, instance) is None:
                raise gone_error(instance) from error
            parent = str(PurePosixPath(target).parent)
            raise StepFailed(f"instance {instance}", f"has no directory {parent}, so {target} cannot be written",
                             "set createDirectories: true, or create the directory first") from error

    with_retries(attempt, f"write {target} in {instance}")
    return hashlib.sha256(content).hexdigest()


def remove_file(client: pylxd.Client, instance: str, path: str) -> None:
    """Removes the file; already gone (or its instance gone) is success."""

    def attempt() -> None:
        try:
            delete_file(client, instance, path)
        except NotFound:
            return

    with_retries(attempt, f"delete {path} in {instance}")


class InstanceFile(Resource):
    token: ClassVar[str] = "lxd:index/instanceFile:InstanceFile"
    description: ClassVar[str] = ("A file in an LXD instance, written again when its content (or source file), "
                                  "owner or mode changes, and removed on delete.")
    id_description: ClassVar[str] = "[<project>/]<instance>:<targetPath>"
    props = (
        INSTANCE,
        *(dataclasses.replace(p, replaces=True) if p.name == "targetPath" else p for p in FILE_PROPS),
        PROJECT,
        Prop("contentHash", STRING, "SHA-256 of the content written (of the file in the instance, once read).",
             input=False),
    )

    def validate(self, inputs: dict[str, Any]) -> Failures:
        return [*file_problems(inputs), *instance_problems(inputs)]

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        """Property by property, and the content by its hash: a source file that changed, or a file changed
        inside the instance, is written again."""
        result = super().diff(olds, news)
        if has_unknowns(news) or {"content", "sourcePath"} & set(result.detailed):
            return result
        if olds.get("contentHash") and content_hash(news) != olds["contentHash"]:
            changed = "sourcePath" if news.get("sourcePath") is not None else "content"
            result.detailed[changed] = PropertyDiff(PropertyDiffKind.UPDATE, input_diff=True)
            result.changes = True
        return result

    @staticmethod
    def _parts(resource_id: str) -> tuple[str, str, str]:
        where, _, path = resource_id.partition(":")
        project, _, instance = where.rpartition("/")
        if not instance or not path.startswith("/"):
            raise StepFailed(f"file id {resource_id!r}", "is not [<project>/]<instance>:<targetPath>",
                             "import it as e.g. `web-0:/etc/motd` or `team-a/web-0:/etc/motd`")
        return project or DEFAULT_PROJECT, instance, path

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        digest = write_file(ctx.client_for(inputs.get("project")), inputs["instance"], inputs)
        return join_id(inputs.get("project"), f"{inputs['instance']}:{inputs['targetPath']}"), \
            {**inputs, "contentHash": digest}

    def read(self, ctx: Context, resource_id: str, state: dict[str, Any],
             inputs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
        project, instance, path = self._parts(resource_id)
        client = ctx.client_for(project)
        live = with_retries(lambda: pull_file(client, instance, path), f"read {path} in {instance}")
        if live is None or live.kind != "file":
            return None, {}, {}
        old = {**state, **inputs}
        declared = {k: old[k] for k in ("content", "sourcePath", "createDirectories") if old.get(k) is not None}
        if not declared:  # an import: the content as the instance holds it
            declared = {"content": live.content.decode(errors="replace")}
        live_inputs = {"instance": instance, "targetPath": path, "uid": live.uid, "gid": live.gid,
                       "mode": live.mode, "project": project, **declared}
        return resource_id, {**live_inputs, "contentHash": hashlib.sha256(live.content).hexdigest()}, live_inputs

    def update(self, ctx: Context, resource_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        project, instance, _path = self._parts(resource_id)
        return {**news, "contentHash": write_file(ctx.client_for(project), instance, news)}

    def delete(self, ctx: Context, resource_id: str, state: dict[str, Any]) -> None:
        project, instance, path = self._parts(resource_id)
        remove_file(ctx.client_for(project), instance, path)
