"""Property-based fuzzing of the whole API against its own OpenAPI schema (schemathesis + hypothesis).

Every operation gets generated (valid and invalid) input, anonymously and as a producer; no response may be a
5xx, and every response must match the documented status codes, content types and schemas. Examples per
operation are bounded so the run stays well under two minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
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

# This module fuzzes the episodes API (issue #5); other apps' routers get their own runs.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application).include(
    tag_regex="^(public|articles|producer|uploads)$"
)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded(media: dict[str, Any], tokens: dict[str, str]) -> Iterator[dict[str, str]]:
    from episodes.services.articles import article_link_media, article_upsert

    article, _ = article_upsert(external_id="cms-1", url="https://news.example.com/1")
    article_link_media(article=article, items=[media["live_ep"], media["live_vid"], media["draft_ep"]])
    with wsgi_keeps_test_connection():
        yield tokens


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_never_errors(case: Any, seeded: dict[str, str]) -> None:
    case.call_and_validate(checks=CHECKS)
    case.call_and_validate(checks=CHECKS, headers={"Authorization": f"Bearer {seeded['a']}"})
