"""Fixtures several API test modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.notifications.service import Notifier
from domain.notifications.templates import Renderer
from tests.fakes.smtp import SmtpServer
from tests.notifications_support import SHOP, SMTP_USERS, TRACKING, Mail, mailer
from tests.support import GraphQLClient


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with SmtpServer(users=SMTP_USERS) as server:
        yield server


@pytest.fixture
async def mail(app: Any, api: GraphQLClient, smtp: SmtpServer,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Mail]:
    """The app's own notifier, sending through the test's SMTP server for this shop."""
    notifier: Notifier = app.state.services.notifier
    await notifier.stop()
    saved = (notifier.config, notifier.mailer, notifier.renderer)
    notifier.config, notifier.mailer = SHOP, mailer(smtp)
    notifier.renderer = Renderer(None)
    monkeypatch.setattr(app.state.services.carriers["builtin"], "_template", TRACKING)
    notifier.start()
    yield Mail(smtp, notifier)
    await notifier.stop()
    notifier.config, notifier.mailer, notifier.renderer = saved
    notifier.start()
