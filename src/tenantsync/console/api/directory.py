"""Organizations, domains, mailboxes, source groups and delegate access."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tenantsync.console.api.schemas import (
    DomainIn,
    DomainOut,
    GrantIn,
    GrantOut,
    GroupOut,
    Id,
    MailboxDetail,
    MailboxOut,
    OrganizationIn,
    OrganizationOut,
    PageNo,
    PageOut,
    PerPage,
    PolicyGroupOut,
    QueryId,
    SearchText,
)
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, Reader, Super, Writer
from tenantsync.console.ops import directory as ops
from tenantsync.console.ops import mailboxes as mailbox_ops
from tenantsync.console.ops.runs import mailbox_counts
from tenantsync.console.ops.tables import parse_sort
from tenantsync.store.models import Domain, GroupKind, Mailbox, MailboxKind, Organization

router = APIRouter(tags=["directory"])


@router.get("/organizations", response_model=PageOut[OrganizationOut])
def list_organizations(
    db: DbSession, who: Reader, q: SearchText = "", page: PageNo = 1, per_page: PerPage = 50
) -> PageOut[OrganizationOut]:
    """Organizations, by name."""
    return PageOut.of(ops.list_organizations(db, page, per_page, q), OrganizationOut.model_validate)


@router.post("/organizations", response_model=OrganizationOut, status_code=201)
def create_organization(body: OrganizationIn, db: DbSession, who: Writer) -> OrganizationOut:
    """Add an organization (with its Main policy group)."""
    org = ops.add_organization(db, body.name, body.display_name)
    record(db, who, "organization.create", org.name)
    db.refresh(org)
    return OrganizationOut.model_validate(org)


@router.get("/organizations/{org_id}", response_model=OrganizationOut)
def get_organization(org_id: Id, db: DbSession, who: Reader) -> OrganizationOut:
    """One organization with its domains."""
    return OrganizationOut.model_validate(ops.get_or_404(db, Organization, org_id, "organization"))


@router.get("/organizations/{org_id}/mailbox-counts")
def organization_counts(org_id: Id, db: DbSession, who: Reader) -> dict[str, object]:
    """Live mailboxes of an organization by kind, and how many bill."""
    ops.get_or_404(db, Organization, org_id, "organization")
    return mailbox_counts(db, org_id)


@router.post("/organizations/{org_id}/domains", response_model=DomainOut, status_code=201)
def add_domain(org_id: Id, body: DomainIn, db: DbSession, who: Writer) -> DomainOut:
    """Add an internal domain; only addresses in these domains are synced."""
    org = ops.get_or_404(db, Organization, org_id, "organization")
    domain = ops.add_domain(db, org, body.name)
    record(db, who, "domain.add", f"{org.name}/{domain.name}")
    return DomainOut.model_validate(domain)


@router.delete("/domains/{domain_id}", status_code=204)
def remove_domain(domain_id: Id, db: DbSession, who: Writer) -> None:
    """Remove an internal domain."""
    domain = ops.get_or_404(db, Domain, domain_id, "domain")
    record(db, who, "domain.remove", f"{domain.organization.name}/{domain.name}")
    db.delete(domain)


@router.get("/organizations/{org_id}/policy-groups", response_model=list[PolicyGroupOut])
def list_policy_groups(org_id: Id, db: DbSession, who: Reader) -> list[PolicyGroupOut]:
    """The organization's policy groups (Main is the default)."""
    ops.get_or_404(db, Organization, org_id, "organization")
    return [PolicyGroupOut.model_validate(g) for g in ops.policy_groups(db, org_id)]


@router.get("/organizations/{org_id}/mailboxes", response_model=PageOut[MailboxOut])
def list_mailboxes(
    org_id: Id,
    db: DbSession,
    who: Reader,
    q: SearchText = "",
    kind: MailboxKind | None = None,
    billable: bool | None = None,
    policy_group_id: QueryId | None = None,
    removed: bool = False,
    sort: SearchText = "",
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[MailboxOut]:
    """Mailboxes by address or name, kind, billable, policy group, removed; ``sort`` names a
    column (address, name, kind, billable, policy_group, last_seen, removed), ``-`` first for
    descending."""
    ops.get_or_404(db, Organization, org_id, "organization")
    f = mailbox_ops.MailboxFilter(q, kind, billable, policy_group_id, removed)
    order = parse_sort(sort, mailbox_ops.COLUMNS, mailbox_ops.DEFAULT_SORT)
    found = mailbox_ops.search_mailboxes(db, org_id, f, page, per_page, order)
    return PageOut.of(found, MailboxOut.model_validate)


@router.get("/organizations/{org_id}/groups", response_model=PageOut[GroupOut])
def list_groups(
    org_id: Id,
    db: DbSession,
    who: Reader,
    q: SearchText = "",
    kind: GroupKind | None = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[GroupOut]:
    """The synced source groups (for picking a task's scope)."""
    ops.get_or_404(db, Organization, org_id, "organization")
    return PageOut.of(ops.list_groups(db, org_id, page, per_page, q, kind), GroupOut.model_validate)


@router.get("/mailboxes/{mailbox_id}", response_model=MailboxDetail)
def get_mailbox(mailbox_id: Id, db: DbSession, who: Reader) -> MailboxDetail:
    """A mailbox with its aliases, policy group and groups."""
    mailbox = ops.get_or_404(db, Mailbox, mailbox_id, "mailbox")
    base = MailboxOut.model_validate(mailbox).model_dump()
    return MailboxDetail(
        **base,
        aliases=[a.address for a in mailbox.aliases],
        policy_group=mailbox.policy_group.name if mailbox.policy_group else None,
        groups=[GroupOut.model_validate(g) for g in ops.groups_of_mailbox(db, mailbox)],
    )


@router.get("/mailboxes/{mailbox_id}/delegates", response_model=list[GrantOut])
def list_delegates(mailbox_id: Id, db: DbSession, who: Super) -> list[GrantOut]:
    """Delegate access on a mailbox with each grant's source (super administrators only)."""
    mailbox = ops.get_or_404(db, Mailbox, mailbox_id, "mailbox")
    return [GrantOut.model_validate(g) for g in ops.grants_of_mailbox(db, mailbox)]


@router.post("/mailboxes/{mailbox_id}/delegates", response_model=GrantOut, status_code=201)
def add_delegate(
    mailbox_id: Id, body: GrantIn, db: DbSession, who: Super, request: Request
) -> GrantOut:
    """Grant a right by hand (origin "manual"; syncs never touch it)."""
    mailbox = ops.get_or_404(db, Mailbox, mailbox_id, "mailbox")
    grant = ops.add_manual_grant(db, mailbox, body.delegate, body.right, who.email)
    record(
        db,
        who,
        "delegate.grant",
        mailbox.primary_address,
        {"delegate": body.delegate.lower(), "right": body.right.value},
    )
    view = next(g for g in ops.grants_of_mailbox(db, mailbox) if g.id == grant.id)
    return GrantOut.model_validate(view)


@router.delete("/delegate-grants/{grant_id}", status_code=204)
def remove_delegate(grant_id: Id, db: DbSession, who: Super) -> None:
    """Remove a manual grant."""
    grant = ops.remove_manual_grant(db, grant_id, who.email)
    record(db, who, "delegate.revoke", str(grant.mailbox_id), {"grant": grant_id})
