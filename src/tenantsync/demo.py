"""`make demo`: a sandbox tenant, the store on SQLite, the syncs (users, permissions,
calendars), then the console.

Everything happens the way an administrator would do it by hand: the demo starts a
sandbox tenant (the local emulator of Microsoft's APIs) over HTTPS, then runs the
`tenantsync` commands one after another, printing each, and ends with `tenantsync serve`
(console, scheduler and worker) until Ctrl-C. Its state lives in ``.demo/`` and is
recreated on every start.

    python -m tenantsync.demo [--mailboxes N] [--port P] [--check]

``--check`` runs every step, waits until the console answers, then stops (for tests).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tenantsync.sandbox import ServedSandbox, create_app, generate_tenant, serve_in_thread
from tenantsync.sandbox.exported_files import export_files
from tenantsync.sandbox.faults import DEFAULT_LATENCY
from tenantsync.sandbox.hybrid import make_hybrid

ADMIN = "admin@demo.invalid"
READER = "reader@demo.invalid"
SEED = 2026


def _document(served: ServedSandbox, secret_file: Path, exported: Path) -> dict[str, Any]:
    """The declarative configuration of the demo organization, as a user would write it."""
    creds = served.credentials()
    domains = list(served.tenant.domains)
    return {
        "organizations": [
            {
                "name": "contoso",
                "display_name": "Contoso (sandbox tenant)",
                "domains": domains,
                "connections": [
                    {
                        "name": "m365",
                        "kind": "m365",
                        "tenant_id": creds["tenant_id"],
                        "client_id": creds["client_id"],
                        "client_secret": {"file": str(secret_file)},
                        "authority_host": creds["authority_host"],
                        "graph_url": creds["graph_url"],
                        "exchange_url": creds["exchange_url"],
                        "ca_file": creds["ca_file"],
                    },
                    # The on-premises side of the hybrid organization: its exported files.
                    {"name": "onprem-files", "kind": "exported_files", "folder": str(exported)},
                ],
                "definitions": [
                    {
                        "name": "users",
                        "type": "user_sync",
                        "options": {
                            "domains": domains,
                            "rules": [
                                {
                                    "name": "sales team",
                                    "field": "department",
                                    "operator": "equals",
                                    "value": "Sales",
                                    "policy_group": "Sales",
                                }
                            ],
                        },
                    },
                    {
                        "name": "permissions",
                        "type": "mailbox_permission_sync",
                        "options": {"send_as": True, "send_on_behalf": True, "concurrency": 8},
                    },
                    {
                        "name": "calendars",
                        "type": "calendar_replication",
                        "options": {"days_back": 30, "days_ahead": 120, "private": "busy"},
                    },
                    {"name": "housekeeping", "type": "housekeeping"},
                    {"name": "cross-premises", "type": "hybrid_report"},
                    {
                        "name": "waves",
                        "type": "migration_batches",
                        "options": {"max_batch_size": 50, "completion_group_size": 20},
                    },
                ],
                "schedules": [
                    {"name": "hourly", "interval": "60m", "timezone": "Europe/Berlin"},
                    {"name": "nightly", "cron": "30 2 * * *", "timezone": "Europe/Berlin"},
                ],
                "tasks": [
                    {
                        "name": "user-sync",
                        "definition": "users",
                        "schedule": "hourly",
                        "connection": "m365",
                    },
                    {
                        "name": "permission-sync",
                        "definition": "permissions",
                        "schedule": "hourly",
                        "connection": "m365",
                    },
                    {
                        "name": "calendar-replication",
                        "definition": "calendars",
                        "schedule": "hourly",
                        "connection": "m365",
                    },
                    {"name": "housekeeping", "definition": "housekeeping", "schedule": "nightly"},
                    {
                        "name": "hybrid-report",
                        "definition": "cross-premises",
                        "connection": "onprem-files",
                    },
                    {
                        "name": "migration-batches",
                        "definition": "waves",
                        "connection": "onprem-files",
                    },
                ],
            }
        ]
    }


class Demo:
    """Runs `tenantsync` commands with the demo's settings, echoing each one."""

    def __init__(self, root: Path, password: str) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "TENANTSYNC_DATA_DIR": str(root / "data"),
            "TENANTSYNC_ADMIN_PASSWORD": password,
        }
        self.env.pop("TENANTSYNC_DATABASE_URL", None)
        self.env.pop("TENANTSYNC_SETTINGS_FILE", None)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tenantsync", *args]

    def run(self, *args: str, allow: tuple[int, ...] = ()) -> None:
        """Run one command; stop the demo unless it succeeded or ended with an allowed code."""
        print(f"\n$ tenantsync {' '.join(args)}", flush=True)
        code = subprocess.call(self.command(*args), env=self.env)
        if code not in (0, *allow):
            raise SystemExit(f"demo: `tenantsync {' '.join(args)}` failed (exit code {code})")


def _wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: the console did not answer at {url} within {timeout:.0f}s")
        time.sleep(0.3)


def _first_person(served: ServedSandbox) -> str:
    """The address of the tenant's first person with a mailbox (to show a calendar's state)."""
    people = [u for u in served.tenant.users.values() if u.mailbox == "user" and u.mail]
    return str(people[0].mail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenantsync-demo", description=__doc__)
    parser.add_argument("--mailboxes", type=int, default=400)
    parser.add_argument("--port", type=int, default=8000, help="console port")
    parser.add_argument("--dir", type=Path, default=Path(".demo"), help="state directory")
    parser.add_argument("--check", action="store_true", help="stop once the console answers")
    args = parser.parse_args(argv)

    root = args.dir.resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    password = secrets.token_urlsafe(12)
    demo = Demo(root, password)

    print(f"Generating a sandbox tenant with {args.mailboxes} mailboxes (seed {SEED})…")
    tenant = generate_tenant(args.mailboxes, SEED)
    # A hybrid organization: most mailboxes still on-premises, their files exported.
    hybrid = make_hybrid(tenant, seed=SEED)
    exported = root / "exported"
    export_files(tenant, hybrid, exported, cloud=False)
    # Microsoft-like latency, a tenth of it: the demo should be quick but not instantaneous.
    app = create_app(tenant, latency={k: v / 10 for k, v in DEFAULT_LATENCY.items()})
    with serve_in_thread(app, data_dir=root / "sandbox") as served:
        secret_file = root / "sandbox" / "client-secret"
        secret_file.write_text(served.credentials()["client_secret"])
        secret_file.chmod(0o600)
        served.write_credentials(root / "sandbox" / "credentials.json")
        config = root / "tenantsync.yaml"
        config.write_text(yaml.safe_dump(_document(served, secret_file, exported), sort_keys=False))
        print(f"Sandbox tenant at {served.base_url} (CA {served.ca_file})")
        print(f"Configuration written to {config}")

        demo.run("init", "--admin", ADMIN)
        demo.run("accounts", "add", READER, "--role", "read_only")
        demo.run("apply", str(config))
        demo.run("task", "run", "user-sync", "--preview", "--wait")
        demo.run("task", "run", "user-sync", "--wait")
        # The sandbox grants rights to orphaned SIDs and outside trustees, as real tenants
        # do: the run reports them as warnings (exit code 10) and skips them.
        demo.run("task", "run", "permission-sync", "--wait", allow=(10,))
        # Every mailbox's calendar into replicas; its owner and delegates get feeds from the
        # mailbox's calendar page (or `tenantsync calendar feed issue`).
        demo.run("task", "run", "calendar-replication", "--wait", allow=(10,))
        demo.run("calendar", "state", _first_person(served))
        # The hybrid report and the migration batches: on-premises from the exported files,
        # the cloud from what the two syncs stored.
        demo.run("hybrid", "plan", "hybrid-report", allow=(10,))
        demo.run("hybrid", "plan", "migration-batches", allow=(10,))
        demo.run("hybrid", "inspect", "migration-batches")
        demo.run("runs", "list")

        url = f"http://127.0.0.1:{args.port}/"
        banner = (
            f"\nConsole: {url}\n"
            f"Sign in as {ADMIN} (super administrator) or {READER} (read-only),"
            f" password: {password}\n"
            f"State: {root} (credentials of the sandbox tenant in "
            f"{root / 'sandbox' / 'credentials.json'})\n"
            f"CLI: TENANTSYNC_DATA_DIR={root / 'data'} .venv/bin/tenantsync runs list\n"
        )
        print(f"\n$ tenantsync serve --port {args.port}", flush=True)
        server = subprocess.Popen(demo.command("serve", "--port", str(args.port)), env=demo.env)
        try:
            _wait_for(url + "signin", 60)
            print(banner, flush=True)
            if args.check:
                summary = {"console": url, "admin": ADMIN, "sandbox": served.base_url}
                print(json.dumps(summary), flush=True)
                return 0
            print("Ctrl-C stops the console and the sandbox.", flush=True)
            return server.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
