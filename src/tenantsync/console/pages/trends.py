"""Trends: per task, each run's duration and changes; per organization, its mailboxes and
billable mailboxes over time. Each chart is an SVG image with the same numbers in a table."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tenantsync.console.api.schemas import Id
from tenantsync.console.auth import DbSession, PageReader, Principal
from tenantsync.console.ops.charts import SVG_POLICY, line_chart
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.pages.render import render
from tenantsync.store.models import Organization, ScheduledTask
from tenantsync.store.trends import organization_trend, task_trend

router = APIRouter()


def _zone(me: Principal) -> ZoneInfo:
    try:
        return ZoneInfo(me.timezone)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _svg(body: bytes) -> Response:
    return Response(
        body, media_type="image/svg+xml", headers={"Content-Security-Policy": SVG_POLICY}
    )


@router.get("/tasks/{task_id}/trends", response_class=HTMLResponse)
def task_trends(request: Request, task_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """A task's runs over time: how long each took and how many changes it made."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    points = task_trend(db, task.id)
    return render(request, "trends.html", me, task=task, org=task.organization, runs=points)


@router.get("/tasks/{task_id}/trends/{measure}.svg")
def task_chart(task_id: Id, measure: str, db: DbSession, me: PageReader) -> Response:
    """One of a task's charts: ``duration`` or ``changes``."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    points = task_trend(db, task.id)
    moments = [p.at for p in points]
    if measure == "duration":
        series = {"duration": [round(p.duration_seconds, 1) for p in points]}
        return _svg(line_chart("Run duration (seconds)", moments, series, _zone(me), " s"))
    series = {"changes": [float(p.changes) for p in points]}
    return _svg(line_chart("Changes per run", moments, series, _zone(me)))


@router.get("/organizations/{org_id}/trends", response_class=HTMLResponse)
def organization_trends(
    request: Request, org_id: Id, db: DbSession, me: PageReader
) -> HTMLResponse:
    """An organization's mailboxes and billable mailboxes after each user sync."""
    org = get_or_404(db, Organization, org_id, "organization")
    return render(
        request, "trends.html", me, task=None, org=org, counts=organization_trend(db, org.id)
    )


@router.get("/organizations/{org_id}/trends/mailboxes.svg")
def organization_chart(org_id: Id, db: DbSession, me: PageReader) -> Response:
    """The organization's chart: mailboxes and billable mailboxes."""
    org = get_or_404(db, Organization, org_id, "organization")
    points = organization_trend(db, org.id)
    series = {
        "mailboxes": [float(p.mailboxes) for p in points],
        "billable": [float(p.billable) for p in points],
    }
    chart = line_chart("Mailboxes over time", [p.at for p in points], series, _zone(me))
    return _svg(chart)
