"""Twilio's Messages API as documented: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
form-encoded To, From (or MessagingServiceSid) and Body, HTTP basic auth with the account
SID and auth token; 201 with the message resource, 401 with Twilio's error body otherwise."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import LocalServer

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-auth-token"


class FakeTwilio:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self._server = LocalServer(Starlette(routes=[
            Route("/2010-04-01/Accounts/{sid}/Messages.json", self.create, methods=["POST"])]))
        self.url = self._server.url

    async def create(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if sid != ACCOUNT_SID or request.headers.get("authorization") != expected:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401},
                                status_code=401)
        if request.headers.get("content-type", "").split(";")[0] != \
                "application/x-www-form-urlencoded":
            return JSONResponse({"code": 20001, "message": "form body expected"}, 400)
        form = dict(await request.form())
        if self.fail_with is not None:
            return JSONResponse({"code": 21211, "message": "Invalid 'To' Phone Number",
                                 "status": self.fail_with}, status_code=self.fail_with)
        if not form.get("To") or not form.get("Body") or not (
                form.get("From") or form.get("MessagingServiceSid")):
            return JSONResponse({"code": 21604, "message": "A 'To' phone number is required."},
                                status_code=400)
        message = {"sid": "SM" + secrets.token_hex(16), "account_sid": sid,
                   "to": form["To"], "from": form.get("From"), "body": form["Body"],
                   "status": "queued"}
        self.messages.append(message)
        return JSONResponse(message, status_code=201)

    async def __aenter__(self) -> FakeTwilio:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()
