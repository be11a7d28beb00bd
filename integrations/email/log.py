"""The embedded default's mailer: each message is written to the log, where the operator
(or the developer trying the shop out) reads it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domain.messaging.ports import EmailMessage, EmailSession

log = logging.getLogger("oms.email")


class LogMailer:
    async def send(self, message: EmailMessage) -> None:
        log.info("email to %s: %s\n%s", message.to, message.subject, message.text)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[EmailSession]:
        yield self
