"""Experiment only (`bench/run.py --settings bench.settings_persistent_db`): the project's settings with
persistent database connections (CONN_MAX_AGE=None + health checks) instead of one new PostgreSQL
connection per `database_sync_to_async` call, to measure what that costs on the socket paths."""

from virtual_office.settings import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
# Django refuses persistent connections together with its pool: this experiment is the alternative to it.
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405
