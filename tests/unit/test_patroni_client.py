"""What the operations read from Patroni: whole means a running primary and every other member running,
streaming from it and close behind; a switchover goes to a synchronous standby off the leaving members."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from provisioners.patroni import ClusterMember, ClusterView, PatroniError, move_primary_away
from provisioners.patroni_roles import PatroniRolesProvider

LEADER = ClusterMember("pg-0", "leader", "running", "10.0.0.10", None)
SYNC = ClusterMember("pg-1", "sync_standby", "running", "10.0.0.11", 0)
REPLICA = ClusterMember("pg-2", "replica", "running", "10.0.0.12", 1024)


def test_a_whole_cluster_has_no_problem() -> None:
    assert ClusterView((LEADER, SYNC, REPLICA)).problem(3, {"pg-1", "pg-2"}) is None


def test_newer_patronis_streaming_replicas_count_as_running() -> None:
    """Patroni 4 reports a replica's state as how it replicates, not "running"."""
    streaming = (LEADER, ClusterMember("pg-1", "sync_standby", "streaming", "10.0.0.11", 0),
                 ClusterMember("pg-2", "replica", "streaming", "10.0.0.12", 0))
    assert ClusterView(streaming).problem(3, {"pg-1", "pg-2"}) is None
    assert [m.name for m in ClusterView(streaming).sync_standbys] == ["pg-1"]


def test_a_replica_not_streaming_is_a_problem_whatever_its_last_lag() -> None:
    assert ClusterView((LEADER, SYNC, REPLICA)).problem(3, {"pg-1"}) == "pg-2 is not streaming from the primary"


@pytest.mark.parametrize(("members", "problem"), [
    ((SYNC, REPLICA), "no running primary"),
    ((LEADER, SYNC), "2 of 3 members in the cluster"),
    ((LEADER, SYNC, ClusterMember("pg-2", "replica", "starting", "10.0.0.12", None)), "pg-2 is starting"),
    ((LEADER, SYNC, ClusterMember("pg-2", "replica", "running", "10.0.0.12", 64 << 20)), "pg-2 is 67108864 bytes"),
])
def test_what_is_not_whole(members: tuple[ClusterMember, ...], problem: str) -> None:
    assert (ClusterView(members).problem(3, {"pg-1", "pg-2"}) or "").startswith(problem)


class FakePatroni:
    """Answers /cluster from a list of views (one per call) and records switchovers."""

    def __init__(self, *views: ClusterView) -> None:
        self.views, self.switched = list(views), []

    def cluster(self) -> ClusterView:
        return self.views.pop(0) if len(self.views) > 1 else self.views[0]

    def switchover(self, leader: str, candidate: str | None = None) -> str:
        self.switched.append((leader, candidate))
        return "Successfully switched over"


def test_no_switchover_when_the_primary_stays() -> None:
    patroni = FakePatroni(ClusterView((LEADER, SYNC, REPLICA)))
    assert move_primary_away(patroni, {"pg-2"}) is None and patroni.switched == []  # type: ignore[arg-type]


def test_the_primary_moves_to_the_synchronous_standby_and_the_move_is_waited_for() -> None:
    after = ClusterView((ClusterMember("pg-1", "leader", "running", "10.0.0.11", None),
                         ClusterMember("pg-0", "replica", "running", "10.0.0.10", 0), REPLICA))
    patroni = FakePatroni(ClusterView((LEADER, SYNC, REPLICA)), after)
    done = move_primary_away(patroni, {"pg-0"}, timeout_s=5)  # type: ignore[arg-type]
    assert patroni.switched == [("pg-0", "pg-1")] and done is not None and "pg-0 to pg-1" in done


def test_without_a_synchronous_standby_elsewhere_the_roll_stops_rather_than_lose_commits() -> None:
    patroni = FakePatroni(ClusterView((LEADER, ClusterMember("pg-1", "replica", "running", "10.0.0.11", 0))))
    with pytest.raises(PatroniError, match="no synchronous standby"):
        move_primary_away(patroni, {"pg-0"})  # type: ignore[arg-type]


def test_a_changed_role_is_no_change_to_make() -> None:
    olds = {"scope": "pg", "members": {"pg-0": "10.0.0.10"}, "port": 8008, "roles": {"pg-0": "leader"}}
    news = {"scope": "pg", "members": {"pg-0": "10.0.0.10"}, "port": 8008, "roles": None}
    assert not PatroniRolesProvider().diff("roles-pg", olds, news).changes
    moved = {**news, "members": {"pg-0": "10.0.0.99"}}
    assert PatroniRolesProvider().diff("roles-pg", olds, moved).changes


def test_roles_wait_for_the_synchronous_standby_patroni_picks_after_the_leader(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioners import patroni_roles

    no_standby_yet = ClusterView((LEADER, ClusterMember("pg-1", "replica", "streaming", "10.0.0.11", 0)))
    views = [no_standby_yet, no_standby_yet, ClusterView((LEADER, SYNC))]
    monkeypatch.setattr(patroni_roles, "Patroni", lambda *_args: SimpleNamespace(cluster=lambda: views.pop(0)))
    monkeypatch.setattr("cluster.polling.time.sleep", lambda _s: None)
    members = {"pg-0": "10.0.0.10", "pg-1": "10.0.0.11"}
    assert patroni_roles.read_roles(members, 8008, synchronous=True) == {"pg-0": "leader", "pg-1": "sync_standby"}
    views[:] = [no_standby_yet]
    assert patroni_roles.read_roles(members, 8008) == {"pg-0": "leader", "pg-1": "replica"}


def test_operations_ask_patroni_where_it_last_was_and_lxd_only_when_none_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A cut-off member or a change of LXD's leader holds LXD up: asking Patroni must not wait on it."""
    from contextlib import nullcontext

    from ops import postgres_service
    from provisioners.patroni import Patroni

    lxd_reads: list[int] = []
    answering = {"10.0.0.10", "10.0.0.11", "10.0.0.12"}

    def read_instances(_client, with_state: bool):
        lxd_reads.append(1)
        return [SimpleNamespace(group="pg", ipv4=[m.host]) for m in (LEADER, SYNC, REPLICA)]

    def cluster(patroni: Patroni) -> ClusterView:
        if not answering & set(patroni.addresses):
            raise PatroniError("no member's Patroni answered")
        return ClusterView((LEADER, SYNC, REPLICA))

    monkeypatch.setattr(postgres_service, "lxd_client", lambda _endpoint: nullcontext(None))
    monkeypatch.setattr(postgres_service, "read_instances", read_instances)
    monkeypatch.setattr(Patroni, "cluster", cluster)
    operations = postgres_service.PostgresOperations(SimpleNamespace(group="pg"), None, "pw")  # type: ignore[arg-type]
    assert operations.patroni().addresses == ["10.0.0.10", "10.0.0.11", "10.0.0.12"] and len(lxd_reads) == 1
    operations.patroni()
    assert len(lxd_reads) == 1, "the addresses Patroni reported serve the next ask"
    answering.clear()
    operations.patroni()
    assert len(lxd_reads) == 2, "none answering: LXD is asked where the members are now"
