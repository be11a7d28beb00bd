"""SMS through Twilio's Messages API.

``POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``,
``From`` (or ``MessagingServiceSid`` when the sender starts with ``MG``) and ``Body``,
with HTTP basic auth (the account SID and auth token). A created message answers 201 with
its ``sid``. A 4xx or 5xx answer, or no connection at all, is :class:`Undelivered`; a
connection lost after the request was sent leaves the outcome unknown.
"""

from __future__ import annotations

import httpx

from domain.messaging.ports import SmsMessage, Undelivered

API_BASE = "https://api.twilio.com"


class TwilioSms:
    def __init__(self, *, account_sid: str, auth_token: str, sender: str,
                 api_base: str | None = None, timeout: float = 15.0) -> None:
        self.account_sid = account_sid
        self.sender = sender
        self._http = httpx.AsyncClient(base_url=(api_base or API_BASE).rstrip("/"),
                                       auth=(account_sid, auth_token), timeout=timeout)

    async def send(self, message: SmsMessage) -> str:
        origin = ({"MessagingServiceSid": self.sender} if self.sender.startswith("MG")
                  else {"From": self.sender})
        try:
            response = await self._http.post(
                f"/2010-04-01/Accounts/{self.account_sid}/Messages.json",
                data={"To": message.to, "Body": message.body, **origin})
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise Undelivered(f"could not reach Twilio: {error}") from error
        if response.status_code >= 400:
            try:
                detail = response.json().get("message") or response.text
            except ValueError:
                detail = response.text
            raise Undelivered(f"Twilio answered {response.status_code}: {str(detail)[:200]}")
        return str(response.json()["sid"])

    async def close(self) -> None:
        await self._http.aclose()
