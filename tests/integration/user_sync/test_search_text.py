"""The header search follows what syncs write: a person renamed in the source is found by the
new name and address (whatever the case and accents typed), by the old address now an
alias, and no longer by the old name; a renamed group likewise; and every stored row's
search text is its names and addresses folded."""

from __future__ import annotations

from sqlalchemy import select

from tenantsync.console.ops.search import everywhere
from tenantsync.sandbox import SandboxTenant
from tenantsync.store.database import Database
from tenantsync.store.models import Mailbox, SourceGroup
from tenantsync.store.search import searchable
from tests.integration.user_sync.harness import UserSync
from tests.integration.user_sync.test_delta import a_licensed_user


def found(db: Database, q: str) -> tuple[set[str | None], set[str | None]]:
    """(source ids of the mailboxes, of the groups) the header search finds for ``q``."""
    with db.session() as session:
        hits = everywhere(session, q)
        mailboxes = {
            row[0].source_id for kind in ("people", "mailboxes") for row in hits[kind].rows
        }
        groups = {row[0].source_id for row in hits["groups"].rows}
    return mailboxes, groups


def assert_folded(db: Database) -> None:
    """Every mailbox and group stored holds its names and addresses folded."""
    with db.session() as session:
        for mailbox in session.scalars(select(Mailbox)):
            aliases = [a.address for a in mailbox.aliases]
            folded = searchable(mailbox.display_name, mailbox.primary_address, *aliases)
            assert mailbox.search_text == folded, mailbox.primary_address
        for name, mail, text in session.execute(
            select(SourceGroup.name, SourceGroup.mail, SourceGroup.search_text)
        ):
            assert text == searchable(name, mail), name


def test_a_person_renamed_in_the_source_is_found_by_the_new_name_only(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    assert sync.run().status == "succeeded"
    assert_folded(sync.db)
    uid = a_licensed_user(tenant)
    old_name = tenant.users[uid].display_name
    assert uid in found(sync.db, old_name.upper())[0]
    old_address = tenant.users[uid].mail.lower()
    domain = old_address.split("@")[1]
    tenant.update_user(uid, display_name="Zoë Ångström-Müller", mail=f"zangstrom@{domain}")
    result = sync.run()
    assert result.status == "succeeded", result.error
    assert result.counts["mailboxes_updated"] == 1
    for typed in ("zoe angstrom", "ZOË ÅNGSTRÖM-MÜLLER", "Angstrom-Muller", "ZANGSTROM@"):
        assert found(sync.db, typed)[0] == {uid}, typed
    assert uid not in found(sync.db, old_name)[0]
    assert found(sync.db, old_address)[0] == {uid}  # kept as an alias
    assert_folded(sync.db)


def test_a_group_renamed_in_the_source_is_found_by_the_new_name_only(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    assert sync.run().status == "succeeded"
    gid = next(g.id for g in tenant.groups.values() if g.kind == "security")
    old_name = tenant.groups[gid].display_name
    assert gid in found(sync.db, old_name)[1]
    tenant.update_group(gid, display_name="Équipe Zürich Nord")
    result = sync.run()
    assert result.status == "succeeded", result.error
    assert found(sync.db, "equipe zurich")[1] == {gid}
    assert gid not in found(sync.db, old_name)[1]
    assert_folded(sync.db)
