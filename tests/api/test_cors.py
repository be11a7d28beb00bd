"""Cross-origin pages: CORS answers from OMS_ALLOWED_ORIGINS, and the websocket reads the same list."""

from __future__ import annotations

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.cors import cors
from api.settings import ConfigurationError, Settings
from tests.support import ADMIN, ALLOWED_ORIGIN, GraphQLClient

PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}


async def test_preflight_from_an_allowed_origin_allows_the_api_headers(api: GraphQLClient) -> None:
    response = await api.http.options("/graphql", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


async def test_preflight_from_another_origin_gets_no_cors_headers(api: GraphQLClient) -> None:
    response = await api.http.options("/graphql",
                                      headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert response.status_code == 400
    assert not [k for k in response.headers if k.lower().startswith("access-control-")]


async def test_responses_name_the_allowed_origin_and_expose_the_request_id(
        api: GraphQLClient) -> None:
    response = await api.http.post("/graphql", json={"query": "{ channels { code } }"},
                                   headers={"Origin": ALLOWED_ORIGIN, **ADMIN})
    assert response.status_code == 200 and response.json()["data"] == {"channels": []}
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-expose-headers"] == "X-Request-ID"
    assert "origin" in response.headers["vary"].lower()

    other = await api.http.post("/graphql", json={"query": "{ channels { code } }"},
                                headers={"Origin": "https://evil.example"})
    assert not [k for k in other.headers if k.lower().startswith("access-control-")]


async def test_the_websocket_accepts_the_same_origins(app: object, api: GraphQLClient) -> None:
    async def connect(origin: str) -> str:
        async with (
            httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app),  # type: ignore[arg-type]
                              base_url="http://oms.test") as client,
            aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"],
                        headers={"Origin": origin}) as ws,
        ):
            await ws.send_json({"type": "connection_init", "payload": {}})
            return str((await ws.receive_json())["type"])

    assert await connect(ALLOWED_ORIGIN) == "connection_ack"
    with pytest.raises(ExceptionGroup) as refused:  # the in-process transport wraps the close
        await connect("https://evil.example")
    assert refused.group_contains(WebSocketDisconnect, match="1008")


async def test_a_star_allows_every_origin_without_credentials() -> None:
    async def ok(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", ok, methods=["GET", "POST"])], middleware=[cors(("*",))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://oms.test") as client:
        response = await client.options("/", headers={"Origin": "https://any.example",
                                                      **PREFLIGHT})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        answer = await client.get("/", headers={"Origin": "https://any.example"})
        assert answer.headers["access-control-allow-origin"] == "*"


def test_allowed_origins_are_origins_or_a_star() -> None:
    env = {"OMS_ALLOWED_ORIGINS": " https://shop.example , http://localhost:5173 "}
    assert Settings.from_env(env).allowed_origins == ("https://shop.example",
                                                      "http://localhost:5173")
    assert Settings.from_env({"OMS_ALLOWED_ORIGINS": "*"}).allowed_origins == ("*",)
    assert Settings.from_env({}).allowed_origins == ()
    for wrong in ("shop.example", "https://shop.example/", "https://shop.example/app", "ftp://x"):
        with pytest.raises(ConfigurationError, match="OMS_ALLOWED_ORIGINS"):
            Settings.from_env({"OMS_ALLOWED_ORIGINS": wrong})
