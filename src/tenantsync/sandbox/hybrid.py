"""A hybrid organization on top of a sandbox tenant: a share of the mailboxes lives
on-premises (Exchange Online shows each as a remote mailbox), every user is synchronized
from Active Directory (a SAM account name, a DN, a SID), the on-premises Exchange has a
version and the ACLable object synchronization switch, and service accounts hold Full
Access on every mailbox. The exported files of such an organization are written by
:mod:`tenantsync.sandbox.exported_files`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from tenantsync.sandbox import names
from tenantsync.sandbox.entities import FULL_ACCESS, OnPremises, User
from tenantsync.sandbox.ids import domain_sid, immutable_id
from tenantsync.sandbox.recipients import REMOTE_KINDS
from tenantsync.sandbox.tenant import SandboxTenant


@dataclass
class HybridState:
    """What makes a sandbox tenant hybrid: which mailboxes are on-premises and the
    on-premises organization's facts."""

    on_premises: set[str] = field(default_factory=set)
    exchange_version: tuple[int, int, int, int] = (15, 1, 2507, 6)
    aclable_sync: bool = True
    netbios: str = "CORP"
    ad_domain: str = "corp.example.com"
    service_accounts: list[str] = field(default_factory=list)

    def lives_on_premises(self, user: User) -> bool:
        """Whether a user's mailbox is on-premises."""
        return user.id in self.on_premises


def make_hybrid(
    tenant: SandboxTenant,
    *,
    seed: int = 0,
    on_premises_share: float = 0.6,
    exchange_version: tuple[int, int, int, int] = (15, 1, 2507, 6),
    aclable_sync: bool = True,
    service_accounts: int = 1,
) -> HybridState:
    """Make ``tenant`` a hybrid organization; deterministic from ``seed``."""
    rng = random.Random(seed)
    slug = names.ascii_fold(tenant.organization_name).lower()
    state = HybridState(
        exchange_version=exchange_version,
        aclable_sync=aclable_sync,
        netbios=slug.upper()[:15],
        ad_domain=f"corp.{slug}.com",
    )
    sid = domain_sid(rng)
    people = [u for u in tenant.users.values() if u.mailbox is not None]
    for user in people:
        if user.on_premises is None:
            user.on_premises = OnPremises(
                security_identifier=f"{sid}-{2000 + user.index}",
                sam_account_name=user.mail_nickname[:20],
                distinguished_name=f"CN={user.display_name},OU=Users,DC=corp,DC={slug},DC=com",
                domain_name=state.ad_domain,
                netbios_name=state.netbios,
                immutable_id=immutable_id(rng),
                last_sync=user.created + timedelta(days=1),
            )
        if user.mailbox in REMOTE_KINDS and rng.random() < on_premises_share:
            state.on_premises.add(user.id)
            # Exchange Online shows a mailbox that lives on-premises as a remote one.
            tenant.set_remote_mailbox(user.id)
    workers = [u for u in people if u.mailbox == "user"]
    for account in workers[:service_accounts]:
        state.service_accounts.append(account.id)
        for mailbox in people:
            if mailbox.id != account.id:
                tenant.full_access.setdefault(mailbox.id, []).append(
                    (account.id, FULL_ACCESS, False)
                )
    return state
