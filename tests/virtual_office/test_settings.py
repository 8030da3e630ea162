"""Settings: `manage.py check --deploy` is clean with production values from the environment."""

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env() -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="virtual_office.settings",
        DJANGO_SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(50)),
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="office.example.com",
        CSRF_TRUSTED_ORIGINS="https://office.example.com",
        DJANGO_HTTPS="1",
        DJANGO_HSTS_SECONDS="31536000",
    )
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_reports_no_issues_with_production_values():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_notices_an_insecure_setup():
    env = production_env()
    env["DJANGO_HTTPS"] = "0"
    env["DJANGO_HSTS_SECONDS"] = "0"
    result = check_deploy(env)
    output = result.stdout + result.stderr
    assert "security.W004" in output  # HSTS unset
    assert "no issues" not in output


def test_check_deploy_notices_a_missing_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = check_deploy(env)
    assert "security.W009" in result.stdout + result.stderr  # the built-in development key


def test_ice_servers_come_from_the_environment_and_bad_json_is_a_clear_error():
    env = production_env()
    env["WEBRTC_ICE_SERVERS"] = '[{"urls": "stun:stun.example.com:3478"}]'
    probe = "from django.conf import settings; print(settings.WEBRTC_ICE_SERVERS)"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", probe], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "stun:stun.example.com:3478" in result.stdout, result.stderr
    for bad in ('{"urls": "stun:x"', '{"urls": "stun:x"}', '[{"username": "u"}]'):
        env["WEBRTC_ICE_SERVERS"] = bad
        result = check_deploy(env)
        assert result.returncode != 0
        assert "ImproperlyConfigured: WEBRTC_ICE_SERVERS" in result.stderr, result.stderr
