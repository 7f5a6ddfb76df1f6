"""LOG_FORMAT=json: one JSON object per request line with its id; Sentry without personal data."""

from __future__ import annotations

import copy
import io
import json
import logging
import logging.config

import pytest
from django.conf import settings as django_settings
from django.core.signals import request_finished
from django_tasks import task

from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """Logging configured as settings.LOGGING does with LOG_FORMAT=json, into a buffer."""
    stream = io.StringIO()
    config = copy.deepcopy(django_settings.LOGGING)
    config["handlers"]["console"].update(formatter="json", stream=stream)
    config["loggers"]["laurel.request"]["level"] = "INFO"
    config["loggers"]["laurel.tasks"] = {"level": "INFO"}
    logging.config.dictConfig(config)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.config.dictConfig(django_settings.LOGGING)


def test_each_request_is_one_json_line_with_its_id_view_status_and_timings(client, json_log):
    org = make_org("logs")
    user = make_user()
    client.force_login(user)
    client.get(
        "/accounts/password/reset/key/abc-secret-key/?token=hunter2",
        headers={"X-Request-ID": "req-42"},
    )
    client.get("/healthz")
    lines = [line for line in json_log() if line["logger"] == "laurel.request"]
    assert len(lines) == 2
    first, second = lines
    assert first["request_id"] == "req-42"
    assert first["user_id"] == user.pk and first["method"] == "GET"
    assert {"view", "status", "duration_ms", "queries", "time", "level"} <= first.keys()
    assert "secret-key" not in json.dumps(first) and "hunter2" not in json.dumps(first)
    assert second["view"] == "healthz" and second["status"] == 200 and second["queries"] >= 1
    assert len(second["request_id"]) == 32 and second["request_id"] != "req-42"  # a new one
    assert org.slug  # an org page's line carries its slug (see the next test)


def test_an_organization_page_line_names_the_organization(client, json_log):
    from laurel.accounts.models import Role
    from tests.factories import make_member

    org = make_org("logsorg")
    admin = make_member(org, Role.ADMIN)
    client.force_login(admin)
    client.get(f"/o/{org.slug}/imports/", headers={"X-Request-ID": "bad id with spaces"})
    [line] = [x for x in json_log() if x["logger"] == "laurel.request"]
    assert line["org"] == "logsorg" and line["view"] == "imports:list"
    assert line["request_id"] != "bad id with spaces"  # an unsafe header value is replaced


def test_sentry_is_initialised_without_personal_data():
    import sentry_sdk

    from laurel.operations.sentry import scrub, sentry_init

    sentry_init(dsn="https://public@sentry.invalid/1", environment="test")
    try:
        options = sentry_sdk.get_client().options
        assert not options["send_default_pii"]
        assert options["data_collection"]["user_info"] is False
        assert options["data_collection"]["stack_frame_variables"] is False
        assert options["before_send"] is scrub
    finally:
        sentry_sdk.init()  # no DSN: reporting off again
    event = {
        "request": {
            "url": "https://x/accounts/login/",
            "data": {"password": "hunter2"},
            "cookies": {"sessionid": "abc"},
            "query_string": "token=t",
            "headers": {"Authorization": "Bearer k", "User-Agent": "ua"},
        },
        "user": {"id": "7", "email": "ann@example.org", "ip_address": "10.0.0.1"},
    }
    cleaned = json.dumps(scrub(event, {}))
    for secret in ("hunter2", "sessionid", "token=t", "Bearer k", "ann@example.org", "10.0.0.1"):
        assert secret not in cleaned
    assert '"id": "7"' in cleaned


# Real commits: the task is queued when the view's transaction commits, inside the request.
@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_a_request_is_logged_with_the_request_id(client, json_log):
    from laurel.accounts.models import Role
    from tests.factories import make_member

    org = make_org("taskorg")
    admin = make_member(org, Role.ADMIN)
    client.force_login(admin)
    upload = io.BytesIO(b"Course ID,Email,Date Completed\n")
    upload.name = "credits.csv"
    client.post(
        f"/o/{org.slug}/imports/new/",
        {"file": upload, "kind": "credits"},
        headers={"X-Request-ID": "req-upload-1"},
    )
    queued = [x for x in json_log() if x["logger"] == "laurel.tasks"]
    assert queued, "the upload queued no task"
    assert queued[0]["request_id"] == "req-upload-1"
    assert queued[0]["task"] == "laurel.imports.tasks.import_validate_task"
    assert queued[0]["task_id"]


@task()
def log_a_line(text: str) -> None:
    """A task for the tests below: logs one line of its own."""
    logging.getLogger("laurel.tests.task").warning("task line %s", text)


def _run_worker() -> None:
    from django.core.management import call_command

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")


# Tasks in the database and run by the worker, as in production: after the request is over.
@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_a_request_logs_its_own_lines_with_the_request_id(settings, json_log):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from laurel.lib.request_id import RequestIdMiddleware, current_request_id

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    view = RequestIdMiddleware(
        lambda request: log_a_line.enqueue("from-request") and HttpResponse()
    )
    assert view(RequestFactory().get("/", headers={"X-Request-ID": "abc"}))["X-Request-ID"] == "abc"
    request_finished.send(sender=None)  # the response is closed: the request's id is cleared
    assert current_request_id() is None

    log_a_line.enqueue("from-nowhere")  # queued outside any request
    _run_worker()
    lines = {x["message"]: x for x in json_log() if x["logger"] == "laurel.tests.task"}
    assert lines["task line from-request"]["request_id"] == "abc"
    assert lines["task line from-nowhere"]["request_id"] == "-"
    assert not any("abc" in json.dumps(x) for x in json_log() if "from-nowhere" in x["message"])
    assert current_request_id() is None  # cleared again when the task finished
