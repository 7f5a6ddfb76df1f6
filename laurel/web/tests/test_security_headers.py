"""A Content-Security-Policy without inline script on every kind of page, and production
settings that refuse the two values that undo the rest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from laurel.certificates.tests.conftest import issue
from tests.factories import make_member, make_org

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = sorted((ROOT / "laurel").rglob("templates/**/*.html"))


def _directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


@pytest.mark.django_db
def test_every_page_type_carries_a_policy_without_inline_script(client, settings):
    settings.SITE_URL = "https://testserver"
    org = make_org("northwind")
    admin = make_member(org, Role.ADMIN)
    cert = issue(org)
    key = api_key_create(actor=Actor.system("test"), organization=org, name="LMS")
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "check": "1/60"}
    client.post("/v/verify", data={}, content_type="application/json")
    pages = {
        "public home": client.get("/"),
        "login": client.get(reverse("account_login")),
        "verification": client.get(f"/v/{cert.verification_code}"),
        "not found": client.get("/no/such/page"),
        "rate limited": client.post("/v/verify", data={}, content_type="application/json"),
        "api": client.get("/api/v1/courses", headers={"Authorization": f"Bearer {key.full_key}"}),
        "did document": client.get(f"/o/{org.slug}/did.json"),
    }
    client.force_login(admin)
    pages["organization page"] = client.get(reverse("catalog:course_list", args=[org.slug]))
    pages["locker"] = client.get(reverse("credits:locker"))
    assert pages["rate limited"].status_code == 429
    for name, response in pages.items():
        directives = _directives(response)
        assert directives["script-src"] == "'self'", name
        assert directives["default-src"] == "'self'", name
        assert directives["frame-ancestors"] == "'none'", name
        assert directives["object-src"] == "'none'", name


def _inline_scripts(html: str) -> list[str]:
    problems = []
    for match in re.finditer(r"<script\b([^>]*)>", html, re.IGNORECASE):
        attrs = match.group(1)
        if "src=" not in attrs and 'type="application/json"' not in attrs:
            problems.append(match.group(0))
    problems += re.findall(r"\shx-on[:-][\w:-]*=", html)
    problems += re.findall(r"\son[a-z]+\s*=", html)
    problems += re.findall(r"<style\b", html, re.IGNORECASE)
    problems += re.findall(r"javascript:", html, re.IGNORECASE)
    return problems


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_or_style_elements(path):
    assert _inline_scripts(path.read_text()) == []


def test_htmx_is_configured_for_the_policy():
    base = (ROOT / "laurel/templates/base.html").read_text()
    assert '"allowEval": false' in base and '"includeIndicatorStyles": false' in base


def _production(**extra) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "LAUREL_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "laurel.example",
        "EMAIL_HOST": "smtp.laurel.example",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-c", "import laurel.settings"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"ALLOWED_HOSTS": "*"}, "not '*'"),
        ({"ALLOWED_HOSTS": "laurel.example,*"}, "not '*'"),
    ],
)
def test_production_settings_refuse_debug_and_any_host(extra, message):
    result = _production(**extra)
    assert result.returncode != 0
    assert message in result.stderr
    assert _production().returncode == 0
