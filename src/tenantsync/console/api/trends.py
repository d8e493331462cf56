"""Trends as numbers: a task's runs (duration, changes) and an organization's counts."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from tenantsync.console.api.schemas import Id
from tenantsync.console.auth import DbSession, Reader
from tenantsync.console.ops.directory import get_or_404
from tenantsync.store.models import Organization, ScheduledTask
from tenantsync.store.trends import organization_trend, task_trend

router = APIRouter(tags=["trends"])


class RunPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    run_id: int
    at: datetime
    duration_seconds: float
    changes: int
    status: str


class CountPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    mailboxes: int
    billable: int
    run_id: int | None


class TaskTrendOut(BaseModel):
    task_id: int
    runs: list[RunPointOut]


class OrganizationTrendOut(BaseModel):
    organization_id: int
    counts: list[CountPointOut]


@router.get("/tasks/{task_id}/trend", response_model=TaskTrendOut)
def task(task_id: Id, db: DbSession, who: Reader) -> TaskTrendOut:
    """The task's finished runs, oldest first (the latest 200): duration and changes."""
    t = get_or_404(db, ScheduledTask, task_id, "task")
    runs = [RunPointOut.model_validate(p) for p in task_trend(db, t.id)]
    return TaskTrendOut(task_id=t.id, runs=runs)


@router.get("/organizations/{org_id}/trend", response_model=OrganizationTrendOut)
def organization(org_id: Id, db: DbSession, who: Reader) -> OrganizationTrendOut:
    """Mailboxes and billable mailboxes after each applied user sync, oldest first."""
    org = get_or_404(db, Organization, org_id, "organization")
    counts = [CountPointOut.model_validate(p) for p in organization_trend(db, org.id)]
    return OrganizationTrendOut(organization_id=org.id, counts=counts)
