"""Browser sign-in (/accounts/login/ and the admin's /admin/login/), throttled like the API's token login,
and the password reset form, throttled per address and per email.

Failed attempts are counted per client address and per username tried, in the same cache entries
and at the same rates (REST_FRAMEWORK DEFAULT_THROTTLE_RATES `login_address`, `login_account`) as
LoginAddressThrottle and LoginAccountThrottle: one budget per address and per account, whichever
door the guesses come through. Over the limit, a POST is answered 429 with a sentence and a
Retry-After header, before any password is checked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme

from virtual_office.views import LoginAccountThrottle, LoginAddressThrottle, LoginThrottle

THROTTLED_TEMPLATE = "registration/login_throttled.html"


@dataclass(frozen=True)
class LoginBudget:
    """One throttle's attempts for one ident, stored as SimpleRateThrottle stores them (times, newest first)."""

    throttle: LoginThrottle
    key: str

    def history(self, now: float) -> list[float]:
        return [at for at in self.throttle.cache.get(self.key, []) if at > now - self.throttle.duration]

    def wait(self, now: float) -> float | None:
        """Seconds until the next attempt is allowed, or None if it is allowed now."""
        history = self.history(now)
        if len(history) < self.throttle.num_requests:
            return None
        return max(self.throttle.duration - (now - history[-1]), 1.0)

    def record(self, now: float) -> None:
        self.throttle.cache.set(self.key, [now, *self.history(now)], self.throttle.duration)


@dataclass(frozen=True)
class _FormPost:
    """What LoginAccountThrottle reads from a DRF request (`.data`), taken from a form post."""

    data: Mapping[str, Any]


def login_budgets(request: HttpRequest) -> list[LoginBudget]:
    """The client address's budget and, when a username was tried, that account's."""
    address = LoginAddressThrottle()
    budgets = [LoginBudget(address, address.get_cache_key(request, None))]
    account = LoginAccountThrottle()
    account_key = account.get_cache_key(_FormPost(request.POST), None)
    if account_key is not None:
        budgets.append(LoginBudget(account, account_key))
    return budgets


def _tried_credentials(request: HttpRequest) -> bool:
    return bool(request.POST.get("username")) and bool(request.POST.get("password"))


def login_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap a Django login view: a POST over budget gets 429 without reaching the view, and a POST
    the view refuses (it renders the form again instead of redirecting) counts as a failure."""

    @wraps(view)
    def throttled_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        budgets = login_budgets(request)
        now = time.time()
        waits = [wait for budget in budgets if (wait := budget.wait(now)) is not None]
        if waits:
            return login_throttled_response(request, max(waits))
        response = view(request, *args, **kwargs)
        # Success redirects; a CSRF refusal (403) checked no password, nor did a form missing a field.
        if response.status_code == 200 and _tried_credentials(request):
            now = time.time()
            for budget in budgets:
                budget.record(now)
        return response

    return throttled_view


def reset_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap Django's password reset view: every POST spends the client address's budget and the
    email address's (DEFAULT_THROTTLE_RATES `password_reset_address`, `password_reset_account`), so
    nobody can flood a person's inbox or the mail server; over either, 429 and no mail."""

    @wraps(view)
    def throttled_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        address = PasswordResetAddressThrottle()
        budgets = [LoginBudget(address, address.get_cache_key(request, None))]
        email = str(request.POST.get("email", "")).strip().lower()[:254]
        if email:
            account = PasswordResetAccountThrottle()
            budgets.append(LoginBudget(account, account.cache_format % {"scope": account.scope, "ident": email}))
        now = time.time()
        waits = [wait for budget in budgets if (wait := budget.wait(now)) is not None]
        if waits:
            return login_throttled_response(
                request, max(waits), what="Too many password reset requests.", back_label="Back"
            )
        for budget in budgets:
            budget.record(now)
        return view(request, *args, **kwargs)

    return throttled_view


class PasswordResetAddressThrottle(LoginAddressThrottle):
    scope = "password_reset_address"


class PasswordResetAccountThrottle(LoginThrottle):
    scope = "password_reset_account"


def login_throttled_response(
    request: HttpRequest, wait: float, *, what: str = "", back_label: str = ""
) -> HttpResponse:
    seconds = math.ceil(wait)
    next_url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""  # the link back to the form passes on only a local `next`
    context = {
        "retry_after": seconds,
        "retry_after_minutes": math.ceil(seconds / 60),
        "login_url": request.path,
        "next": next_url,
        "what": what,
        "back_label": back_label,
    }
    response = TemplateResponse(request, THROTTLED_TEMPLATE, context, status=429)
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response
