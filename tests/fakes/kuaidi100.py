"""A small Kuaidi100: tracking subscriptions, and pushes signed the way it signs them."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import LocalServer

KEY = "kuaidi100-customer-key"
SALT = "kuaidi100-salt"


class FakeKuaidi100:
    def __init__(self) -> None:
        self.subscriptions: list[dict[str, Any]] = []
        self._server = LocalServer(Starlette(routes=[
            Route("/poll", self.poll, methods=["POST"])]))
        self.url = self._server.url

    async def poll(self, request: Request) -> JSONResponse:
        form = await request.form()
        if form.get("schema") != "json":
            return JSONResponse({"result": False, "returnCode": "400", "message": "schema"})
        param = json.loads(str(form["param"]))
        if param.get("key") != KEY:
            return JSONResponse({"result": False, "returnCode": "601", "message": "key 无效"})
        if any(s["number"] == param["number"] for s in self.subscriptions):
            return JSONResponse({"result": False, "returnCode": "501", "message": "重复订阅"})
        self.subscriptions.append(param)
        return JSONResponse({"result": True, "returnCode": "200", "message": "提交成功"})

    @staticmethod
    def push(number: str, company: str, *items: tuple[str, str, str],
             salt: str = SALT) -> bytes:
        """A push with (status word, Beijing time, context) items, newest first."""
        param = json.dumps({"status": "polling", "message": "", "lastResult": {
            "message": "ok", "state": "0", "ischeck": "0", "com": company, "nu": number,
            "data": [{"status": s, "time": t, "ftime": t, "context": c, "areaName": "深圳市"}
                     for s, t, c in items]}}, ensure_ascii=False)
        return urlencode({"param": param, "sign": push_sign(param, salt)}).encode()

    async def __aenter__(self) -> FakeKuaidi100:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._server.stop()


def push_sign(param: str, salt: str) -> str:
    """Kuaidi100's documented push signature, written here rather than taken from the
    adapter: upper-case hex MD5 of the param JSON followed by the salt."""
    return hashlib.md5((param + salt).encode(), usedforsecurity=False).hexdigest().upper()
