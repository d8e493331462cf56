"""User sync: a full sync of an N-mailbox sandbox tenant, then a delta run after 1% of the
users changed, each beside its floor measured in the same run.

The sandbox is generated in a child process and served there over HTTPS on loopback
(uvicorn, its own CA, latency 0 unless --latency is given), so its CPU does not share this
process's interpreter. Each sync is the shipped handler run through the worker, as
`tenantsync task run` does it: MSAL token, Graph users and groups delta rounds, Exchange
Get-Mailbox / Get-DistributionGroup / Get-DynamicDistributionGroup (+ members), plan,
apply into SQLite. The floor is the same Graph and Exchange pages read with bare httpx
and no processing (the same streams side by side, as the sync reads them; on the delta
run also the $batch of mailbox settings of the changed users); the ratio is sync time /
floor time. Peak memory is this process's peak RSS.

It also times the peer: Microsoft's Graph SDK (msgraph-sdk + azure-identity) listing the
same users with the same page size and $select, nothing else. The peer gets as long as our
whole full sync took: if it has not listed every user by then, the sync is faster than the
peer's listing alone, and the figure printed is how far it got and its projected total.
--peer-full lets it finish (about 20 minutes at 100,000 users); --no-peer skips it.

    python bench/user_sync.py [--mailboxes N] [--latency SECONDS] [--no-peer | --peer-full]
                              [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import ssl
import sys
import tempfile
import time
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# bench/queue.py would shadow the stdlib `queue`: keep this folder off sys.path.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import httpx  # noqa: E402

from bench.support.memory import peak_mb, reset_peak  # noqa: E402
from tenantsync.connectors.exchange import GROUP_FIELDS, MAILBOX_FIELDS  # noqa: E402
from tenantsync.connectors.graph_items import GROUP_SELECT, USER_SELECT  # noqa: E402
from tenantsync.engine.registry import default_registry  # noqa: E402
from tenantsync.settings import Settings  # noqa: E402
from tenantsync.store.database import Database  # noqa: E402
from tenantsync.store.directory import create_organization  # noqa: E402
from tenantsync.store.models import (  # noqa: E402
    Connection,
    Definition,
    Domain,
    Run,
    ScheduledTask,
    Trigger,
)
from tenantsync.store.secretbox import SecretBox  # noqa: E402
from tenantsync.worker import queue  # noqa: E402
from tenantsync.worker.runner import Worker  # noqa: E402

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
TARGET_RATIO = 2.0
PAGE = 999  # users per Graph page, for the sync, the floor and the peer
TARGET_DELTA_SHARE = 0.05


def _serve(mailboxes: int, latency: float, data_dir: str, pipe: Pipe) -> None:
    """Child: generate the tenant, serve it, apply changes on request, stop when told."""
    from tenantsync.sandbox import create_app, generate_tenant, serve_in_thread

    tenant = generate_tenant(mailboxes, seed=1)
    app = create_app(tenant, latency=latency)
    with serve_in_thread(app, data_dir=data_dir) as served:
        pipe.send(
            {
                "credentials": served.credentials(),
                "domains": list(tenant.domains),
                "users": len(tenant.users),
                "groups": len(tenant.groups),
                "dynamic": len(tenant.dynamic_groups),
            }
        )
        while True:
            message = pipe.recv()
            if message == "stop":
                return
            share = float(message)
            people = [u.id for u in tenant.users.values() if u.mailbox == "user"]
            step = max(1, int(1 / share))
            changed = people[::step]
            for n, uid in enumerate(changed):
                tenant.update_user(uid, display_name=f"Changed Person {n}")
            pipe.send(len(changed))


def setup_store(db: Database, settings: Settings, info: dict[str, Any]) -> int:
    """An organization with the tenant's domains, a connection and a user sync task."""
    creds = info["credentials"]
    box = SecretBox.from_key_file(settings.effective_key_file, create=True)
    with db.session() as s:
        org = create_organization(s, "bench")
        for domain in info["domains"]:
            s.add(Domain(organization_id=org.id, name=domain))
        keys = ("tenant_id", "client_id", "authority_host", "graph_url", "exchange_url", "ca_file")
        connection = Connection(
            organization_id=org.id,
            name="sandbox",
            kind="m365",
            params={k: creds[k] for k in keys},
            secret_ciphertext=box.encrypt({"client_secret": creds["client_secret"]}),
        )
        definition = Definition(organization_id=org.id, name="users", type="user_sync")
        s.add_all([connection, definition])
        s.flush()
        task = ScheduledTask(
            organization_id=org.id,
            name="users",
            definition_id=definition.id,
            connection_id=connection.id,
        )
        s.add(task)
        s.flush()
        return task.id


def run_sync(db: Database, settings: Settings, task_id: int) -> tuple[float, dict[str, Any]]:
    """One run of the task through the worker; seconds and counts."""
    with db.session() as s:
        run_id = queue.enqueue(s, s.get_one(ScheduledTask, task_id), Trigger.MANUAL).id
    worker = Worker(db, settings, default_registry())
    start = time.perf_counter()
    assert worker.step(run_id)
    elapsed = time.perf_counter() - start
    with db.session() as s:
        run = s.get_one(Run, run_id)
        if run.status.value != "succeeded":
            raise SystemExit(f"run {run_id} {run.status.value}: {run.error}")
        return elapsed, dict(run.counts)


async def floor_reads(creds: dict[str, str], delta_links: dict[str, str] | None) -> float:
    """The sync's reads with bare httpx: token, delta rounds, Exchange listings; seconds."""
    context = ssl.create_default_context(cafile=creds["ca_file"])
    base = creds["graph_url"]
    invoke = creds["exchange_invoke_url"]
    start = time.perf_counter()
    async with httpx.AsyncClient(verify=context, trust_env=False, timeout=120) as http:

        async def token(scope: str) -> dict[str, str]:
            answer = await http.post(
                creds["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                    "scope": scope,
                },
            )
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        graph, exchange = await asyncio.gather(token(GRAPH_SCOPE), token(EXCHANGE_SCOPE))
        graph["Prefer"] = f"odata.maxpagesize={PAGE}"

        async def pages(url: str) -> list[str]:
            link: str | None = url
            ids: list[str] = []
            while link is not None:
                body = (await http.get(link, headers=graph)).json()
                ids.extend(item["id"] for item in body["value"] if "@removed" not in item)
                link = body.get("@odata.nextLink")
            return ids

        async def purposes(ids: list[str]) -> None:
            for i in range(0, len(ids), 20):
                requests = [
                    {"id": str(n), "method": "GET", "url": f"/users/{uid}/mailboxSettings"}
                    for n, uid in enumerate(ids[i : i + 20])
                ]
                await http.post(f"{base}/v1.0/$batch", json={"requests": requests}, headers=graph)

        async def changed_users() -> None:
            assert delta_links is not None
            await purposes(await pages(delta_links["users"]))

        async def cmdlet(
            name: str, parameters: dict[str, Any], select: tuple[str, ...]
        ) -> list[Any]:
            # The same $select as the connector: the floor reads what the sync reads.
            body = {"CmdletInput": {"CmdletName": name, "Parameters": parameters}}
            link: str | None = f"{invoke}?$select={','.join(select)}"
            items: list[Any] = []
            while link:
                answer = (await http.post(link, json=body, headers=exchange)).json()
                items.extend(answer.get("value", []))
                link = answer.get("@odata.nextLink")
            return items

        async def exchange_groups() -> None:
            unlimited = {"ResultSize": "Unlimited"}
            await cmdlet("Get-DistributionGroup", unlimited, GROUP_FIELDS)
            dynamic = await cmdlet("Get-DynamicDistributionGroup", unlimited, GROUP_FIELDS)
            if delta_links is None:
                await asyncio.gather(
                    *(
                        cmdlet(
                            "Get-DynamicDistributionGroupMember",
                            {"Identity": d["PrimarySmtpAddress"], "ResultSize": "Unlimited"},
                            ("ExternalDirectoryObjectId",),
                        )
                        for d in dynamic
                    )
                )

        if delta_links is None:
            users = f"{base}/v1.0/users/delta?$select={','.join(USER_SELECT)}"
            groups = f"{base}/v1.0/groups/delta?$select={','.join((*GROUP_SELECT, 'members'))}"
            await asyncio.gather(
                pages(users),
                pages(groups),
                cmdlet("Get-Mailbox", {"ResultSize": "Unlimited"}, MAILBOX_FIELDS),
                exchange_groups(),
            )
        else:
            await asyncio.gather(changed_users(), pages(delta_links["groups"]), exchange_groups())
    return time.perf_counter() - start


async def peer_listing(creds: dict[str, str], budget: float | None) -> tuple[int, float]:
    """Microsoft's Graph SDK (msgraph-sdk, azure-identity) listing the same users, PAGE to a page.

    Stops at the first page boundary after ``budget`` seconds (None: lists everyone);
    returns the users listed and the seconds taken.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from azure.identity.aio import ClientSecretCredential
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph.generated.users.users_request_builder import UsersRequestBuilder
        from msgraph_core import GraphClientFactory, PageIterator

    start = time.perf_counter()
    credential = ClientSecretCredential(
        creds["tenant_id"],
        creds["client_id"],
        creds["client_secret"],
        authority=creds["authority_host"],
        connection_verify=creds["ca_file"],
        disable_instance_discovery=True,
    )
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE])
    tls = ssl.create_default_context(cafile=creds["ca_file"])
    client = httpx.AsyncClient(verify=tls, trust_env=False, timeout=120)
    adapter = GraphRequestAdapter(
        auth, client=GraphClientFactory.create_with_default_middleware(client=client)
    )
    adapter.base_url = creds["graph_v1_url"]
    graph = GraphServiceClient(request_adapter=adapter)
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        top=PAGE, select=list(USER_SELECT)
    )
    seen = 0

    def count(_user: object) -> bool:
        nonlocal seen
        seen += 1
        # Stop only where a page ends, so the pace is that of whole pages.
        return budget is None or seen % PAGE != 0 or time.perf_counter() - start < budget

    try:
        first = await graph.users.get(RequestConfiguration(query_parameters=query))
        await PageIterator(first, graph.request_adapter).iterate(count)
    finally:
        await credential.close()
        await client.aclose()
    return seen, time.perf_counter() - start


def print_peer(creds: dict[str, str], users: int, full: float, budget: float | None) -> None:
    """Time the peer's listing (within ``budget`` seconds) and print it beside the sync."""
    listed, peer = asyncio.run(peer_listing(creds, budget))
    if listed >= users:
        print(
            f"  peer       {peer:7.2f} s  msgraph-sdk listing all {listed} users alone "
            f"(the full sync is {peer / full:.1f}x faster)"
        )
        return
    projected = peer * users / max(listed, 1)
    print(
        f"  peer       {peer:7.2f} s  msgraph-sdk listed {listed} of {users} users in the time "
        f"the whole full sync took; at that pace it lists them all in {projected:.0f} s "
        f"(the full sync is about {projected / full:.1f}x faster)"
    )


def saved_links(db: Database, task_id: int) -> dict[str, str]:
    """The delta links the last sync saved (the floor's delta reads start from them)."""
    from tenantsync.store.models import SyncState

    with db.session() as s:
        state = s.get_one(SyncState, (task_id, "user_sync")).value
    return {"users": state["users_delta"], "groups": state["groups_delta"]}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print full and delta sync times beside their floors."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.0, help="sandbox seconds per call")
    parser.add_argument("--quick", action="store_true", help="300 mailboxes (smoke run)")
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument("--no-peer", action="store_true", help="do not time msgraph-sdk")
    peer.add_argument(
        "--peer-full", action="store_true", help="let msgraph-sdk list every user (slow)"
    )
    args = parser.parse_args(argv)
    size = 300 if args.quick else args.mailboxes
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        parent, child = ctx.Pipe()
        server = ctx.Process(target=_serve, args=(size, args.latency, tmp, child), daemon=True)
        server.start()
        info: dict[str, Any] = parent.recv()
        creds = info["credentials"]
        print(
            f"user sync: {info['users']} users, {info['groups']} groups, {info['dynamic']} "
            f"dynamic groups; sandbox over HTTPS in a child process, latency {args.latency} s; "
            "floor = the same pages read with bare httpx"
        )
        try:
            settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
            db = Database.from_settings(settings)
            db.upgrade()
            task_id = setup_store(db, settings, info)
            floor = asyncio.run(floor_reads(creds, None))
            reset_peak()
            full, counts = run_sync(db, settings, task_id)
            print(
                f"  full sync  {full:7.2f} s  floor {floor:6.2f} s  {full / floor:5.2f}x the floor "
                f"(target < {TARGET_RATIO:g}x)  {counts['mailboxes_added']} mailboxes added, "
                f"peak RSS {peak_mb():.0f} MB"
            )
            if not args.no_peer:
                print_peer(creds, info["users"], full, None if args.peer_full else full)
            links = saved_links(db, task_id)
            parent.send(0.01)
            changed = parent.recv()
            delta_floor = asyncio.run(floor_reads(creds, links))
            delta, counts = run_sync(db, settings, task_id)
            print(
                f"  delta sync {delta:7.2f} s  floor {delta_floor:6.2f} s  "
                f"{delta / delta_floor:5.2f}x the floor; {delta / full:6.1%} of the full sync "
                f"(target < {TARGET_DELTA_SHARE:.0%}) after {changed} users changed "
                f"({counts['read']} read, {counts['mailboxes_updated']} updated)"
            )
            db.dispose()
        finally:
            parent.send("stop")
            server.join(timeout=30)


if __name__ == "__main__":
    main()
