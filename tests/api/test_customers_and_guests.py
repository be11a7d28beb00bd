"""Customers, guests and storefronts each see exactly what is theirs."""

from __future__ import annotations

from typing import Any

from tests import factories
from tests.support import GraphQLClient, codes

REGISTER = """mutation($input: CustomerRegisterInput!) { customerRegister(input: $input) {
  confirmationSent userErrors { field code } } }"""
CONFIRM = """mutation($t: String!) { customerRegisterConfirm(token: $t) {
  customer { email } tokens { accessToken refreshToken expiresIn } userErrors { field code } } }"""
SIGN_IN = """mutation($input: CustomerTokenCreateInput!) { customerTokenCreate(input: $input) {
  tokens { accessToken refreshToken } userErrors { code } } }"""
REFRESH = """mutation($t: String!) { customerTokenRefresh(refreshToken: $t) {
  tokens { accessToken refreshToken } userErrors { code message } } }"""
PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number email } orderAccessToken userErrors { field code message } } }"""
ME = "{ me { email orders { edges { node { number } } } } }"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _order(email: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"input": {"channel": "web", "lines": [{"sku": "SHOE", "quantity": 1}],
                      "shippingAddress": factories.address(),
                      **({"email": email} if email else {}), **extra}}


async def _register(api: GraphQLClient, email: str) -> dict[str, Any]:
    """Register, then confirm with the code that the email brought."""
    data = (await api(REGISTER, {"input": {"email": email, "password": "correct horse battery"}},
                      admin=False))["customerRegister"]
    assert data == {"confirmationSent": True, "userErrors": []}, data
    confirmed = (await api(CONFIRM, {"t": api.inbox.code(email.strip().lower())},
                           admin=False))["customerRegisterConfirm"]
    assert confirmed["userErrors"] == [], confirmed
    return confirmed["tokens"]


async def test_a_customer_registers_orders_and_sees_only_their_orders(
    api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    guest_order = await factories.place({"SHOE": 1}, email="ann@example.com")  # before signing up
    tokens = await _register(api, "Ann@Example.com")
    ann = bearer(tokens["accessToken"])
    placed = (await api(PLACE, _order(), admin=False, headers=ann))["orderCreate"]
    assert placed["order"]["email"] == "ann@example.com"
    me = (await api(ME, admin=False, headers=ann))["me"]
    assert me["email"] == "ann@example.com"
    assert [e["node"]["number"] for e in me["orders"]["edges"]] == [placed["order"]["number"]]
    hidden = await api('query($n: String!) { order(number: $n) { id } }',
                       {"n": guest_order.number}, admin=False, headers=ann)  # type: ignore[attr-defined]
    assert hidden["order"] is None  # a guest order of the same email is not proof of identity

    bob = bearer((await _register(api, "bob@example.com"))["accessToken"])
    assert (await api('query($id: ID!) { order(id: $id) { id } }',
                      {"id": placed["order"]["id"]}, admin=False, headers=bob))["order"] is None
    lookup = 'query($e: String!) { customer(email: $e) { email } }'
    assert (await api(lookup, {"e": "ann@example.com"}, admin=False, headers=bob))[
        "customer"] is None  # another customer's details are not found
    assert (await api(lookup, {"e": "bob@example.com"}, admin=False, headers=bob))[
        "customer"] == {"email": "bob@example.com"}
    confirm = await api.errors("mutation($id: ID!) { orderConfirm(id: $id) { userErrors "
                               "{ code } } }", {"id": placed["order"]["id"]}, admin=False,
                               headers=ann)
    assert confirm[0]["extensions"]["code"] == "FORBIDDEN"  # customers do not run the shop


async def test_sign_in_refresh_and_a_stolen_refresh_token(api: GraphQLClient) -> None:
    await _register(api, "cat@example.com")
    wrong = (await api(SIGN_IN, {"input": {"email": "cat@example.com", "password": "nope"}},
                       admin=False))["customerTokenCreate"]
    assert codes(wrong) == ["INVALID_CREDENTIALS"]
    nobody = (await api(SIGN_IN, {"input": {"email": "no@example.com", "password": "nope"}},
                        admin=False))["customerTokenCreate"]
    assert codes(nobody) == ["INVALID_CREDENTIALS"]
    signed = (await api(SIGN_IN, {"input": {"email": "cat@example.com",
                                            "password": "correct horse battery"}},
                        admin=False))["customerTokenCreate"]["tokens"]
    first = signed["refreshToken"]
    renewed = (await api(REFRESH, {"t": first}, admin=False))["customerTokenRefresh"]["tokens"]
    assert renewed["refreshToken"] != first
    replayed = (await api(REFRESH, {"t": first}, admin=False))["customerTokenRefresh"]
    assert codes(replayed) == ["INVALID_CREDENTIALS"]
    # The reuse revoked the whole family, the newest token included.
    after = (await api(REFRESH, {"t": renewed["refreshToken"]}, admin=False))
    assert codes(after["customerTokenRefresh"]) == ["INVALID_CREDENTIALS"]
    again = (await api(REGISTER, {"input": {"email": "cat@example.com",
                                            "password": "another long one"}}, admin=False))
    # The same answer as for a new address: registering tells nobody who has an account.
    assert again["customerRegister"] == {"confirmationSent": True, "userErrors": []}
    assert api.inbox.to("cat@example.com")[-1].subject == "You already have an account"
    short = (await api(REGISTER, {"input": {"email": "dog@example.com", "password": "short"}},
                       admin=False))
    assert codes(short["customerRegister"]) == ["INVALID_INPUT"]


async def test_sign_in_attempts_are_throttled(api: GraphQLClient) -> None:
    await _register(api, "eve@example.com")
    for _ in range(5):
        await api.raw(SIGN_IN, {"input": {"email": "eve@example.com", "password": "guess"}},
                      admin=False)
    errors = await api.errors(SIGN_IN, {"input": {"email": "eve@example.com",
                                                  "password": "correct horse battery"}},
                              admin=False)
    assert errors[0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_guest_follows_one_order_with_its_access_token(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    key = (await api('mutation { storefrontKeyCreate(channel: "web") { key } }'))[
        "storefrontKeyCreate"]["key"]
    storefront = bearer(key)
    placed = (await api(PLACE, _order("guest@example.com"), admin=False,
                        headers=storefront))["orderCreate"]
    guest = bearer(placed["orderAccessToken"])
    mine = await api('query($id: ID!) { order(id: $id) { number events { type } } }',
                     {"id": placed["order"]["id"]}, admin=False, headers=guest)
    assert mine["order"]["number"] == placed["order"]["number"]
    other = await factories.place({"SHOE": 1})
    theirs = await api('query($n: String!) { order(number: $n) { id } }',
                       {"n": other.number}, admin=False, headers=guest)  # type: ignore[attr-defined]
    assert theirs["order"] is None
    listed = await api("{ orders { edges { node { number } } } }", admin=False, headers=guest)
    assert [e["node"]["number"] for e in listed["orders"]["edges"]] == [placed["order"]["number"]]
    # The storefront key places orders on its channel only, and reads no orders.
    await factories.channel("b2b", locations=["a"])
    elsewhere = (await api(PLACE, {"input": {**_order("x@example.com")["input"],
                                             "channel": "b2b"}}, admin=False,
                           headers=storefront))["orderCreate"]
    assert codes(elsewhere) == ["UNKNOWN_CHANNEL"]
    errors = await api.errors("{ orders { edges { cursor } } }", admin=False, headers=storefront)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_registering_on_a_guests_email_needs_the_mailbox(api: GraphQLClient) -> None:
    """Whoever knows a guest's email cannot take over their history: the account exists only
    once the emailed code comes back, and the answer is the same for known and new emails."""
    await factories.shop({"SHOE": {"a": 10}})
    await factories.place({"SHOE": 1}, email="guest@example.com")
    attacker = {"input": {"email": "guest@example.com", "password": "attacker password"}}
    newcomer = {"input": {"email": "new@example.com", "password": "attacker password"}}
    known = (await api(REGISTER, attacker, admin=False))["customerRegister"]
    unknown = (await api(REGISTER, newcomer, admin=False))["customerRegister"]
    assert known == unknown == {"confirmationSent": True, "userErrors": []}
    # Without the code, the password does not open anything.
    signed = (await api(SIGN_IN, attacker, admin=False))["customerTokenCreate"]
    assert codes(signed) == ["INVALID_CREDENTIALS"]
    guessed = (await api(CONFIRM, {"t": "ev_guessed"}, admin=False))["customerRegisterConfirm"]
    assert codes(guessed) == ["INVALID_CREDENTIALS"]
    # The owner of the mailbox confirms; the code works once.
    code = api.inbox.code("guest@example.com")
    confirmed = (await api(CONFIRM, {"t": code}, admin=False))["customerRegisterConfirm"]
    assert confirmed["customer"] == {"email": "guest@example.com"}
    again = (await api(CONFIRM, {"t": code}, admin=False))["customerRegisterConfirm"]
    assert codes(again) == ["INVALID_CREDENTIALS"]
    signed = (await api(SIGN_IN, attacker, admin=False))["customerTokenCreate"]
    assert signed["userErrors"] == []
