"""One confirmation page for every destructive action: the consequence in words and, where
the record keeps one, the reason. It is a plain page (no script), so it works without JS."""

from __future__ import annotations

from django.shortcuts import render


def confirm_page(
    request,
    *,
    title: str,
    consequences: list[str],
    button: str,
    cancel_url: str,
    reason: str | None = None,  # "required", "optional" or None (no reason kept)
    reason_label: str = "Reason",
    error: str = "",
    hidden: dict | None = None,
    status: int = 200,
):
    return render(
        request,
        "web/confirm.html",
        {
            "title": title,
            "consequences": consequences,
            "button": button,
            "cancel_url": cancel_url,
            "action_url": request.path,
            "reason": reason,
            "reason_label": reason_label,
            "reason_value": request.POST.get("reason", ""),
            "error": error,
            "hidden": list((hidden or {}).items()),
        },
        status=status,
    )
