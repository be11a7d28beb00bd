"""Every inbound route answers a malformed header or body with a 400 and a JSON error.

The webhook bodies are signed the way each vendor documents, so they reach the
code that reads them; none of them may be a 5xx, a traceback, or a dropped socket.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from integrations.carriers.builtin import sign as builtin_sign
from integrations.carriers.easypost import EasyPostCarrier
from integrations.carriers.kuaidi100 import Kuaidi100Carrier
from integrations.payments.stripe import StripeGateway
from tests.api.test_shopify import PATH as SHOPIFY_PATH
from tests.api.test_shopify import SECRET as SHOPIFY_SECRET
from tests.api.test_shopify import _connect as connect_shopify
from tests.conftest import _truncate as truncate
from tests.fakes import stripe as fake_stripe
from tests.fakes.easypost import WEBHOOK_SECRET as EASYPOST_SECRET
from tests.fakes.easypost import webhook_signature
from tests.fakes.kuaidi100 import SALT, push_sign
from tests.fakes.shopify import webhook_hmac
from tests.support import ADMIN, ADMIN_TOKEN, GraphQLClient

CARRIER_SECRET = "carrier-secret"
NOWHERE = "http://127.0.0.1:9"  # the vendors' APIs are never called by these requests

BODIES: dict[str, bytes] = {
    "null": b"null",
    "a number": b"1",
    "a string": b'"x"',
    "an array": b"[]",
    "an array of objects": b'[{"id": 1}]',
    "100000 levels of [": b"[" * 100_000,
    "50000 levels of {": b'{"a":' * 50_000,
    "70 levels, parsable": b'{"id": 1, "a": ' + b"[" * 70 + b"]" * 70 + b"}",
    "invalid UTF-8": b'{"id": "\xff\xfe"}',
    "not JSON": b"{nope",
    "empty": b"",
    "fields of the wrong types": (
        b'{"id": {}, "type": ["charge.refunded"], "data": 5, "events": 5, "result": 5,'
        b' "description": "tracker.updated", "line_items": {}, "lastResult": 5}'),
    "nested fields of the wrong types": (
        b'{"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": "ch_1",'
        b' "amount_refunded": "lots", "currency": "xyz"}},'
        b' "events": [{"trackingNumber": {}, "status": "delivered", "occurredAt": "soon"}],'
        b' "description": "tracker.updated", "result": {"tracking_code": "T",'
        b' "tracking_details": [5]}, "line_items": [{"sku": null, "quantity": "2"}],'
        b' "lastResult": {"nu": [], "data": [{"status": "\xe7\xad\xbe\xe6\x94\xb6",'
        b' "ftime": "never"}]}}'),
}

SIGNATURES: dict[str, bytes] = {
    "non-ASCII (UTF-8)": "t=1,v1=é".encode(),
    "non-ASCII (Latin-1)": b"\xff\xfe",
    "over-long": b"v" * 5000,
}


def _stripe(body: bytes, signature: bytes | None) -> tuple[str, bytes, dict[str, Any]]:
    header = signature or fake_stripe.signature_header(body, STRIPE_SECRET).encode()
    return "/webhooks/stripe", body, {"Stripe-Signature": header}


def _builtin(body: bytes, signature: bytes | None) -> tuple[str, bytes, dict[str, Any]]:
    header = signature or builtin_sign(body, CARRIER_SECRET).encode()
    return "/webhooks/carriers/builtin", body, {"X-OMS-Signature": header}


def _easypost(body: bytes, signature: bytes | None) -> tuple[str, bytes, dict[str, Any]]:
    header = signature or webhook_signature(body, EASYPOST_SECRET).encode()
    return "/webhooks/carriers/easypost", body, {"X-Hmac-Signature": header}


def _kuaidi100(body: bytes, signature: bytes | None) -> tuple[str, bytes, dict[str, Any]]:
    """Kuaidi100 posts a form: ``param`` (the JSON) and ``sign`` (its MD5 with our salt)."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    path = "/webhooks/carriers/kuaidi100"
    try:
        param = body.decode()
    except UnicodeDecodeError:
        return path, b"param=" + body + b"&sign=00", form  # the raw form is not UTF-8
    if signature is not None:  # the sign travels in the body, unencoded as some clients do
        return path, f"param={quote(param)}&sign=".encode() + signature, form
    return path, urlencode({"param": param, "sign": push_sign(param, SALT)}).encode(), form


def _shopify(topic: str, header: str = "X-Shopify-Hmac-Sha256"
             ) -> Callable[[bytes, bytes | None], tuple[str, bytes, dict[str, Any]]]:
    def send(body: bytes, malformed: bytes | None) -> tuple[str, bytes, dict[str, Any]]:
        headers: dict[str, Any] = {
            "X-Shopify-Hmac-Sha256": webhook_hmac(body, SHOPIFY_SECRET),
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": hashlib.sha256(topic.encode() + body).hexdigest()[:32]}
        if malformed is not None:
            headers[header] = malformed
        return SHOPIFY_PATH, body, headers
    return send


STRIPE_SECRET = fake_stripe.WEBHOOK_SECRET
WEBHOOKS = {
    "stripe": _stripe,
    "carriers/builtin": _builtin,
    "carriers/easypost": _easypost,
    "carriers/kuaidi100": _kuaidi100,
    "shopify orders/create": _shopify("orders/create"),
    "shopify orders/updated": _shopify("orders/updated"),
    "shopify orders/cancelled": _shopify("orders/cancelled"),
}
HEADER_ROUTES = {
    **WEBHOOKS,
    "shopify topic header": _shopify("orders/create", "X-Shopify-Topic"),
    "shopify webhook id header": _shopify("orders/create", "X-Shopify-Webhook-Id"),
}


@pytest.fixture(scope="module")
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Every webhook route configured, and a client that sees a 500 instead of raising.

    Set up once for the module: every request here is refused and changes nothing.
    """
    await truncate()
    services = app.state.services
    services.carriers["builtin"]._secret = CARRIER_SECRET
    services.carriers["easypost"] = EasyPostCarrier(
        api_key="k", webhook_secret=EASYPOST_SECRET, api_base=NOWHERE)
    services.carriers["kuaidi100"] = Kuaidi100Carrier(
        key="k", salt=SALT, callback_url=f"{NOWHERE}/webhooks/carriers/kuaidi100",
        api_base=NOWHERE)
    services.gateways["stripe"] = StripeGateway(api_key="sk_test", webhook_secret=STRIPE_SECRET,
                                                api_base=NOWHERE)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client:
            await connect_shopify(GraphQLClient(client))
            yield client
    finally:
        services.carriers["builtin"]._secret = None
        await services.carriers.pop("easypost").close()
        await services.carriers.pop("kuaidi100").close()
        services.gateways.pop("stripe")


def _refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json", response.text
    message = response.json()["error"]
    assert isinstance(message, str) and "Traceback" not in message
    return message


@pytest.mark.parametrize("route", WEBHOOKS)
@pytest.mark.parametrize("shape", BODIES)
async def test_a_malformed_signed_webhook_body_is_a_400(
    http: httpx.AsyncClient, route: str, shape: str,
) -> None:
    path, content, headers = WEBHOOKS[route](BODIES[shape], None)
    response = await http.post(path, content=content, headers=headers)
    if response.status_code == 200:  # an update that cancels nothing: its lines go unread
        assert route in ("shopify orders/updated", "shopify orders/cancelled"), response.text
        assert response.json() == {"outcome": "ignored"}
        return
    _refused(response)


@pytest.mark.parametrize("route", HEADER_ROUTES)
@pytest.mark.parametrize("signature", SIGNATURES)
async def test_a_malformed_signature_header_is_a_400(
    http: httpx.AsyncClient, route: str, signature: str,
) -> None:
    path, content, headers = HEADER_ROUTES[route](b'{"id": 1}', SIGNATURES[signature])
    _refused(await http.post(path, content=content, headers=headers))


@pytest.mark.parametrize("route", WEBHOOKS)
async def test_a_signature_with_a_1000_digit_timestamp_is_refused(
    http: httpx.AsyncClient, route: str,
) -> None:
    """Well formed, within the header limit, and wrong: refused like any bad signature."""
    path, content, headers = WEBHOOKS[route](b'{"id": 1}', b"t=" + b"9" * 1000 + b",v1=00")
    status = 401 if route.startswith("shopify") else 400  # Shopify's refusal is a 401
    _refused(await http.post(path, content=content, headers=headers), status)


@pytest.mark.parametrize("route", WEBHOOKS)
async def test_a_webhook_body_over_the_limit_is_a_413(http: httpx.AsyncClient, route: str) -> None:
    path, content, headers = WEBHOOKS[route](b" " * 1_000_001, None)
    _refused(await http.post(path, content=content, headers=headers), 413)


GRAPHQL_BODIES: dict[str, bytes] = {
    **{name: BODIES[name] for name in (
        "null", "a number", "a string", "an array", "an array of objects",
        "100000 levels of [", "50000 levels of {", "invalid UTF-8", "not JSON", "empty")},
    "no query": b"{}",
    "query null": b'{"query": null}',
    "query a number": b'{"query": 5}',
    "query an object": b'{"query": {"q": "{ channels { code } }"}}',
    "variables an array": b'{"query": "{ channels { code } }", "variables": [1]}',
    "variables a string": b'{"query": "{ channels { code } }", "variables": "{}"}',
    "operationName a number": b'{"query": "{ channels { code } }", "operationName": 5}',
    "operationName a list": b'{"query": "{ channels { code } }", "operationName": ["a"]}',
    "extensions an array": b'{"query": "{ channels { code } }", "extensions": []}',
    "variables 100 deep": (b'{"query": "query($s: [String!]!) { availability(skus: $s) { sku } }",'
                           b' "variables": {"s": ' + b"[" * 100 + b"]" * 100 + b"}}"),
}


@pytest.mark.parametrize("shape", GRAPHQL_BODIES)
async def test_a_malformed_graphql_body_is_a_400_bad_request(
    http: httpx.AsyncClient, shape: str,
) -> None:
    response = await http.post("/graphql", content=GRAPHQL_BODIES[shape],
                               headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"], body


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
    "multipart/form-data; boundary=x", "application/graphql"])
async def test_a_graphql_body_of_another_content_type_is_a_400_bad_request(
    http: httpx.AsyncClient, content_type: str | None,
) -> None:
    headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
    response = await http.post("/graphql", content=b'{"query": "{ channels { code } }"}',
                               headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


FRAMES: dict[str, str] = {
    "payload null": '{"id": "1", "type": "subscribe", "payload": null}',
    "payload an array": '{"id": "1", "type": "subscribe", "payload": []}',
    "payload without a query": '{"id": "1", "type": "subscribe", "payload": {}}',
    "query a number": '{"id": "1", "type": "subscribe", "payload": {"query": 5}}',
    "variables an array": ('{"id": "1", "type": "subscribe", "payload": '
                           '{"query": "{ channels { code } }", "variables": [1]}}'),
    "operationName a number": ('{"id": "1", "type": "subscribe", "payload": '
                               '{"query": "{ channels { code } }", "operationName": 5}}'),
    "an id that is an object": '{"id": {}, "type": "subscribe", "payload": {"query": "{ a }"}}',
    "no id": '{"type": "subscribe", "payload": {"query": "{ channels { code } }"}}',
    "complete with a list id": '{"id": [], "type": "complete"}',
    "a number": "1",
    "an array": "[]",
    "null": "null",
    "a string": '"subscribe"',
    "invalid JSON": "{nope",
    "100000 levels of [": "[" * 100_000,
    "a type that is an object": '{"type": {}}',
    "a document that does not parse": ('{"id": "1", "type": "subscribe", "payload": '
                                       '{"query": "subscription {"}}'),
}


@pytest.mark.parametrize("frame", FRAMES)
async def test_a_malformed_websocket_message_closes_with_4400(app: Any, frame: str) -> None:
    transport = ASGIWebSocketTransport(app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client,
        aconnect_ws("http://oms.test/graphql", client, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_json({"type": "connection_init",
                            "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_text(FRAMES[frame])
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text(timeout=10)
    assert closed.value.code == 4400, closed.value
    assert "object is not" not in (closed.value.reason or "")  # no Python error text


async def test_the_websocket_serves_on_after_a_malformed_message(app: Any) -> None:
    transport = ASGIWebSocketTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client:
        for frame in (FRAMES["payload null"], FRAMES["a number"]):
            async with aconnect_ws("http://oms.test/graphql", client,
                                   subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send_json({"type": "connection_init", "payload": {}})
                await ws.receive_json(timeout=10)
                await ws.send_text(frame)
                with pytest.raises(WebSocketDisconnect):
                    await ws.receive_text(timeout=10)
        async with aconnect_ws("http://oms.test/graphql", client,
                               subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {}})
            await ws.receive_json(timeout=10)
            await ws.send_json({"id": "1", "type": "subscribe",
                                "payload": {"query": "{ __typename }"}})
            answer = await ws.receive_json(timeout=10)
    assert answer["type"] == "next" and answer["payload"]["data"] == {"__typename": "Query"}


OAUTH: dict[str, tuple[bytes, dict[str, Any]]] = {
    "JSON": (b'{"grant_type": "client_credentials"}', {"Content-Type": "application/json"}),
    "null": (b"null", {"Content-Type": "application/json"}),
    "no content type": (b"grant_type=client_credentials", {}),
    "multipart without a boundary": (b"x", {"Content-Type": "multipart/form-data"}),
    "invalid UTF-8": (b"grant_type=client_credentials&client_id=\xff",
                      {"Content-Type": "application/x-www-form-urlencoded"}),
    "a parameter twice": (b"grant_type=client_credentials&grant_type=password",
                          {"Content-Type": "application/x-www-form-urlencoded"}),
    "too many parameters": (b"&".join(b"p%d=1" % n for n in range(100)),
                            {"Content-Type": "application/x-www-form-urlencoded"}),
    "an over-long client id": (b"grant_type=client_credentials&client_secret=s&client_id="
                               + b"a" * 100_000,
                               {"Content-Type": "application/x-www-form-urlencoded"}),
    "Basic credentials not ASCII": (b"grant_type=client_credentials", {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": b"Basic YTpi\xc3\xa9"}),
    "Basic credentials over-long": (b"grant_type=client_credentials", {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": b"Basic " + b"YQ" * 5000}),
    "Basic credentials not base64": (b"grant_type=client_credentials", {
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic %%%"}),
}


@pytest.mark.parametrize("shape", OAUTH)
async def test_a_malformed_token_request_is_an_oauth_error(http: httpx.AsyncClient,
                                                           shape: str) -> None:
    body, headers = OAUTH[shape]
    response = await http.post("/oauth/token", content=body, headers=headers)
    assert response.status_code in (400, 401), (response.status_code, response.text)
    assert response.json()["error"] in ("invalid_request", "invalid_client"), response.text
    assert response.headers["cache-control"] == "no-store"
