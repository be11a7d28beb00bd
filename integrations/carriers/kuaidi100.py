"""Kuaidi100 (mainland China): tracking subscriptions for any carrier it covers, and
its push callbacks.

A shipment ships with ``carrier: "kuaidi100"``, its ``service`` naming the
Kuaidi100 company code (``shunfeng``, ``yuantong``, ``zhongtong``, ...). After
it ships we subscribe its tracking number (``POST /poll``, form fields
``schema=json`` and ``param``); Kuaidi100 then POSTs ``param`` and ``sign`` to
``/webhooks/carriers/kuaidi100``, where ``sign`` is the upper-case MD5 of
``param`` followed by our salt. Times are Beijing time (UTC+8).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import httpx

from domain.fulfillment.models import ShipmentStatus
from domain.fulfillment.ports import (
    CarrierEvent,
    CarrierRefused,
    CarrierUnavailable,
    InvalidSignature,
    Label,
    LabelRequest,
    Rate,
)
from integrations.payloads import (
    UnreadablePayload,
    items,
    json_object,
    mapping,
    optional_text,
    text,
)

API_BASE = "https://poll.kuaidi100.com"
BEIJING = timezone(timedelta(hours=8))
S = ShipmentStatus
# Kuaidi100's status words (and state codes) in our terms.
STATUSES: dict[str, ShipmentStatus] = {
    "揽收": S.IN_TRANSIT, "在途": S.IN_TRANSIT, "转投": S.IN_TRANSIT, "清关": S.IN_TRANSIT,
    "派件": S.OUT_FOR_DELIVERY, "签收": S.DELIVERED, "疑难": S.EXCEPTION, "拒签": S.EXCEPTION,
    "退回": S.RETURNED_TO_SENDER, "退签": S.RETURNED_TO_SENDER,
    "0": S.IN_TRANSIT, "1": S.IN_TRANSIT, "2": S.EXCEPTION, "3": S.DELIVERED,
    "4": S.RETURNED_TO_SENDER, "5": S.OUT_FOR_DELIVERY, "6": S.RETURNED_TO_SENDER,
    "7": S.IN_TRANSIT, "8": S.IN_TRANSIT, "14": S.EXCEPTION,
}


def sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()


class Kuaidi100Carrier:
    code = "kuaidi100"
    sells_labels = False
    acknowledgement = {"result": True, "returnCode": "200", "message": "成功"}

    def __init__(self, *, key: str, salt: str, callback_url: str, api_base: str | None = None,
                 timeout: float = 20.0) -> None:
        self._key = key
        self._salt = salt
        self._callback = callback_url
        self._client = httpx.AsyncClient(base_url=api_base or API_BASE, timeout=timeout)

    def rates(self, *, service: str | None, currency: str) -> list[Rate]:
        return []

    def tracking_url(self, tracking_number: str) -> str | None:
        return f"https://www.kuaidi100.com/chaxun?nu={tracking_number}"

    async def quote(self, request: LabelRequest) -> list[Rate]:
        return []  # tracking only

    async def prepare_label(self, request: LabelRequest) -> str:
        raise CarrierRefused("Kuaidi100 tracks parcels; it sells no labels")

    async def buy_label(self, request: LabelRequest) -> Label:
        raise CarrierRefused("Kuaidi100 tracks parcels; it sells no labels")

    async def start_tracking(self, *, tracking_number: str, service: str | None) -> None:
        """Subscribe a tracking number; Kuaidi100 pushes its progress to our callback."""
        if not service:
            raise CarrierRefused("name the Kuaidi100 company code as the shipment's service")
        param = json.dumps({"company": service, "number": tracking_number, "key": self._key,
                            "parameters": {"callbackurl": self._callback, "salt": self._salt,
                                           "resultv2": "1"}}, ensure_ascii=False)
        try:
            response = await self._client.post("/poll", data={"schema": "json",
                                                               "param": param})
        except httpx.HTTPError as error:
            raise CarrierUnavailable(str(error)) from None
        if response.status_code >= 500:
            raise CarrierUnavailable(f"HTTP {response.status_code}")
        answer = response.json()
        # 501 means "already subscribed": the subscription we wanted exists.
        if not answer.get("result") and str(answer.get("returnCode")) != "501":
            raise CarrierRefused(f"{answer.get('returnCode')}: {answer.get('message')}")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        param, given = form.get("param", ""), form.get("sign", "")
        if not param or not hmac.compare_digest(sign(param, self._salt).encode(),
                                                given.upper().encode()):
            raise InvalidSignature("sign does not match param and the salt")
        result = mapping(json_object(param, "param").get("lastResult"), "lastResult")
        return [e for e in (self._event(result, mapping(item, "a data item"))
                            for item in items(result.get("data") or [], "data"))
                if e is not None]

    @staticmethod
    def _event(result: dict[str, Any], item: dict[str, Any]) -> CarrierEvent | None:
        status = STATUSES.get(str(item.get("status", ""))) or STATUSES.get(
            str(item.get("statusCode", ""))[:1])
        if status is None:
            return None
        at = text(item.get("ftime") or item.get("time"), "ftime", max_length=19)
        try:
            occurred = datetime.strptime(at, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            raise UnreadablePayload(f"time {at!r} is not YYYY-MM-DD HH:MM:SS") from None
        number = text(result.get("nu"), "nu", max_length=64)
        return CarrierEvent(
            tracking_number=number, status=status, occurred_at=occurred,
            external_id=f"{number}:{at}:{status.value}",
            description=optional_text(item.get("context"), "context", max_length=500),
            location=optional_text(item.get("areaName"), "areaName", max_length=200))

    async def close(self) -> None:
        await self._client.aclose()
