"""Sandbox tenant: generation time and peak memory for N mailboxes, and the request
throughput of Graph user pages next to a floor.

The sandbox is generated in a child process (time of `generate_tenant`, peak RSS of that
process after generating) which then serves it over HTTPS on loopback (uvicorn, latency 0,
no faults). The load comes from this process: httpx with C concurrent connections walking
every `/v1.0/users?$top=999&$select=…` page of the tenant, repeatedly. The floor is a bare
ASGI endpoint in another child process, served the same way (uvicorn, same TLS
certificate), returning the very same bytes for the same URLs; the ratio is floor
throughput / sandbox throughput (1.0 would mean the sandbox costs nothing over I/O).
The sandbox keeps each user's rendered JSON per $select until that user changes, so the
repeated reads are served warm; the first walk through the pages (cold, sequential, as a
sync engine's full read goes) is printed too.

    python bench/sandbox.py [--mailboxes N] [--requests R] [--concurrency C] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import resource
import ssl
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# bench/queue.py would shadow the stdlib `queue`: keep this folder off sys.path.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import httpx  # noqa: E402

SELECT = "id,displayName,userPrincipalName,mail,proxyAddresses,accountEnabled,userType"
TARGET_SECONDS = 60.0
TARGET_MB = 2048.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _serve_sandbox(mailboxes: int, data_dir: str, pipe: Connection) -> None:
    """Child: generate, report time and peak memory, serve until told to stop."""
    from tenantsync.sandbox import create_app, generate_tenant, serve_in_thread

    started = time.perf_counter()
    tenant = generate_tenant(mailboxes, seed=1)
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    gc.collect()
    gc.freeze()  # as `tenantsync sandbox serve` does: the tenant lives as long as the process
    counts = tenant.permission_counts()
    app = create_app(tenant, latency=0)
    with serve_in_thread(app, data_dir=data_dir) as served:
        pipe.send(
            {
                "seconds": seconds,
                "peak_mb": peak,
                "users": len(tenant.users),
                "groups": len(tenant.groups),
                "permissions": counts["total"],
                "explicit_full_access": counts["mailbox_permission_explicit"],
                "credentials": served.credentials(),
            }
        )
        pipe.recv()


def _serve_floor(pages: dict[str, bytes], data_dir: str, pipe: Connection) -> None:
    """Child: a bare ASGI app answering each known URL with its recorded bytes."""
    from tenantsync.sandbox import serve_in_thread

    headers = [(b"content-type", b"application/json;odata.metadata=minimal;charset=utf-8")]

    async def floor(scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = scope["path"] + (
            "?" + scope["query_string"].decode() if scope["query_string"] else ""
        )
        body = pages.get(key, b"{}")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    with serve_in_thread(floor, data_dir=data_dir) as served:  # type: ignore[arg-type]
        pipe.send({"base_url": served.base_url})
        pipe.recv()


def _start(target: Any, *args: Any) -> tuple[mp.process.BaseProcess, Connection, dict[str, Any]]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(*args, child), daemon=True)
    proc.start()
    info: dict[str, Any] = parent.recv()
    return proc, parent, info


def _stop(proc: mp.process.BaseProcess, pipe: Connection) -> None:
    pipe.send("stop")
    proc.join(timeout=30)


async def _walk(base: str, tls: ssl.SSLContext, auth: dict[str, str]) -> dict[str, bytes]:
    """Every user page's path+query and bytes, following nextLinks."""
    pages: dict[str, bytes] = {}
    url: str | None = f"{base}/v1.0/users?$top=999&$select={SELECT}"
    async with httpx.AsyncClient(verify=tls, timeout=120) as http:
        while url:
            response = await http.get(url, headers=auth)
            response.raise_for_status()
            key = url[len(base) :]
            pages[key] = response.content
            url = response.json().get("@odata.nextLink")
    return pages


async def _load(
    base: str, paths: list[str], tls: ssl.SSLContext, auth: dict[str, str], requests: int, conc: int
) -> tuple[float, int]:
    """Requests per second and bytes read for `requests` GETs over `conc` connections."""
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    counter = iter(range(requests))
    total = 0

    async with httpx.AsyncClient(verify=tls, timeout=120, limits=limits) as http:

        async def worker() -> None:
            nonlocal total
            for n in counter:
                response = await http.get(base + paths[n % len(paths)], headers=auth)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
                total += len(response.content)

        await http.get(base + paths[0], headers=auth)  # warm the connection pool
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, total


def _token(creds: dict[str, str], tls: ssl.SSLContext) -> dict[str, str]:
    response = httpx.post(
        creds["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.mailboxes, args.requests = 3000, 60
    with tempfile.TemporaryDirectory() as data_dir:
        print(f"sandbox benchmark: {args.mailboxes:,} mailboxes", flush=True)
        sbx_proc, sbx_pipe, info = _start(_serve_sandbox, args.mailboxes, data_dir)
        try:
            creds = info["credentials"]
            tls = ssl.create_default_context(cafile=creds["ca_file"])
            ok = info["seconds"] < TARGET_SECONDS and info["peak_mb"] < TARGET_MB
            print(
                f"  generation: {info['seconds']:.1f} s, peak memory {info['peak_mb']:.0f} MB "
                f"(target < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB: "
                f"{'met' if ok else 'MISSED'})"
            )
            print(
                f"  tenant: {info['users']:,} users, {info['groups']:,} groups, "
                f"{info['permissions']:,} permission entries served "
                f"({info['explicit_full_access']:,} explicit Full Access)"
            )
            auth = _token(creds, tls)
            started = time.perf_counter()
            pages = asyncio.run(_walk(creds["authority_host"], tls, auth))
            cold_rps = len(pages) / (time.perf_counter() - started)
            paths = list(pages)
            size = sum(len(b) for b in pages.values()) / len(pages)
            print(f"  user pages: {len(pages)} of up to 999 users, {size / 1024:.0f} KiB each")
            sandbox_rps, _ = asyncio.run(
                _load(creds["authority_host"], paths, tls, auth, args.requests, args.concurrency)
            )
        finally:
            _stop(sbx_proc, sbx_pipe)
        floor_proc, floor_pipe, floor = _start(_serve_floor, pages, data_dir)
        try:
            floor_rps, _ = asyncio.run(
                _load(floor["base_url"], paths, tls, auth, args.requests, args.concurrency)
            )
        finally:
            _stop(floor_proc, floor_pipe)
    print(
        f"  throughput ({args.requests} page GETs, {args.concurrency} connections, HTTPS):\n"
        f"    sandbox {sandbox_rps:8.1f} pages/s  ({sandbox_rps * size / 2**20:6.1f} MiB/s)"
        f"  users rendered once, then served from its render cache\n"
        f"    (first read of each page, one connection, nextLink by nextLink: "
        f"{cold_rps:.1f} pages/s)\n"
        f"    floor   {floor_rps:8.1f} pages/s  ({floor_rps * size / 2**20:6.1f} MiB/s)"
        f"  bare ASGI endpoint, same bytes\n"
        f"    ratio   {floor_rps / sandbox_rps:8.2f}x  (floor / sandbox)"
    )


if __name__ == "__main__":
    main()
