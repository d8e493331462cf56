"""Writing an organization back in the configuration file format (secrets as references)."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.config.diff import secret_sources
from tenantsync.config.schema import SecretRef, format_interval
from tenantsync.connectors.kinds import connection_kind
from tenantsync.store.directory import organization_by_name
from tenantsync.store.internal import shown
from tenantsync.store.models import Connection, Definition, Schedule, ScheduledTask
from tenantsync.store.secretbox import SecretBox


def export_organization(session: Session, name: str, *, box: SecretBox | None = None) -> str:
    """The YAML document that recreates organization ``name``; with the ``box``, a secret
    stored without a reference (entered in the console) is written as ``{stored: true}``,
    which ``apply`` keeps as stored."""
    org = organization_by_name(session, name)

    def rows(model: Any) -> list[Any]:
        query = select(model).where(model.organization_id == org.id).order_by(model.name)
        if model in (Definition, ScheduledTask):
            query = query.where(shown(model))  # the console's own health checks stay out
        return list(session.scalars(query))

    conns = rows(Connection)
    defs = rows(Definition)
    scheds = rows(Schedule)
    tasks = rows(ScheduledTask)
    names = {
        "connection": {c.id: c.name for c in conns},
        "definition": {d.id: d.name for d in defs},
        "schedule": {s.id: s.name for s in scheds},
    }
    out: dict[str, Any] = {"name": org.name}
    if org.display_name and org.display_name != org.name:
        out["display_name"] = org.display_name
    out["domains"] = [d.name for d in org.domains]
    out["connections"] = [_connection(c, box) for c in conns]
    out["definitions"] = [
        {"name": d.name, "type": d.type, **({"options": d.options} if d.options else {})}
        for d in defs
    ]
    out["schedules"] = [_schedule(s) for s in scheds]
    out["tasks"] = [_task(t, names) for t in tasks]
    return yaml.safe_dump({"organizations": [out]}, sort_keys=False, allow_unicode=True)


def _connection(conn: Connection, box: SecretBox | None) -> dict[str, Any]:
    """The connection's entry: its kind's parameters where they differ from the defaults,
    then each secret's reference (``{stored: true}``: kept in this database only)."""
    params = connection_kind(conn.kind).stored_params(conn.params)
    out: dict[str, Any] = {"name": conn.name, "kind": conn.kind}
    out.update(params.model_dump(mode="json", exclude_defaults=True))
    refs = secret_sources(conn)
    stored = sorted(box.decrypt(conn.secret_ciphertext)) if box and conn.secret_ciphertext else []
    for key in sorted({*refs, *stored}):
        ref = refs.get(key)
        out[key] = (
            {"stored": True} if ref is None else SecretRef.parse(ref).model_dump(exclude_none=True)
        )
    return out


def _schedule(s: Schedule) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name}
    if s.interval_seconds is not None:
        out["interval"] = format_interval(s.interval_seconds)
    if s.cron is not None:
        out["cron"] = s.cron
    if s.timezone != "UTC":
        out["timezone"] = s.timezone
    if s.window_start is not None and s.window_end is not None:
        out["window"] = {
            "start": s.window_start.strftime("%H:%M"),
            "end": s.window_end.strftime("%H:%M"),
        }
    if s.weekdays:
        out["weekdays"] = s.weekdays.split(",")
    return out


def _task(t: ScheduledTask, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t.name, "definition": names["definition"][t.definition_id]}
    if t.schedule_id is not None:
        out["schedule"] = names["schedule"][t.schedule_id]
    if t.connection_id is not None:
        out["connection"] = names["connection"][t.connection_id]
    out["scope"] = "all" if t.scope_kind == "all" else {t.scope_kind: t.scope_value}
    if not t.enabled:
        out["enabled"] = False
    return out
