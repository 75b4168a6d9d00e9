"""The stats API against its own OpenAPI schema: every status it answers (401 included) is declared, with its body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from media_hub.wsgi import application
from tests.conftest import wsgi_keeps_test_connection
from tests.feeds.factories import live_episode

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application).include(tag_regex="^stats$")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_stats_operations_declare_their_errors(client: Client) -> None:
    spec = client.get("/api/openapi.json").json()
    operations = [spec["paths"][path]["get"] for path in spec["paths"] if path.startswith("/api/v1/stats/")]
    assert len(operations) == 2
    for operation in operations:
        for status in ("401", "404", "422"):
            body = operation["responses"][status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorOut"}, (operation["operationId"], status)


@pytest.fixture
def staff_cookie(client: Client, show: Any) -> Iterator[str]:
    live_episode(show, 1)
    user = get_user_model().objects.create_user("stats", password="pw-123456789", is_staff=True)
    client.force_login(user)
    with wsgi_keeps_test_connection():
        yield f"sessionid={client.cookies['sessionid'].value}"


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_stats_api_matches_its_schema(case: Any, staff_cookie: str) -> None:
    case.call_and_validate(checks=CHECKS)  # anonymous: 401 with the error body
    case.call_and_validate(checks=CHECKS, headers={"Cookie": staff_cookie})
