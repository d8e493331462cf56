"""On-premises Exchange reads from Active Directory: a Samba AD DC holding N mailboxes
(20,000 by default) with their groups and ACLs, read by the exchange_onprem connector.

Loading is not timed: the generated organization is written as LDIF into the stopped DC's
database (ldbadd/ldbmodify, sandbox/samba_org.py) before it starts. Then, each figure beside
its floor measured in the same run with the same client (ldap3 over LDAPS, the same
service account, page size and attributes, entries fetched and dropped):

1. full directory read: the connector's full read as user sync makes it (a DirSync round
   from scratch, every user and group decoded into the snapshot), beside bare paged
   searches of the same objects and attributes; and the connector's paged read (an account
   without Replicating Directory Changes) beside the same floor. Target: within 1.5x.
2. full permission read: every mailbox's Full Access, Send As and Send on Behalf (the
   connector reads a hundred mailboxes per search by GUID, parses both descriptors and
   names every trustee SID), beside bare paged searches of the same attributes with the
   same DACL-only control. Target: within 1.5x.
3. DirSync round after 1% of the people changed (a title each, written over LDAP as an
   administrator would): the connector's delta read (changed objects read again whole),
   beside the full directory read, three rounds (other people each time) and their median;
   each beside the bare DirSync round from the same cookie. Target: under 5% of it.

Samba binds the LDAP ports, so this needs root, Samba's packages and no other DC running.

    python bench/onprem.py [--mailboxes N] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# bench/queue.py would shadow the stdlib `queue`: keep this folder off sys.path.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from ldap3 import MODIFY_REPLACE, SUBTREE, Connection  # noqa: E402

from bench.support.memory import peak_mb, reset_peak  # noqa: E402
from tenantsync.connectors.loop import LoopThread, running  # noqa: E402
from tenantsync.connectors.onprem.directory import COOKIE_PREFIX  # noqa: E402
from tenantsync.connectors.onprem.entries import (  # noqa: E402
    DIRSYNC_FILTER,
    OBJECTS_FILTER,
    USER_ATTRIBUTES,
)
from tenantsync.connectors.onprem.kind import OnPremConnector, OnPremParams  # noqa: E402
from tenantsync.connectors.onprem.ldap import Ldap, sd_flags_control  # noqa: E402
from tenantsync.connectors.onprem.permissions import ATTRIBUTES  # noqa: E402
from tenantsync.model.permissions import MailboxAcl, MailboxRef, Right  # noqa: E402
from tenantsync.model.snapshot import Snapshot  # noqa: E402
from tenantsync.sandbox import generate_tenant  # noqa: E402
from tenantsync.sandbox.samba import SambaDC, provision_samba  # noqa: E402
from tenantsync.sandbox.samba_org import LoadedOrganization, load_organization  # noqa: E402

T = TypeVar("T")
PAGE = 1000
TARGET_RATIO = 1.5
TARGET_DELTA_SHARE = 0.05
ROUNDS = 3
MAILBOX_FILTER = "(&(objectCategory=person)(msExchRecipientTypeDetails=*))"


def quiet(stage: str, done: int) -> None:
    pass


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """Seconds a call took, and what it gave."""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def connector(dc: SambaDC, user: str, password: str) -> OnPremConnector:
    """The connector as a stored exchange_onprem connection opens it."""
    params = OnPremParams(server=dc.host, ca_file=str(dc.ca_file), bind_user=user, page_size=PAGE)
    return OnPremConnector(params, password)


@contextmanager
def opened(dc: SambaDC, user: str, password: str) -> Iterator[tuple[LoopThread, OnPremConnector]]:
    """The connector entered on its own loop thread, as a run opens its source."""
    with running(connector(dc, user, password)) as (loop, entered):
        yield loop, entered


def floor(ldap: Ldap, base: str, search_filter: str, attributes: tuple[str, ...], **kw: Any) -> int:
    """Bare paged searches with the connector's own client: every page fetched, nothing
    decoded; the entries seen."""
    conn: Connection = ldap.connection()
    cookie: bytes | None = b""
    seen = 0
    while cookie is not None:
        conn.search(
            base,
            search_filter,
            SUBTREE,
            attributes=list(attributes),
            paged_size=PAGE,
            paged_cookie=cookie,
            **kw,
        )
        seen += sum(1 for e in conn.response or () if e.get("type") == "searchResEntry")
        control = conn.result["controls"]["1.2.840.113556.1.4.319"]["value"]
        cookie = control["cookie"] or None
    return seen


def full_read(loop: LoopThread, source: OnPremConnector) -> Snapshot:
    """The connector's full directory read, with groups, as user sync asks for it."""
    return loop.run(source.directory_source().read_full(with_groups=True, progress=quiet))


def change_people(dc: SambaDC, org: LoadedOrganization, share: float, round_no: int = 0) -> int:
    """Give ``share`` of the people a new title over LDAP, as an administrator would (each
    round other people)."""
    admin = Connection(
        connector(dc, dc.admin_user, dc.admin_password).ldap.server(),
        user=dc.admin_user,
        password=dc.admin_password,
        auto_bind=True,
    )
    people = sorted(dn for dn in org.dns.values() if dn.endswith(org.people_ou))
    step = max(1, round(1 / share))
    changed = people[round_no % step :: step]
    for n, dn in enumerate(changed):
        title = f"Changed title {round_no}-{n}"
        if not admin.modify(dn, {"title": [(MODIFY_REPLACE, [title])]}):
            raise SystemExit(f"cannot change {dn}: {admin.result}")
    admin.unbind()
    return len(changed)


def ratio(figure: float, base: float) -> str:
    """A figure beside its floor."""
    return f"{figure:7.2f} s  floor {base:6.2f} s  {figure / base:5.2f}x the floor"


def run(dc: SambaDC, org: LoadedOrganization) -> None:
    """Every measurement against the loaded, running DC; prints as it goes."""
    with (
        opened(dc, org.service_user, org.service_password) as (loop, reader),
        opened(dc, org.limited_user, org.service_password) as (limited_loop, limited),
    ):
        base = reader.base_dn()
        limited.base_dn()
        floor_s, seen = timed(lambda: floor(reader.ldap, base, OBJECTS_FILTER, USER_ATTRIBUTES))
        reset_peak()
        full_s, snap = timed(lambda: full_read(loop, reader))
        if not snap.complete:
            raise SystemExit(f"the full read was incomplete: {snap.problems}")
        print(
            f"  full directory read (DirSync) {ratio(full_s, floor_s)} "
            f"(target < {TARGET_RATIO:g}x); {len(snap.users)} users, {len(snap.mailboxes)} "
            f"mailboxes, {len(snap.groups)} groups (floor saw {seen} entries), "
            f"peak RSS {peak_mb():.0f} MB",
            flush=True,
        )
        paged_floor, _ = timed(lambda: floor(limited.ldap, base, OBJECTS_FILTER, USER_ATTRIBUTES))
        paged_s, paged = timed(lambda: full_read(limited_loop, limited))
        print(
            f"  full directory read (paged)   {ratio(paged_s, paged_floor)} "
            f"(target < {TARGET_RATIO:g}x); {len(paged.users)} users, complete={paged.complete}",
            flush=True,
        )

        refs = [
            MailboxRef(n, info.primary_address or "", sid)
            for n, (sid, info) in enumerate(sorted(snap.mailboxes.items()), start=1)
        ]
        sd = [sd_flags_control()]
        acl_floor, acl_seen = timed(
            lambda: floor(reader.ldap, base, MAILBOX_FILTER, ATTRIBUTES, controls=sd)
        )
        permissions = reader.permission_source(loop, 1)
        reset_peak()
        acl_s, results = timed(lambda: list(permissions.read(refs, frozenset(Right), bool)))
        acls = [r for r in results if isinstance(r, MailboxAcl)]
        entries = sum(len(a.entries) for a in acls)
        print(
            f"  full permission read          {ratio(acl_s, acl_floor)} "
            f"(target < {TARGET_RATIO:g}x); {len(acls)} of {len(refs)} mailboxes read, "
            f"{entries} entries (floor saw {acl_seen}), peak RSS {peak_mb():.0f} MB",
            flush=True,
        )

        directory = reader.directory_source()
        link = snap.users_delta_link or ""
        shares = []
        for round_no in range(ROUNDS):
            changed = change_people(dc, org, 0.01, round_no)
            cookie = base64.b64decode(link[len(COOKIE_PREFIX) :])
            delta_s, delta = timed(
                lambda saved=link: loop.run(
                    directory.read_delta(
                        users_link=saved, groups_link=saved, with_groups=True, progress=quiet
                    )
                )
            )
            # The bare round after ours: a DC's first answer after writes is the slower one.
            bare_s, _ = timed(lambda c=cookie: dirsync_floor(reader.ldap, base, c))
            link = delta.users_delta_link or ""
            shares.append(delta_s / full_s)
            print(
                f"  DirSync round {round_no + 1} after 1%      {delta_s:7.2f} s  "
                f"{delta_s / full_s:6.1%} of the full read; floor {bare_s:.2f} s (the bare "
                f"round from the same cookie); {changed} people changed, {len(delta.users)} "
                f"users read again, complete={delta.complete}",
                flush=True,
            )
        print(
            f"  DirSync round after 1%, median of {ROUNDS}: {statistics.median(shares):6.1%} of "
            f"the full read (target < {TARGET_DELTA_SHARE:.0%})",
            flush=True,
        )


def dirsync_floor(ldap: Ldap, base: str, cookie: bytes) -> int:
    """The DirSync round from ``cookie`` with the connector's client, entries dropped: what
    the DC takes to answer it (a cookie read again gives the same changes)."""
    seen = 0
    more = True
    while more:
        answer = ldap.dirsync(base, DIRSYNC_FILTER, USER_ATTRIBUTES, cookie)
        seen += len(answer.entries)
        cookie, more = answer.cookie, answer.more
    return seen


def main(argv: list[str] | None = None) -> int:
    """Load the DC, run the measurements, stop it; exit 1 when it could not run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="300 mailboxes (smoke run)")
    args = parser.parse_args(argv)
    size = 300 if args.quick else args.mailboxes
    try:
        dc = provision_samba()
    except (RuntimeError, OSError) as exc:
        print(f"onprem: cannot run without a Samba AD DC: {exc}")
        return 1
    try:
        tenant = generate_tenant(size, seed=15)
        load_s, org = timed(lambda: load_organization(dc, tenant))
        dc.start()
        print(
            f"onprem: Samba AD DC ({dc.realm}) over LDAPS on {dc.host}, {len(tenant.users)} "
            f"users and {len(tenant.groups)} groups generated, loaded offline in {load_s:.0f} s "
            f"(not timed); page size {PAGE}; floor = bare paged searches, same client",
            flush=True,
        )
        run(dc, org)
    finally:
        dc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
