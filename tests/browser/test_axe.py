"""Every page of the demo that a visitor, a holder or staff reaches, at 1280 and 390 px, checked
by axe-core (vendored: tests/browser/vendor/axe.min.js, MPL-2.0): no serious or critical
violation. Moderate ones are counted into test-results/axe-summary.json; the main pages are
photographed into test-results/screenshots/."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from laurel import demo
from tests.browser.axe_pages import PAGES, resolve

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
WIDTHS = (1280, 390)
BLOCKING = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
                nodes: v.nodes.length,
            }));
        }"""
    )


# The elements that reach past the right edge and have no child that does (the culprits).
WIDEST = """() => {
  const edge = document.documentElement.clientWidth;
  const out = [...document.body.querySelectorAll("*")].filter(
    (e) => e.getBoundingClientRect().right > edge + 0.5 && !e.closest(".table-wrap")
      && ![...e.children].some((c) => c.getBoundingClientRect().right > edge + 0.5)
  );
  return out.slice(0, 5).map((e) => e.tagName.toLowerCase()
    + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "")
    + " " + (e.textContent || "").trim().slice(0, 40));
}"""


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", settings.LAUREL_DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"{email} could not log in"


def test_every_demo_page_has_no_serious_accessibility_violation(live_server, browser):
    demo.load(holders=5, unclaimed=2)
    shots = RESULTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    cache: dict = {}
    blocking: list[str] = []
    moderate: Counter = Counter()
    per_page: dict[str, dict] = {}

    for login, pages in PAGES.items():
        context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
        # An init script, because the pages' Content-Security-Policy refuses an injected <script>.
        context.add_init_script(script=AXE.read_text())
        page = context.new_page()
        if login:
            log_in(page, live_server.url, login)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for entry in pages:
                url = live_server.url + resolve(entry.path, cache)
                response = page.goto(url)
                assert response.status == entry.status, f"{entry.name} {url}: {response.status}"
                found = axe_violations(page)
                key = f"{entry.name}@{width}"
                per_page[key] = {v["id"]: v["impact"] for v in found}
                for v in found:
                    if v["impact"] in BLOCKING:
                        blocking.append(
                            f"{key} {v['impact']} {v['id']}: {v['help']} {v['targets']}"
                        )
                    elif v["impact"] == "moderate":
                        moderate[v["id"]] += v["nodes"]
                if entry.shot:
                    page.screenshot(path=str(shots / f"{entry.name}-{width}.png"), full_page=True)
                # Nothing may stick out sideways at phone width (the page scrolls, not the body).
                if width == 390:
                    overflow = page.evaluate(
                        "(d => d.scrollWidth - d.clientWidth)(document.documentElement)"
                    )
                    if overflow > 0:
                        blocking.append(
                            f"{key} wider than the screen by {overflow}px: {page.evaluate(WIDEST)}"
                        )
        context.close()

    summary = {
        "pages": len(per_page),
        "serious_or_critical": len(blocking),
        "moderate": sum(moderate.values()),
        "moderate_by_rule": dict(moderate.most_common()),
        "violations_by_page": {k: v for k, v in per_page.items() if v},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "axe-summary.json").write_text(json.dumps(summary, indent=2))
    print(
        f"axe: {summary['pages']} page views, {summary['moderate']} moderate violation nodes "
        f"({summary['moderate_by_rule']})"
    )
    assert not blocking, "\n".join(blocking)
