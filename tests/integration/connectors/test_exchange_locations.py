"""Where a mailbox lives, as Exchange says it: a Remote* recipient type keeps the mailbox's
kind and makes it remote; every other mailbox Exchange Online lists is in the cloud."""

from __future__ import annotations

import asyncio

from tenantsync.connectors import Credential, FormTokenSource, HttpClient, HttpOptions
from tenantsync.connectors.exchange import ExchangeClient
from tenantsync.model import Location, MailboxInfo, MailboxKind
from tenantsync.sandbox import asgi_transport, create_app, generate_tenant

BASE = {
    "user": "UserMailbox",
    "shared": "SharedMailbox",
    "room": "RoomMailbox",
    "equipment": "EquipmentMailbox",
    "scheduling": "SchedulingMailbox",
}


def test_remote_mailboxes_keep_their_kind_and_are_read_as_remote() -> None:
    tenant = generate_tenant(80, seed=21)
    remote = {
        kind: sorted(uid for uid, u in tenant.users.items() if u.mailbox == kind)[0]
        for kind in ("user", "shared", "room", "equipment")
    }
    for uid in remote.values():
        tenant.set_remote_mailbox(uid)
    http = HttpClient(
        HttpOptions(max_attempts=2), transport=asgi_transport(create_app(tenant, latency=0))
    )

    async def run() -> tuple[dict[str, MailboxInfo], MailboxInfo | None]:
        async with http:
            tokens = FormTokenSource(
                http,
                tenant_id=tenant.tenant_id,
                client_id=tenant.client_id,
                credential=Credential(client_secret=tenant.client_secret),
                authority_host="https://sandbox",
            )
            exchange = ExchangeClient(
                http, tokens, exchange_url="https://sandbox", tenant_id=tenant.tenant_id
            )
            listed = {m.source_id: m async for page in exchange.mailboxes() for m in page}
            return listed, await exchange.mailbox(remote["room"])

    listed, one = asyncio.run(run())
    for kind, uid in remote.items():
        assert listed[uid].kind is MailboxKind(kind)
        assert listed[uid].location is Location.REMOTE
        assert listed[uid].recipient_type == f"Remote{BASE[kind]}"
    assert one == listed[remote["room"]]
    others = [m for uid, m in listed.items() if uid not in remote.values()]
    assert others and all(m.location is Location.CLOUD for m in others)
    assert all(m.recipient_type == BASE[m.kind.value] for m in others)
