"""The SMTP mailer against a real SMTP server (STARTTLS, implicit TLS, logins, refusals),
and the Twilio adapter against a local server speaking Twilio's Messages API."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest
import trustme

from api.settings import ConfigurationError, Settings
from domain.messaging.ports import EmailMessage, SmsMessage, Undelivered
from integrations.email.smtp import SmtpMailer, parse_smtp_url
from integrations.sms.twilio import TwilioSms
from tests.fakes.smtp import SmtpServer
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.servers import free_port

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
USERS = {"shop": "pa ss@word"}
HELLO = EmailMessage(to="ann@example.com", subject="Hello", text="Plain words",
                     html="<p>Plain words</p>", message_id="<n-1@oms>")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def starttls(ca: trustme.CA) -> AsyncIterator[SmtpServer]:
    async with SmtpServer(users=USERS, tls_context=_server_context(ca),
                          require_starttls=True) as server:
        yield server


async def test_starttls_when_offered_then_login_and_a_multipart_message(
    starttls: SmtpServer, ca: trustme.CA,
) -> None:
    mailer = SmtpMailer(f"smtp://shop:pa%20ss%40word@127.0.0.1:{starttls.port}",
                        sender="shop@example.com", tls_context=_client_context(ca))
    await mailer.send(HELLO)
    [arrived] = starttls.arrived
    assert arrived.tls and arrived.login == "shop" and arrived.to == ["ann@example.com"]
    assert arrived.message["Message-ID"] == "<n-1@oms>"
    assert arrived.message["From"] == "shop@example.com"
    assert arrived.part("plain").strip() == "Plain words"
    assert arrived.part("html").strip() == "<p>Plain words</p>"


async def test_credentials_beside_the_url_and_a_wrong_password_is_undelivered(
    starttls: SmtpServer, ca: trustme.CA,
) -> None:
    url = f"smtp://127.0.0.1:{starttls.port}?starttls=required"
    beside = SmtpMailer(url, sender="s@example.com", username="shop", password="pa ss@word",
                        tls_context=_client_context(ca))
    await beside.send(HELLO)
    wrong = SmtpMailer(url, sender="s@example.com", username="shop", password="nope",
                       tls_context=_client_context(ca))
    with pytest.raises(Undelivered):
        await wrong.send(HELLO)
    assert len(starttls.arrived) == 1


async def test_never_in_clear_to_a_server_that_wants_tls(starttls: SmtpServer) -> None:
    clear = SmtpMailer(f"smtp://127.0.0.1:{starttls.port}?starttls=off", sender="s@example.com")
    with pytest.raises(Undelivered):
        await clear.send(HELLO)
    assert starttls.arrived == []


async def test_smtps_is_tls_from_the_first_byte(ca: trustme.CA) -> None:
    async with SmtpServer(users=USERS, implicit_tls=_server_context(ca)) as server:
        mailer = SmtpMailer(f"smtps://shop:pa%20ss%40word@127.0.0.1:{server.port}",
                            sender="s@example.com", tls_context=_client_context(ca))
        await mailer.send(HELLO)
        assert [a.login for a in server.arrived] == ["shop"]


async def test_a_refusal_and_a_server_away_are_undelivered() -> None:
    async with SmtpServer() as server:
        server.refuse = 1
        mailer = SmtpMailer(server.url(), sender="s@example.com")
        with pytest.raises(Undelivered, match="451"):
            await mailer.send(HELLO)
        await mailer.send(HELLO)
        assert len(server.arrived) == 1
    with pytest.raises(Undelivered, match="could not reach"):
        await SmtpMailer(f"smtp://127.0.0.1:{free_port()}", sender="s@example.com").send(HELLO)


def test_the_smtp_url_is_read_and_checked() -> None:
    plain = parse_smtp_url("smtp://me:p%3Aw@mail.example.com")
    assert (plain.host, plain.port, plain.start_tls, plain.implicit_tls) == (
        "mail.example.com", 587, None, False)
    assert (plain.username, plain.password) == ("me", "p:w")
    assert parse_smtp_url("smtps://mail.example.com").port == 465
    assert parse_smtp_url("smtp://h:25?starttls=required").start_tls is True
    for bad in ("http://mail.example.com", "smtp://", "smtp://h:99999", "smtp://h?starttls=x"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)
        with pytest.raises(ConfigurationError):
            Settings(smtp_url=bad)
    settings = Settings.from_env({"OMS_SMTP_URL": "smtp://h:2525", "OMS_EMAIL_FROM": "a@b.c",
                                  "OMS_SHOP_NAME": "Harbour", "OMS_SHOP_ADDRESS": "1 Quay; Hamburg",
                                  "OMS_STAFF_ALERT_EMAIL": "ops@b.c"})
    assert settings.shop_address == ("1 Quay", "Hamburg")
    assert (settings.email_from, settings.staff_alert_email) == ("a@b.c", "ops@b.c")
    with pytest.raises(ConfigurationError, match="TWILIO"):
        Settings(twilio_account_sid="AC1")


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


def _sms(fake: FakeTwilio, token: str = AUTH_TOKEN) -> TwilioSms:
    return TwilioSms(account_sid=ACCOUNT_SID, auth_token=token, sender="+15005550006",
                     api_base=fake.url)


async def test_twilio_takes_a_text_by_its_messages_api(twilio: FakeTwilio) -> None:
    sms = _sms(twilio)
    sid = await sms.send(SmsMessage(to="+4915112345678", body="Your order 1001 has shipped"))
    await sms.close()
    assert sid.startswith("SM")
    assert twilio.messages == [{"sid": sid, "account_sid": ACCOUNT_SID, "to": "+4915112345678",
                                "from": "+15005550006", "body": "Your order 1001 has shipped",
                                "status": "queued"}]


async def test_twilio_refusals_and_absence_are_undelivered(twilio: FakeTwilio) -> None:
    wrong = _sms(twilio, token="wrong")
    with pytest.raises(Undelivered, match="401"):
        await wrong.send(SmsMessage(to="+4915112345678", body="x"))
    await wrong.close()
    twilio.fail_with = 400
    sms = _sms(twilio)
    with pytest.raises(Undelivered, match="Invalid 'To' Phone Number"):
        await sms.send(SmsMessage(to="+1", body="x"))
    await sms.close()
    away = TwilioSms(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sender="+15005550006",
                     api_base=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Undelivered, match="could not reach"):
        await away.send(SmsMessage(to="+4915112345678", body="x"))
    await away.close()
    assert twilio.messages == []
