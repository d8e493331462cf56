"""Definitions (a form per registered type, errors next to each field) and schedules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantsync.console.api.schemas import Id, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageWriter, Principal
from tenantsync.console.ops import tasks as ops
from tenantsync.console.ops.directory import get_or_404, policy_groups
from tenantsync.console.ops.errors import FieldErrors, field_errors, plain_path
from tenantsync.console.ops.options import (
    OptionField,
    option_fields,
    options_from_form,
    values_of,
)
from tenantsync.console.ops.rule_matches import Matches, count_matches
from tenantsync.console.ops.rule_rows import (
    EXCLUDE,
    NEW_GROUP,
    RuleRow,
    act,
    row_errors,
    rows_from_form,
    rows_of,
)
from tenantsync.console.ops.zones import zone_names
from tenantsync.console.pages.render import form_data, redirect, render, saved_notice
from tenantsync.console.state import state_of
from tenantsync.engine.registry import Registry
from tenantsync.engine.user_sync.options import OPERATORS, RULE_FIELDS, FilterRule
from tenantsync.errors import ConfigError
from tenantsync.store.models import Definition, Organization, Schedule
from tenantsync.timeutil import utcnow
from tenantsync.worker.scheduler import timing_of
from tenantsync.worker.timing import DAY_NAMES, UNITS, WEEKDAYS, Timing, interval_in_unit

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


def _definition_form(
    request: Request,
    db: DbSession,
    me: Principal,
    org: Organization,
    type_name: str,
    definition: Definition | None,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    rows: list[RuleRow] | None = None,
    focus: str = "",
) -> HTMLResponse:
    registry = state_of(request).registry
    types = [registry.get(n) for n in registry.names()]
    fields = (
        option_fields(registry.get(type_name).options_model)
        if type_name in registry.names()
        else []
    )
    builder = None
    if _has_rules(registry, type_name):
        groups = [g.name for g in policy_groups(db, org.id)]
        if rows is None:
            rows = rows_of(_rules_in(values.get("opt.rules", "")), groups)
        on_rows, errors = row_errors(errors, len(rows))
        counts = count_matches(db, org.id, [r.to_rule() for r in rows])
        chosen = set(_picked_domains(values) if "domains_picker" in values else _list_in(values))
        domains = sorted({d.name for d in org.domains} | chosen)
        builder = RuleBuilder(rows, on_rows, counts, groups, focus, domains, chosen)
    return render(
        request,
        "definition.html",
        me,
        status,
        org=org,
        definition=definition,
        types=types,
        type_name=type_name,
        fields=fields,
        values=values,
        errors=_next_to_fields(errors, fields),
        builder=builder,
        rule_fields=RULE_FIELDS,
        operators=OPERATORS,
        new_group=NEW_GROUP,
        exclude=EXCLUDE,
    )


@dataclass(frozen=True)
class RuleBuilder:
    """What the rule builder shows: the rows, errors by row, the live counts, the groups."""

    rows: list[RuleRow]
    errors: dict[int, str]
    counts: Matches
    groups: list[str]
    focus: str
    domains: list[str]  # the organization's, to tick (and any the options name besides)
    chosen: set[str]


def _has_rules(registry: Registry, type_name: str) -> bool:
    """Whether a type's options hold filter rules (the builder replaces their JSON)."""
    if type_name not in registry.names():
        return False
    rules = registry.get(type_name).options_model.model_fields.get("rules")
    return rules is not None and rules.annotation == list[FilterRule]


def _json_list(text: str) -> list[Any]:
    try:
        value = json.loads(text) if text.strip() else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _rules_in(text: str) -> list[dict[str, Any]]:
    return [r for r in _json_list(text) if isinstance(r, dict)]


def _list_in(values: dict[str, str]) -> list[str]:
    """The domains the options name (the form's JSON field)."""
    return [d for d in _json_list(values.get("opt.domains", "")) if isinstance(d, str)]


def _picked_domains(form: dict[str, str]) -> list[str]:
    """The domains ticked in the form."""
    return sorted(
        k.removeprefix("domain.") for k, v in form.items() if k.startswith("domain.") and v
    )


def _next_to_fields(errors: dict[str, str], fields: list[OptionField]) -> dict[str, str]:
    """Errors keyed by the input they belong to: a nested one ("opt.rules.0.operator") goes
    next to its top-level field, and one of no field to the top of the form ("_")."""
    known = {"name", "type", *(f"opt.{f.name}" for f in fields)}
    shown: dict[str, str] = {}
    other: list[str] = []
    for key, message in errors.items():
        head, _, rest = key.partition(".")
        field, _, path = rest.partition(".") if head == "opt" else ("", "", "")
        if key in known:
            shown.setdefault(key, message)
        elif field and f"opt.{field}" in known:
            where = plain_path(path.split("."), within=field.replace("_", " "))
            # A message that names its rule already ("rule 1 (finance): …") needs no path.
            named = message.startswith(where.split(",")[0])
            shown.setdefault(f"opt.{field}", message if named else f"{where}: {message}")
        else:
            where = plain_path(rest.split(".")) if head == "opt" else key
            other.append(message if key == "_" else f"{where}: {message}")
    if other:
        shown["_"] = "; ".join(other)
    return shown


@router.get("/organizations/{org_id}/definitions/new", response_class=HTMLResponse)
def new_definition(
    request: Request,
    org_id: Id,
    db: DbSession,
    me: PageWriter,
    type: SearchText = "",
) -> HTMLResponse:
    """Pick a type, then fill in its options."""
    org = get_or_404(db, Organization, org_id, "organization")
    registry = state_of(request).registry
    values: dict[str, str] = {}
    if type in registry.names():
        values = {f"opt.{k}": v for k, v in values_of(registry.get(type).options_model, {}).items()}
    return _definition_form(request, db, me, org, type, None, values, {})


def _save(
    request: Request, db: DbSession, org: Organization, form: dict[str, str], d: Definition | None
) -> ops.Saved[Definition]:
    registry = state_of(request).registry
    type_name = d.type if d else form.get("type", "")
    if type_name not in registry.names():
        raise FieldErrors({"type": "pick a type"})
    if "rules_builder" in form:  # the builder's rows, not JSON, say the rules
        rows = rows_from_form(form)
        form = {**form, "opt.rules": json.dumps([r.to_rule() for r in rows], ensure_ascii=False)}
    if "domains_picker" in form:  # ticked boxes, not JSON, say the domains
        form = {**form, "opt.domains": json.dumps(_picked_domains(form), ensure_ascii=False)}
    try:
        options = options_from_form(registry.get(type_name).options_model, form)
    except FieldErrors as exc:
        errors = {f"opt.{k}": v for k, v in exc.errors.items()}
        try:
            ops.check_name(db, Definition, org.id, form.get("name", ""), d.id if d else None)
        except FieldErrors as name_error:
            errors.update(name_error.errors)
        raise FieldErrors(errors) from None
    return ops.save_definition(db, registry, org.id, form.get("name", ""), type_name, options, d)


def _posted_rows(request: Request, form: dict[str, str]) -> list[RuleRow] | None:
    """The builder's rows as posted (None: the form had no builder)."""
    return rows_from_form(form) if "rules_builder" in form else None


def _rule_action(
    request: Request,
    db: DbSession,
    me: Principal,
    org: Organization,
    type_name: str,
    d: Definition | None,
    form: dict[str, str],
) -> HTMLResponse:
    """Add, remove or move a rule row; nothing is saved until Save."""
    rows, focus = act(rows_from_form(form), form.get("rule_action", ""))
    return _definition_form(request, db, me, org, type_name, d, form, {}, 200, rows, focus)


@router.get("/organizations/{org_id}/rule-matches")
def rule_matches(request: Request, org_id: Id, db: DbSession, me: PageReader) -> dict[str, Any]:
    """How many stored mailboxes each posted rule row would route (the builder's count)."""
    org = get_or_404(db, Organization, org_id, "organization")
    rows = rows_from_form(dict(request.query_params))
    return count_matches(db, org.id, [r.to_rule() for r in rows]).to_json()


@router.post("/organizations/{org_id}/definitions/new", response_model=None)
def create_definition(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a new definition; errors are shown next to their fields."""
    org = get_or_404(db, Organization, org_id, "organization")
    if "rule_action" in form:
        return _rule_action(request, db, me, org, form.get("type", ""), None, form)
    try:
        saved = _save(request, db, org, form, None)
    except ConfigError as exc:
        return _definition_form(
            request,
            db,
            me,
            org,
            form.get("type", ""),
            None,
            form,
            field_errors(exc),
            422,
            _posted_rows(request, form),
        )
    d = saved.obj
    record(db, me, "definition.create", d.name, {"type": d.type})
    return redirect(request, f"/organizations/{org.id}", saved_notice("Definition", saved))


@router.get("/definitions/{definition_id}", response_class=HTMLResponse)
def definition(request: Request, definition_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """A definition with its type's options form."""
    d = get_or_404(db, Definition, definition_id, "definition")
    org = get_or_404(db, Organization, d.organization_id, "organization")
    registry = state_of(request).registry
    values = {"name": d.name}
    if d.type in registry.names():
        model = registry.get(d.type).options_model
        values.update({f"opt.{k}": v for k, v in values_of(model, d.options).items()})
    return _definition_form(request, db, me, org, d.type, d, values, {})


@router.post("/definitions/{definition_id}", response_model=None)
def update_definition(
    request: Request, definition_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a definition's name and options."""
    d = get_or_404(db, Definition, definition_id, "definition")
    org = get_or_404(db, Organization, d.organization_id, "organization")
    registry = state_of(request).registry
    if "rule_action" in form:
        return _rule_action(request, db, me, org, d.type, d, form)
    before = ops.definition_fields(registry, d)
    try:
        saved = _save(request, db, org, form, d)
    except ConfigError as exc:
        return _definition_form(
            request,
            db,
            me,
            org,
            d.type,
            d,
            form,
            field_errors(exc),
            422,
            _posted_rows(request, form),
        )
    changes = ops.changed_fields(before, ops.definition_fields(registry, d))
    record(db, me, "definition.update", d.name, {"changes": changes})
    return redirect(request, f"/definitions/{d.id}", saved_notice("Definition", saved))


@router.post("/definitions/{definition_id}/delete")
def delete_definition(
    request: Request, definition_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Remove a definition that no task uses."""
    d = get_or_404(db, Definition, definition_id, "definition")
    ops.delete_definition(db, d)
    record(db, me, "definition.delete", d.name)
    return redirect(request, f"/organizations/{d.organization_id}", f"Definition {d.name} deleted")


def _time(form: dict[str, str], key: str, errors: dict[str, str]) -> time | None:
    text = form.get(key, "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        errors[key] = "a time like 22:00"
        return None


def _schedule_input(form: dict[str, str]) -> ops.ScheduleInput:
    errors: dict[str, str] = {}
    interval: int | None = None
    # The form gives a number and a unit; a scripted post may give the API's seconds.
    text = form.get("interval", form.get("interval_seconds", "")).strip()
    unit = dict(UNITS).get(form.get("interval_unit", "seconds"), 1)
    if text:
        try:
            interval = int(text) * unit
        except ValueError:
            errors["interval"] = "a whole number"
    start = _time(form, "window_start", errors)
    end = _time(form, "window_end", errors)
    days = ",".join(d for d in WEEKDAYS if form.get(f"day.{d}"))
    if not days and form.get("days_shown"):  # the form's boxes all cleared (a post without
        errors["weekdays"] = "tick at least one day"  # them means every day, as before)
    if errors:
        raise FieldErrors(errors)
    return ops.ScheduleInput(
        name=form.get("name", ""),
        interval_seconds=interval,
        cron=form.get("cron") or None,
        timezone=form.get("timezone") or "UTC",
        window_start=start,
        window_end=end,
        weekdays=days or None,
    )


def _schedule_values(s: Schedule) -> dict[str, str]:
    number, unit = interval_in_unit(s.interval_seconds) if s.interval_seconds else (0, "minutes")
    days = (s.weekdays or ",".join(WEEKDAYS)).split(",")
    return {
        "name": s.name,
        "interval": str(number or ""),
        "interval_unit": unit,
        "cron": s.cron or "",
        "timezone": s.timezone,
        "window_start": s.window_start.strftime("%H:%M") if s.window_start else "",
        "window_end": s.window_end.strftime("%H:%M") if s.window_end else "",
        **{f"day.{d}": "on" for d in days},
    }


def _schedule_form(
    request: Request,
    me: Principal,
    org: Organization,
    s: Schedule | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    preview: Timing | None = None,
) -> HTMLResponse:
    """The schedule form; with ``errors`` it is answered 422 and shows them by their fields.
    It says the schedule in words with its next five run times (the saved one, or
    ``preview``: what was typed, before it is saved)."""
    timing = preview or (timing_of(s) if s is not None else None)
    if errors is not None:  # the form's input is called interval, the API's interval_seconds
        errors = {("interval" if k == "interval_seconds" else k): v for k, v in errors.items()}
    return render(
        request,
        "schedule.html",
        me,
        200 if errors is None else 422,
        org=org,
        schedule=s,
        values=values,
        errors=errors or {},
        timing=timing,
        upcoming=_upcoming(timing),
        zones=zone_names(),
        units=[u for u, _ in UNITS],
        weekdays=list(zip(WEEKDAYS, DAY_NAMES, strict=True)),
    )


def _upcoming(timing: Timing | None) -> list[datetime]:
    """The next five due times, or none when the schedule cannot say (a stored schedule
    whose time zone this system no longer knows)."""
    try:
        return timing.upcoming(utcnow()) if timing else []
    except ConfigError:
        return []


def _schedule_preview(
    request: Request, me: Principal, org: Organization, s: Schedule | None, form: dict[str, str]
) -> HTMLResponse:
    """The form as typed, in words and with its next run times, nothing saved."""
    try:
        data = _schedule_input(form)
        timing = ops.schedule_timing(data)
    except ConfigError as exc:
        return _schedule_form(request, me, org, s, form, field_errors(exc))
    return _schedule_form(request, me, org, s, form, preview=timing)


@router.get("/organizations/{org_id}/schedules/new", response_class=HTMLResponse)
def new_schedule(request: Request, org_id: Id, db: DbSession, me: PageWriter) -> HTMLResponse:
    """The form for a new schedule."""
    org = get_or_404(db, Organization, org_id, "organization")
    days = {f"day.{d}": "on" for d in WEEKDAYS}
    values = {"timezone": me.timezone, "interval_unit": "minutes", **days}
    return _schedule_form(request, me, org, None, values)


@router.post("/organizations/{org_id}/schedules/new", response_model=None)
def create_schedule(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a new schedule."""
    org = get_or_404(db, Organization, org_id, "organization")
    if "preview" in form:
        return _schedule_preview(request, me, org, None, form)
    try:
        s = ops.save_schedule(db, org.id, _schedule_input(form))
    except ConfigError as exc:
        return _schedule_form(request, me, org, None, form, field_errors(exc))
    record(db, me, "schedule.create", s.name)
    return redirect(request, f"/organizations/{org.id}", f"Schedule {s.name} saved")


@router.get("/schedules/{schedule_id}", response_class=HTMLResponse)
def schedule(request: Request, schedule_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """A schedule and its form."""
    s = get_or_404(db, Schedule, schedule_id, "schedule")
    org = get_or_404(db, Organization, s.organization_id, "organization")
    return _schedule_form(request, me, org, s, _schedule_values(s))


@router.post("/schedules/{schedule_id}", response_model=None)
def update_schedule(
    request: Request, schedule_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a schedule; its tasks are re-armed."""
    s = get_or_404(db, Schedule, schedule_id, "schedule")
    org = get_or_404(db, Organization, s.organization_id, "organization")
    if "preview" in form:
        return _schedule_preview(request, me, org, s, form)
    try:
        ops.save_schedule(db, org.id, _schedule_input(form), s)
    except ConfigError as exc:
        return _schedule_form(request, me, org, s, form, field_errors(exc))
    record(db, me, "schedule.update", s.name)
    return redirect(request, f"/schedules/{s.id}", f"Schedule {s.name} saved")


@router.post("/schedules/{schedule_id}/delete")
def delete_schedule(
    request: Request, schedule_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Remove a schedule; its tasks then run by hand only."""
    s = get_or_404(db, Schedule, schedule_id, "schedule")
    ops.delete_schedule(db, s)
    record(db, me, "schedule.delete", s.name)
    return redirect(request, f"/organizations/{s.organization_id}", f"Schedule {s.name} deleted")
