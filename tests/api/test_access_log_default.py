"""The access log's default: a line per request when embedded, metrics alone on PostgreSQL."""

from __future__ import annotations

from api.settings import Settings


def test_the_embedded_mode_logs_each_request_by_default() -> None:
    assert Settings.from_env({}).access_log is True
    assert Settings.from_env({"OMS_DATABASE_URL": "sqlite:///tmp/oms.db"}).access_log is True


def test_postgresql_deployments_leave_the_access_log_off_unless_asked() -> None:
    url = "postgres://oms@db:5432/oms"
    assert Settings.from_env({"OMS_DATABASE_URL": url}).access_log is False
    asked = Settings.from_env({"OMS_DATABASE_URL": url, "OMS_ACCESS_LOG": "true"})
    assert asked.access_log is True
