"""Every resource and function the provider added beyond the first six, declared from stack config:
`image` (a fingerprint in the default project), `prefix`, `member`, `content` (what the files hold)."""

import pulumi
import pulumi_lxd as lxd

config = pulumi.Config()
image, prefix, member, content = (config.require(key) for key in ("image", "prefix", "member", "content"))

# instances of its own; images, profiles, volumes and networks shared with the default project
project = lxd.Project("project", name=f"{prefix}-project", description="lxdha provider breadth test", config={
    "features.images": "false", "features.profiles": "false", "features.storage.volumes": "false",
    "features.networks": "false"})
web = lxd.Instance("web", name=f"{prefix}-web", image=image, project=project.name, target=member,
                   files=[{"target_path": "/etc/lxdha/motd", "content": content, "mode": "0644",
                           "create_directories": True}],
                   wait_fors=[{"type": "ipv4"}])
note = lxd.InstanceFile("note", instance=web.name, project=project.name, target_path="/root/note.txt",
                        content=content, mode="0600")
snapshot = lxd.Snapshot("before", instance=web.name, project=project.name, name="before")
data = lxd.Volume("data", name=f"{prefix}-data", pool="default", target=member)
data_copy = lxd.VolumeCopy("data-copy", name=f"{prefix}-data-copy", pool="default", source_pool="default",
                           source_name=data.name, target=member, source_target=member)
acl = lxd.NetworkAcl("acl", name=f"{prefix}-acl", description="mirror only", egress=[
    {"action": "allow", "destination": "10.91.0.30", "protocol": "tcp", "destination_port": "9000"}], ingress=[
    {"action": "allow", "source": "10.91.0.0/24", "protocol": "icmp4"}])

found = lxd.get_instance_output(name=web.name, project=project.name)
pulumi.export("found", {"location": found.location, "status": found.status})
pulumi.export("members", lxd.get_info_output().cluster_members.apply(sorted))
pulumi.export("project", lxd.get_project_output(name=project.name).description)
pulumi.export("interfaces", web.interfaces)
pulumi.export("snapshot", snapshot.created_at)
pulumi.export("copy", data_copy.location)
