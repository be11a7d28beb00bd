"""Staff accounts as a shop's people meet them: invited, signing in (with a TOTP code when
they turned it on), limited by their role, signed out, and named on what they did."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp

from domain.events.models import OrderEvent
from domain.inventory.models import StockMovement
from domain.staff.models import StaffMember
from tests import factories
from tests.support import GraphQLClient, codes

SIGN_IN = """mutation($input: StaffSignInInput!) { staffSignIn(input: $input) {
  token expiresAt staff { id email role { code } totpEnabled } userErrors { field code } } }"""
CREATE = """mutation($input: StaffCreateInput!) { staffCreate(input: $input) {
  staff { id email active role { code permissions } } userErrors { field code message } } }"""
SET_PASSWORD = """mutation($input: StaffPasswordSetInput!) { staffPasswordSet(input: $input) {
  staff { email } userErrors { code } } }"""
ME = "{ staffMe { email role { code } } }"
PASSWORD = "a long staff password"
ADJUST = """mutation { inventoryAdjust(input: {sku: "SHOE", location: "a", delta: 3,
  reason: "found"}) { stockLevel { onHand } userErrors { code } } }"""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def emailed_code(api: GraphQLClient, address: str) -> str:
    found = re.search(r"\bsp_[\w-]+", api.inbox.to(address.strip().lower())[-1].text)
    assert found, api.inbox.to(address)
    return found.group(0)


async def sign_in(api: GraphQLClient, email: str, password: str = PASSWORD,
                  totp_code: str | None = None) -> dict[str, Any]:
    given: dict[str, Any] = {"email": email, "password": password}
    if totp_code is not None:
        given["totpCode"] = totp_code
    result: dict[str, Any] = (await api(SIGN_IN, {"input": given}, admin=False))["staffSignIn"]
    return result


async def staff(api: GraphQLClient, email: str, role: str,
                by: dict[str, str] | None = None) -> dict[str, str]:
    """Invite a member (by the admin token, or by ``by``), set their password with the
    emailed code, sign them in; their bearer headers."""
    created = (await api(CREATE, {"input": {"email": email, "role": role}},
                         admin=by is None, headers=by or {}))["staffCreate"]
    assert created["userErrors"] == [], created
    done = (await api(SET_PASSWORD, {"input": {"code": emailed_code(api, email),
                                               "password": PASSWORD}}, admin=False))
    assert done["staffPasswordSet"]["userErrors"] == [], done
    signed = await sign_in(api, email)
    assert signed["userErrors"] == [] and signed["token"], signed
    return bearer(signed["token"])


async def refused(api: GraphQLClient, headers: dict[str, str]) -> bool:
    response = await api.raw(ME, admin=False, headers=headers)
    return response.status_code == 401


async def test_an_invited_member_sets_a_password_signs_in_and_works_within_their_role(
        api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    owner = await staff(api, "Olga@Shop.test", "owner")
    assert (await api(ME, admin=False, headers=owner))["staffMe"] == {
        "email": "olga@shop.test", "role": {"code": "owner"}}
    warehouse = await staff(api, "wes@shop.test", "warehouse", by=owner)
    adjusted = (await api(ADJUST, admin=False, headers=warehouse))["inventoryAdjust"]
    assert adjusted == {"stockLevel": {"onHand": 8}, "userErrors": []}
    # Warehouse staff do not manage staff, and do not move money.
    errors = await api.errors(CREATE, {"input": {"email": "x@shop.test", "role": "owner"}},
                              admin=False, headers=warehouse)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    refund = await api.errors('mutation { paymentRefund(input: {paymentId: "UGF5bWVudDox", '
                              'amount: "1.00"}) { userErrors { code } } }', admin=False,
                              headers=warehouse)
    assert refund[0]["extensions"]["code"] == "FORBIDDEN"
    # A wrong password is refused like an unknown account.
    wrong = await sign_in(api, "wes@shop.test", "not the password at all")
    assert (wrong["token"], codes(wrong)) == (None, ["INVALID_CREDENTIALS"])
    unknown = await sign_in(api, "nobody@shop.test")
    assert codes(unknown) == ["INVALID_CREDENTIALS"]


async def test_a_manager_cannot_make_or_touch_an_owner(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    owner = await staff(api, "olga@shop.test", "owner")
    manager = await staff(api, "max@shop.test", "manager", by=owner)
    made = (await api(CREATE, {"input": {"email": "o2@shop.test", "role": "owner"}},
                      admin=False, headers=manager))["staffCreate"]
    assert codes(made) == ["NOT_PERMITTED"]
    assert not await StaffMember.exists(email="o2@shop.test")  # nothing changed
    owner_id = (await api(ME.replace("email", "id email"), admin=False, headers=owner)
                )["staffMe"]["id"]
    touched = (await api('mutation($id: ID!) { staffDeactivate(id: $id) { userErrors { code } } }',
                         {"id": owner_id}, admin=False, headers=manager))["staffDeactivate"]
    assert codes(touched) == ["NOT_PERMITTED"]
    # A manager does invite the roles within theirs, and makes custom ones from the list.
    await staff(api, "cara@shop.test", "customer_service", by=manager)
    role = (await api('mutation { staffRoleCreate(input: {code: "packer", name: "Packer", '
                      'permissions: [ORDERS_READ, FULFILLMENT_WRITE]}) { role { code builtIn '
                      'permissions } userErrors { code } } }', admin=False, headers=manager)
            )["staffRoleCreate"]
    assert role == {"role": {"code": "packer", "builtIn": False,
                             "permissions": ["FULFILLMENT_WRITE", "ORDERS_READ"]},
                    "userErrors": []}
    packer = await staff(api, "pia@shop.test", "packer", by=manager)
    errors = await api.errors(ADJUST, admin=False, headers=packer)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    # A new role counts from the member's next request, in the session they have.
    pia_id = (await api("{ staffMe { id } }", admin=False, headers=packer))["staffMe"]["id"]
    moved = (await api('mutation($id: ID!) { staffUpdate(input: {id: $id, role: "warehouse"}) '
                       '{ staff { role { code } } userErrors { code } } }', {"id": pia_id},
                       admin=False, headers=manager))["staffUpdate"]
    assert moved == {"staff": {"role": {"code": "warehouse"}}, "userErrors": []}
    assert (await api(ADJUST, admin=False, headers=packer))["inventoryAdjust"]["userErrors"] == []
    beyond = (await api('mutation { staffRoleCreate(input: {code: "hooks", name: "Hooks", '
                        'permissions: [WEBHOOKS_MANAGE]}) { userErrors { code } } }',
                        admin=False, headers=manager))["staffRoleCreate"]
    assert codes(beyond) == ["NOT_PERMITTED"]
    # The last active owner stays.
    last = (await api('mutation($id: ID!) { staffDeactivate(id: $id) { userErrors { code } } }',
                      {"id": owner_id}, admin=False, headers=owner))["staffDeactivate"]
    assert codes(last) == ["INVALID_INPUT"]


async def test_totp_asks_for_a_code_refuses_a_wrong_one_and_a_used_one(
        api: GraphQLClient) -> None:
    member = await staff(api, "tess@shop.test", "finance")
    setup = (await api("mutation { staffTotpSetup { secret provisioningUri userErrors { code } } }",
                       admin=False, headers=member))["staffTotpSetup"]
    assert setup["provisioningUri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup["secret"])
    previous = totp.at(time.time() - totp.interval)  # the step before: within the window
    confirmed = (await api('mutation($c: String!) { staffTotpConfirm(code: $c) { staff '
                           '{ totpEnabled } userErrors { code } } }', {"c": previous},
                           admin=False, headers=member))["staffTotpConfirm"]
    assert confirmed == {"staff": {"totpEnabled": True}, "userErrors": []}

    without = await sign_in(api, "tess@shop.test")
    assert (without["token"], codes(without)) == (None, ["SECOND_FACTOR_REQUIRED"])
    valid = {totp.at(time.time() + d * totp.interval) for d in (-1, 0, 1)}
    wrong_code = next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)
    wrong = await sign_in(api, "tess@shop.test", totp_code=wrong_code)
    assert (wrong["token"], codes(wrong)) == (None, ["INVALID_CREDENTIALS"])
    wrong_password = await sign_in(api, "tess@shop.test", "not the password", totp.now())
    assert codes(wrong_password) == ["INVALID_CREDENTIALS"]

    code = totp.now()
    signed = await sign_in(api, "tess@shop.test", totp_code=code)
    assert signed["userErrors"] == [] and signed["staff"]["totpEnabled"]
    replayed = await sign_in(api, "tess@shop.test", totp_code=code)
    assert (replayed["token"], codes(replayed)) == (None, ["INVALID_CREDENTIALS"])
    # The code that confirmed the set-up is older still: refused too.
    assert codes(await sign_in(api, "tess@shop.test", totp_code=previous)) == [
        "INVALID_CREDENTIALS"]


async def test_a_revoked_session_is_refused_at_once(api: GraphQLClient) -> None:
    owner = await staff(api, "olga@shop.test", "owner")
    laptop = await staff(api, "wes@shop.test", "warehouse", by=owner)
    phone = bearer((await sign_in(api, "wes@shop.test"))["token"])
    listed = (await api("{ staffSessions { id current } }", admin=False, headers=phone)
              )["staffSessions"]
    assert sorted(s["current"] for s in listed) == [False, True]
    other = next(s["id"] for s in listed if not s["current"])
    revoked = (await api('mutation($id: ID!) { staffSessionRevoke(id: $id) { session '
                         '{ revokedAt } userErrors { code } } }', {"id": other},
                         admin=False, headers=phone))["staffSessionRevoke"]
    assert revoked["userErrors"] == [] and revoked["session"]["revokedAt"]
    assert await refused(api, laptop)  # the next request with the laptop's token
    assert not await refused(api, phone)

    signed_out = (await api("mutation { staffSignOut { signedOut userErrors { code } } }",
                            admin=False, headers=phone))["staffSignOut"]
    assert signed_out == {"signedOut": True, "userErrors": []}
    assert await refused(api, phone)

    # A manager ends a member's sessions by deactivating them; a reset ends them too.
    tablet = bearer((await sign_in(api, "wes@shop.test"))["token"])
    member_id = (await api("{ staffMe { id } }", admin=False, headers=tablet))["staffMe"]["id"]
    await api('mutation($id: ID!) { staffDeactivate(id: $id) { staff { active } } }',
              {"id": member_id}, admin=False, headers=owner)
    assert await refused(api, tablet)
    assert codes(await sign_in(api, "wes@shop.test")) == ["INVALID_CREDENTIALS"]
    await api('mutation($id: ID!) { staffReactivate(id: $id) { staff { active } } }',
              {"id": member_id}, admin=False, headers=owner)
    again = bearer((await sign_in(api, "wes@shop.test"))["token"])
    reset = (await api('mutation($id: ID!) { staffPasswordReset(id: $id) { userErrors { code } } }',
                       {"id": member_id}, admin=False, headers=owner))["staffPasswordReset"]
    assert reset == {"userErrors": []}
    assert await refused(api, again)
    assert codes(await sign_in(api, "wes@shop.test")) == ["INVALID_CREDENTIALS"]
    await api(SET_PASSWORD, {"input": {"code": emailed_code(api, "wes@shop.test"),
                                       "password": "another long password"}}, admin=False)
    assert (await sign_in(api, "wes@shop.test", "another long password"))["token"]
    # Someone else's session is not theirs to end (not found for them).
    owner_sessions = (await api("{ staffSessions { id } }", admin=False, headers=owner)
                      )["staffSessions"]
    warehouse = bearer((await sign_in(api, "wes@shop.test", "another long password"))["token"])
    foreign = (await api('mutation($id: ID!) { staffSessionRevoke(id: $id) { userErrors '
                         '{ code } } }', {"id": owner_sessions[0]["id"]}, admin=False,
                         headers=warehouse))["staffSessionRevoke"]
    assert codes(foreign) == ["NOT_FOUND"]
    assert not await refused(api, owner)


async def test_events_and_ledger_rows_name_the_staff_member_who_did_it(
        api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    cs = await staff(api, "cara@shop.test", "customer_service")
    wes = await staff(api, "wes@shop.test", "warehouse")
    cara_id = (await api("{ staffMe { id } }", admin=False, headers=cs))["staffMe"]["id"]
    wes_id = (await api("{ staffMe { id } }", admin=False, headers=wes))["staffMe"]["id"]
    placed = (await api("""mutation { orderCreate(input: {channel: "web", email: "b@x.test",
        shippingAddress: {name: "B", line1: "1 Main St", city: "Berlin", postalCode: "10115",
        country: "DE"}, lines: [{sku: "SHOE", quantity: 2}]}) { order { id }
        userErrors { code } } }""", admin=False, headers=cs))["orderCreate"]
    assert placed["userErrors"] == []
    order = placed["order"]["id"]
    await api('mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }',
              {"id": order})  # the admin token: no staff member
    shipped = (await api('mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) '
                         '{ shipment { id } userErrors { code } } }', {"o": order},
                         admin=False, headers=wes))["shipmentCreate"]
    assert shipped["userErrors"] == []
    await api('mutation($s: ID!) { shipmentShip(input: {shipmentId: $s}) { userErrors { code } } }',
              {"s": shipped["shipment"]["id"]}, admin=False, headers=wes)
    await api(ADJUST, admin=False, headers=wes)

    timeline = (await api('query($id: ID!) { order(id: $id) { events { type actor '
                          'actorStaffId } } }', {"id": order}, admin=False, headers=cs)
                )["order"]["events"]
    by_type = {e["type"]: e for e in timeline}
    assert by_type["ORDER_PLACED"]["actorStaffId"] == cara_id
    assert by_type["ORDER_PLACED"]["actor"] == "staff:cara@shop.test"
    assert by_type["STOCK_RESERVED"]["actorStaffId"] == cara_id  # written in the same batch
    assert by_type["ORDER_CONFIRMED"]["actorStaffId"] is None
    assert by_type["SHIPMENT_CREATED"]["actorStaffId"] == wes_id
    cara = await StaffMember.get(email="cara@shop.test")
    wes_row = await StaffMember.get(email="wes@shop.test")
    ledger = [(m.kind.value, m.actor_staff_id) for m in await StockMovement.all().order_by("id")]
    assert ledger[0][1] is None  # the factory's stock, written outside any request
    assert ("RESERVATION", cara.id) in ledger
    assert ("SHIPMENT", wes_row.id) in ledger
    assert ("RECEIPT", wes_row.id) in ledger  # the adjustment that found three
    # Outside any request nothing is attributed.
    assert await OrderEvent.filter(actor_staff_id__isnull=False).count() == len(
        [e for e in timeline if e["actorStaffId"]])


async def test_guessing_a_staff_password_is_slowed_like_a_customers(api: GraphQLClient) -> None:
    await staff(api, "wes@shop.test", "warehouse")
    for _ in range(5):
        assert codes(await sign_in(api, "wes@shop.test", "a wrong guess here")) == [
            "INVALID_CREDENTIALS"]
    errors = await api.errors(SIGN_IN, {"input": {"email": "wes@shop.test",
                                                  "password": PASSWORD}}, admin=False)
    assert errors[0]["extensions"]["code"] == "RATE_LIMITED"
    assert errors[0]["extensions"]["retryAfter"] >= 1


async def test_a_signed_out_members_subscriptions_close(app: Any, api: GraphQLClient) -> None:
    from api.sessions import CLOSE_CODE
    from tests.api.test_sessions import _closed
    from tests.api.test_subscriptions import AVAILABILITY, subscriber

    await factories.shop({"SHOE": {"a": 5}})
    member = await staff(api, "wes@shop.test", "warehouse")
    token = member["Authorization"].split(" ", 1)[1]
    async with subscriber(app) as sub:
        assert (await sub.init(token))["type"] == "connection_ack"
        await sub.subscribe(AVAILABILITY, {"skus": ["SHOE"]})
        assert (await sub.data(1))[0]["availabilityChanged"]["available"] == 5
        await api("mutation { staffSignOut { signedOut } }", admin=False, headers=member)
        closed = await _closed(sub)
    assert (closed.code, closed.reason) == (CLOSE_CODE, "Token revoked")
