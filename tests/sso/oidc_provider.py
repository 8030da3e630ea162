"""A real OpenID Connect provider for the single sign-on tests: django-oauth-toolkit in its own
process, with its own settings and SQLite database, so the office's sign-in goes through a real
discovery document, authorization code with PKCE, token exchange, signed ID token and userinfo.

    python -m tests.sso.oidc_provider --port P --redirect-uri URI --client-id ID --client-secret S \
        --user USERNAME:PASSWORD:EMAIL:NAME [--user ...] [--unverified EMAIL]

prints "ready" once it serves. Only for tests: it listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import django
from django.conf import settings
from django.urls import include, path

HERE = Path(__file__).resolve().parent
UNVERIFIED: set[str] = set()


def rsa_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def configure(port: int, database: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="oidc-provider-for-tests",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [HERE / "templates"],
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        # The office runs on 127.0.0.1 too, on another port: cookies ignore ports, so the names differ.
        SESSION_COOKIE_NAME="idp_sessionid",
        CSRF_COOKIE_NAME="idp_csrftoken",
        LOGIN_URL="/login/",
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        OAUTH2_PROVIDER={
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": rsa_private_key(),
            "OIDC_ISS_ENDPOINT": f"http://127.0.0.1:{port}/o",
            "PKCE_REQUIRED": True,
            "SCOPES": {"openid": "OpenID Connect", "profile": "Your name", "email": "Your email address"},
            "OAUTH2_VALIDATOR_CLASS": f"{__name__}.ClaimsValidator",
        },
    )


def claims_validator() -> type:
    """The provider's validator, with the claims the office reads (email, email_verified, name)."""
    from oauth2_provider.oauth2_validators import OAuth2Validator

    class ClaimsValidator(OAuth2Validator):
        oidc_claim_scope = {
            **OAuth2Validator.oidc_claim_scope,
            "email_verified": "email",
            "preferred_username": "profile",
        }

        def get_additional_claims(self, request):
            user = request.user
            return {
                "email": user.email,
                "email_verified": user.email not in UNVERIFIED,
                "preferred_username": user.username,
                "name": user.get_full_name(),
            }

    return ClaimsValidator


urlpatterns: list = []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--user", action="append", default=[], help="USERNAME:PASSWORD:EMAIL:NAME")
    parser.add_argument("--unverified", action="append", default=[], help="an email the provider does not vouch for")
    args = parser.parse_args()
    UNVERIFIED.update(args.unverified)

    database = tempfile.NamedTemporaryFile(prefix="oidc-provider-", suffix=".sqlite3", delete=False).name
    configure(args.port, database)
    django.setup()
    # oauth2_provider imports its validator by dotted path (OAUTH2_VALIDATOR_CLASS) on first use.
    globals()["ClaimsValidator"] = claims_validator()

    from django.contrib.auth import get_user_model
    from django.contrib.auth import views as auth_views
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import get_application_model

    urlpatterns[:] = [
        path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
        path("login/", auth_views.LoginView.as_view(template_name="provider_login.html"), name="login"),
    ]
    call_command("migrate", verbosity=0, interactive=False)
    users = get_user_model()
    for spec in args.user:
        username, password, email, name = spec.split(":", 3)
        first, _, last = name.partition(" ")
        users.objects.create_user(username=username, password=password, email=email, first_name=first, last_name=last)
    application = get_application_model()
    application.objects.create(
        name="Virtual Office",
        client_id=args.client_id,
        client_secret=args.client_secret,
        client_type=application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=args.redirect_uri,
        algorithm=application.RS256_ALGORITHM,
        skip_authorization=True,
    )

    import socketserver

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write("%s\n" % (format % args))

    server = Server(("127.0.0.1", args.port), QuietHandler)
    server.set_app(get_wsgi_application())
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
