"""The hosted components' inputs, as the SDK's analyzer reads them into the package schema.

Each field is named as the stack's config section names it (`vip`, `dhcpRange`, `advertIntervalS`), so the
schema's property is the setting, the component reads its inputs with the stack's own readers, and a mistake
is reported as `<resource>.<property>`. Settings are plain (the readers need their values before anything
is declared); only what may come from other resources or is secret is a `pulumi.Input`: the image alias,
the SSH private key and the services' secrets.
"""

from typing import Any, NotRequired, TypedDict

import pulumi


class Network(TypedDict):
    """The VIP's network: its subnet, and the DHCP range the VIP must stay out of."""

    subnet: str
    dhcpRange: NotRequired[list[str]]


class Mirror(TypedDict):
    """The package mirror containers bootstrap from (Debian: suite, components, signing key; Alpine:
    repository paths)."""

    url: str
    suite: NotRequired[str]
    components: NotRequired[list[str]]
    signingKey: NotRequired[str]
    repositories: NotRequired[list[str]]


class HostedInputs(TypedDict):
    """What every component needs to make containers: the image, its distro, and how Ansible reaches them."""

    image: pulumi.Input[str]
    """An image alias in the cluster, e.g. debian/stable (an AlpineImageAlias's or BakedImage's alias)."""
    distro: str
    """How containers from the image are bootstrapped: debian or alpine."""
    baked: NotRequired[bool]
    """The image is a BakedImage: a container's bootstrap only sets up its access."""
    mirror: Mirror
    authorizedKeys: list[str]
    sshPrivateKey: pulumi.Input[str]
    """The private half of one of the authorized keys (Ansible logs in with it): keep it secret."""


class VipGroupInputs(HostedInputs):
    """Replicas on different members sharing a keepalived VIP."""

    vip: str
    network: Network
    replicas: NotRequired[int]
    prefix: NotRequired[str]
    group: NotRequired[str]
    vrid: NotRequired[int]
    vrrpVersion: NotRequired[int]
    advertIntervalS: NotRequired[float]
    allowReplicasOverMembers: NotRequired[bool]
    ansibleDir: NotRequired[str]
    vrrpPassword: NotRequired[pulumi.Input[str]]
    """VRRPv2 only (at most 8 characters): VRRPv3 has no authentication."""


class RegistryS3(TypedDict):
    endpoint: NotRequired[str]
    region: NotRequired[str]
    bucket: str
    rootDirectory: NotRequired[str]


class RegistryServer(TypedDict):
    source: NotRequired[str]
    version: NotRequired[str]
    url: NotRequired[str]
    sha256: NotRequired[str]


class RegistryTls(TypedDict):
    cert: str
    """The PEM certificate the registry answers with: it must name the VIP."""


class HARegistryInputs(VipGroupInputs):
    """`lxdha:registry`'s settings, its secrets given as inputs."""

    s3: RegistryS3
    tls: RegistryTls
    port: NotRequired[int]
    server: NotRequired[RegistryServer]
    tlsKey: pulumi.Input[str]
    s3AccessKey: pulumi.Input[str]
    s3SecretKey: pulumi.Input[str]
    users: pulumi.Input[dict[str, str]]
    """user -> password: anonymous access is refused."""
    httpSecret: NotRequired[pulumi.Input[str]]
    """Shared by the replicas to sign upload state; generated once when not given."""


class HAProxyCheck(TypedDict):
    kind: NotRequired[str]
    path: NotRequired[str]
    port: NotRequired[int]
    expectStatus: NotRequired[int]
    intervalMs: NotRequired[int]


class HAProxyServer(TypedDict):
    name: str
    address: str
    port: int


class HAProxyBackend(TypedDict):
    name: str
    servers: list[HAProxyServer]
    mode: NotRequired[str]
    balance: NotRequired[str]
    check: NotRequired[HAProxyCheck]
    failFast: NotRequired[bool]


class HAProxyFrontend(TypedDict):
    name: str
    port: int
    backend: str
    mode: NotRequired[str]


class HAProxyGroupInputs(VipGroupInputs):
    frontends: list[HAProxyFrontend]
    backends: list[HAProxyBackend]
    statsPort: NotRequired[int]


class Volume(TypedDict):
    suffix: str
    path: str
    size: str
    pool: NotRequired[str]


class Playbook(TypedDict):
    playbook: str
    ansibleDir: NotRequired[str]
    rollingGroup: NotRequired[str]


class BalancedContainerInputs(HostedInputs):
    name: str
    group: NotRequired[str]
    member: NotRequired[str]
    groupSize: NotRequired[int]
    allowGroupOvercommit: NotRequired[bool]
    replaceOnImageChange: NotRequired[bool]
    volumes: NotRequired[list[Volume]]
    playbook: NotRequired[Playbook]


class PostgresHAProxy(TypedDict):
    """The HAProxy group in front of the database (VRRPv3): its VIP carries the write and read ports."""

    vip: str
    network: NotRequired[Network]
    replicas: NotRequired[int]
    prefix: NotRequired[str]
    group: NotRequired[str]
    vrid: NotRequired[int]
    advertIntervalS: NotRequired[float]
    allowReplicasOverMembers: NotRequired[bool]
    writePort: NotRequired[int]
    readPort: NotRequired[int]
    statsPort: NotRequired[int]


class PatroniTiming(TypedDict):
    ttlS: NotRequired[int]
    loopWaitS: NotRequired[int]
    retryTimeoutS: NotRequired[int]


class BackupS3(TypedDict):
    endpoint: str
    """https://host:port: pgBackRest 2.45 reaches S3 over HTTPS only."""
    bucket: str
    region: NotRequired[str]
    path: NotRequired[str]
    caFile: NotRequired[str]


class Backup(TypedDict):
    s3: BackupS3
    retentionFull: NotRequired[int]
    schedule: NotRequired[str]


class Restore(TypedDict):
    """Create the cluster from another cluster's backups, to a point in time."""

    path: str
    time: str
    stanza: NotRequired[str]


class PostgresTls(TypedDict):
    cert: str
    """The PEM certificate PostgreSQL answers with: it must name the HAProxy group's VIP."""


class PostgresClusterInputs(HostedInputs):
    """`lxdha:postgres`'s settings, its passwords, TLS key and backup S3 keys given as inputs."""

    network: Network
    haproxy: PostgresHAProxy
    backup: Backup
    tls: PostgresTls
    name: NotRequired[str]
    members: NotRequired[int]
    prefix: NotRequired[str]
    group: NotRequired[str]
    allowMembersOverClusterMembers: NotRequired[bool]
    ansibleDir: NotRequired[str]
    appUser: NotRequired[str]
    appDatabase: NotRequired[str]
    dataSize: NotRequired[str]
    patroni: NotRequired[PatroniTiming]
    pool: NotRequired[str]
    port: NotRequired[int]
    restore: NotRequired[Restore]
    strict: NotRequired[bool]
    synchronous: NotRequired[bool]
    superuserPassword: pulumi.Input[str]
    replicationPassword: pulumi.Input[str]
    rewindPassword: pulumi.Input[str]
    restApiPassword: pulumi.Input[str]
    appPassword: pulumi.Input[str]
    tlsKey: pulumi.Input[str]
    backupS3AccessKey: pulumi.Input[str]
    backupS3SecretKey: pulumi.Input[str]


def whole_numbers(value: Any) -> Any:
    """`value` with every whole float made an int: numbers reach a hosted component as floats (the wire
    has only doubles, and this SDK's int mapping is overwritten), and the readers take counts and ports
    as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value
