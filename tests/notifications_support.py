"""The shop's notification settings and the app's notifier sending through a test's SMTP
server: what the notification, staff alert and order edit tests share."""

from __future__ import annotations

from dataclasses import dataclass

from domain.notifications.service import NotificationConfig, Notifier
from integrations.email.smtp import SmtpMailer
from tests.fakes.smtp import SmtpServer

SHOP = NotificationConfig(shop_name="Harbour Goods", shop_address=("12 Quay Street", "Hamburg"),
                          email_from="orders@harbour.example", staff_email="ops@harbour.example")
TRACKING = "https://track.example/{tracking_number}"
SMTP_USERS = {"shop": "s3cret:/@pass"}


@dataclass
class Mail:
    server: SmtpServer
    notifier: Notifier


def mailer(server: SmtpServer) -> SmtpMailer:
    # The password has URL-special characters: percent-encoded in the URL.
    return SmtpMailer(f"smtp://shop:s3cret%3A%2F%40pass@127.0.0.1:{server.port}",
                      sender=SHOP.email_from)
