"""The console's webhooks pages (company admins): /manage/webhooks/ lists them with a form to add
one, /manage/webhooks/<id>/ shows a webhook's delivery log. Plain form posts calling the services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from virtual_office.errors import ServiceError
from virtual_office.tenancy import AuthenticatedHttpRequest
from webhooks import selectors, services
from webhooks.models import EVENTS
from webhooks.permissions import access_webhook

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class WebhookForm(forms.Form):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple, initial=EVENTS
    )
    secret = forms.CharField(
        label="Secret", max_length=128, min_length=16, required=False, help_text="Left empty: one is made for you."
    )


def webhook_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    @login_required
    @ensure_csrf_cookie
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (user.is_company_admin and user.company_id is not None):  # type: ignore[union-attr]
            response = render(request, "console/forbidden.html", status=403)
        else:
            try:
                response = view(request, *args, **kwargs)
            except ServiceError as error:
                if error.status == 404:
                    raise Http404(error.message) from None
                raise
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = PAGE_CSP
        return response

    return guarded


@webhook_page
def webhook_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                webhook = services.webhook_create(
                    actor=request.user,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    secret=form.cleaned_data["secret"],
                )
            except ServiceError as error:
                form.add_error("url" if error.code.startswith("webhook_url") else None, error.message)
            else:
                messages.success(request, f"Webhook added for {webhook.url}.")
                return redirect("console-webhook", webhook_id=webhook.id)
        status = 400
    rows = selectors.webhook_list(company_id=request.user.company_id or 0)
    return render(
        request, "webhooks/index.html", {"section": "webhooks", "webhooks": rows, "form": form}, status=status
    )


@webhook_page
def webhook_detail(request: AuthenticatedHttpRequest, webhook_id: int) -> HttpResponse:
    webhook = access_webhook(request.user, webhook_id)
    deliveries = selectors.delivery_list(webhook=webhook)
    return render(
        request, "webhooks/detail.html", {"section": "webhooks", "webhook": webhook, "deliveries": deliveries}
    )


@require_POST
@webhook_page
def webhook_remove(request: AuthenticatedHttpRequest, webhook_id: int) -> HttpResponse:
    webhook = access_webhook(request.user, webhook_id)
    services.webhook_delete(actor=request.user, webhook=webhook)
    messages.success(request, f"Webhook for {webhook.url} removed.")
    return redirect("console-webhooks")
