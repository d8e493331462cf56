"""schemathesis against the OpenAPI description: generated requests to every operation,
as a super administrator, never produce a server error."""

from __future__ import annotations

import time

import hypothesis
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tenantsync.store.accounts import issue_token
from tenantsync.store.database import Database
from tenantsync.store.models import ConsoleAccount, Role
from tests.support.console import EMAILS, seed_directory

EXAMPLES_PER_OPERATION = 5


def fresh_token(db: Database) -> str:
    """A new super administrator token (a generated DELETE may revoke the previous one)."""
    with db.session() as session:
        root = session.query(ConsoleAccount).filter_by(email=EMAILS[Role.SUPER_ADMIN]).one()
        return issue_token(session, root, "schemathesis").value


def test_no_generated_request_causes_a_server_error(app: FastAPI, db: Database) -> None:
    seed_directory(db)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    started = time.monotonic()
    headers: dict[str, str] = {}
    for operation in operations:
        headers["Authorization"] = f"Bearer {fresh_token(db)}"

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
    assert time.monotonic() - started < 60
