"""Each operation, tried by each kind of caller, with the exact outcome they must get."""

from __future__ import annotations

from typing import Any

from domain.partners.service import SCOPES
from tests import factories
from tests.api.test_customers_and_guests import _register, bearer
from tests.api.test_partners import _bearer
from tests.support import GraphQLClient

OK, UNAUTH, FORBIDDEN, HIDDEN = "ok", "UNAUTHENTICATED", "FORBIDDEN", "hidden"


async def _world(api: GraphQLClient) -> dict[str, str]:
    """An order on channel web, confirmed, with a shipment and a manual payment."""
    await factories.shop({"SHOE": {"a": 5}})
    await factories.channel("other", locations=["a"])
    placed = (await api('mutation { orderCreate(input: {channel: "web", email: "o@example.com", '
                        'shippingAddress: {name: "Ann", line1: "1 Main St", city: "Berlin", '
                        'postalCode: "10115", country: "DE"}, '
                        'lines: [{sku: "SHOE", quantity: 2}], payment: {provider: "manual", '
                        'method: "invoice"}}) { order { id lines { id } customer { id } } '
                        'payment { id } } }'))
    order = placed["orderCreate"]["order"]
    await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
              {"id": order["id"]})
    shipment = (await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                          "{ shipment { id } } }", {"o": order["id"]}))["shipmentCreate"]
    product = (await api('{ variant(sku: "SHOE") { product { id } } }'))["variant"]["product"]
    price_list = (await api('mutation { priceListCreate(input: {code: "web-retail", '
                            'name: "Retail", channel: "web", currency: "EUR"}) '
                            "{ priceList { id } } }"))["priceListCreate"]["priceList"]
    await api('mutation { customerGroupCreate(input: {code: "vip", name: "VIP"}) '
              "{ userErrors { code } } }")
    invoice = (await api("mutation($o: ID!) { invoiceIssue(orderId: $o) { invoice { id } } }",
                         {"o": order["id"]}))["invoiceIssue"]["invoice"]
    promotion = (await api('mutation { promotionCreate(input: {name: "Spring", '
                           'kind: PERCENTAGE, target: LINES, value: "10", requiresCode: true}) '
                           "{ promotion { id } } }"))["promotionCreate"]["promotion"]
    company = (await api('mutation { companyCreate(input: {code: "acme", name: "Acme"}) '
                         "{ company { id } } }"))["companyCreate"]["company"]["id"]
    place = (await api('mutation($c: ID!) { companyLocationAdd(input: {companyId: $c, '
                       'name: "HQ", address: {name: "Acme", line1: "1 Main St", city: "Berlin", '
                       'postalCode: "10115", country: "DE"}}) { location { id } } }',
                       {"c": company}))["companyLocationAdd"]["location"]["id"]
    return {"promotion": promotion["id"], "company": company, "companyLocation": place,
            "order": order["id"], "line": order["lines"][0]["id"], "product": product["id"],
            "payment": placed["orderCreate"]["payment"]["id"],
            "shipment": shipment["shipment"]["id"], "priceList": price_list["id"],
            "customer": order["customer"]["id"], "invoice": invoice["id"]}


# (document, what a hidden object looks like in the answer)
OPERATIONS: dict[str, tuple[str, Any]] = {
    "order": ("query($order: ID!) { order(id: $order) { id } }", {"order": None}),
    "orders": ("{ orders { edges { node { id } } } }", {"orders": {"edges": []}}),
    "node": ("query($order: ID!) { node(id: $order) { id } }", {"node": None}),
    "shipment": ("query($shipment: ID!) { shipment(id: $shipment) { id } }", {"shipment": None}),
    "orderHold": ('mutation($order: ID!) { orderHold(id: $order, reason: "check") '
                  "{ userErrors { code } } }", "NOT_FOUND"),
    "shipmentShip": ("mutation($shipment: ID!) { shipmentShip(input: {shipmentId: $shipment}) "
                     "{ userErrors { code } } }", "NOT_FOUND"),
    "paymentCapture": ('mutation($payment: ID!) { paymentCapture(input: {paymentId: $payment, '
                       'amount: "1.00"}) { userErrors { code } } }', "NOT_FOUND"),
    "returnRequest": ("mutation($order: ID!, $line: ID!) { returnRequest(input: {orderId: $order, "
                      "lines: [{orderLineId: $line, quantity: 1}]}) { userErrors { code } } }",
                      "NOT_FOUND"),
    "orderEditBegin": ("mutation($order: ID!) { orderEditBegin(orderId: $order) "
                       "{ userErrors { code } } }", "NOT_FOUND"),
    "orderLinesCancel": ("mutation($order: ID!, $line: ID!) { orderLinesCancel(input: "
                         "{orderId: $order, lines: [{lineId: $line, quantity: 1}]}) "
                         "{ userErrors { code } } }", "NOT_FOUND"),
    # Tax rates are the shop's, like the catalogue: taxes:manage sets them, whatever the
    # partner's channels; a customer record it may not read is not there for it.
    "taxRatesSet": ('mutation { taxRatesSet(rates: [{country: "DE", taxClass: STANDARD, '
                    'rate: "19"}]) { userErrors { code } } }', "NOT_FOUND"),
    "customerTaxExemptionSet": ("mutation($customer: ID!) { customerTaxExemptionSet("
                                "customerId: $customer, exempt: false) "
                                "{ userErrors { code } } }", "NOT_FOUND"),
    "draftOrders": ("{ draftOrders { edges { node { id } } } }", {"draftOrders": {"edges": []}}),
    "draftOrderCreate": ('mutation { draftOrderCreate(input: {channel: "web", lines: []}) '
                         "{ userErrors { code } } }", "NOT_FOUND"),
    # Invoices are read as their order is (orders:read); issued by hand with orders:write;
    # their settings are the admin's.
    "invoice": ("query($invoice: ID!) { invoice(id: $invoice) { id } }", {"invoice": None}),
    "invoices": ("{ invoices { edges { node { id } } } }", {"invoices": {"edges": []}}),
    "invoiceIssue": ("mutation($order: ID!) { invoiceIssue(orderId: $order) "
                     "{ userErrors { code } } }", "NOT_FOUND"),
    "invoiceSettings": ("{ invoiceSettings { issueOn } }", None),
    "invoiceSettingsUpdate": ('mutation { invoiceSettingsUpdate(input: {sellerName: "X"}) '
                              "{ userErrors { code } } }", None),
    # The catalogue is shared by every channel: catalog:write changes it; a partner limited
    # to channels changes only its own channels.
    "productUpdate": ('mutation($product: ID!) { productUpdate(input: {id: $product, '
                      'name: "Shoe"}) { userErrors { code } } }', "NOT_FOUND"),
    "variantUpdate": ('mutation { variantUpdate(input: {sku: "SHOE", price: "11"}) '
                      "{ userErrors { code } } }", "UNKNOWN_SKU"),
    "locationUpdate": ('mutation { locationUpdate(input: {code: "a", priority: 2}) '
                       "{ userErrors { code } } }", "UNKNOWN_LOCATION"),
    "channelUpdate": ('mutation { channelUpdate(input: {code: "web", name: "Web"}) '
                      "{ userErrors { code } } }", "UNKNOWN_CHANNEL"),
    # Notes, tags and metadata: the write permission of the object's kind, on what the
    # caller may see (another channel's order is not there for it; the catalogue is shared).
    "orderNoteAdd": ('mutation($order: ID!) { orderNoteAdd(input: {orderId: $order, '
                     'message: "Called"}) { userErrors { code } } }', "NOT_FOUND"),
    "tagsAdd": ('mutation($order: ID!) { tagsAdd(id: $order, tags: ["vip"]) '
                "{ userErrors { code } } }", "NOT_FOUND"),
    "tagsRemove": ('mutation($order: ID!) { tagsRemove(id: $order, tags: ["vip"]) '
                   "{ userErrors { code } } }", "NOT_FOUND"),
    "tagsAddProduct": ('mutation($product: ID!) { tagsAdd(id: $product, tags: ["summer"]) '
                       "{ userErrors { code } } }", "NOT_FOUND"),
    "metadataUpdate": ('mutation($order: ID!) { metadataUpdate(id: $order, '
                       'input: [{key: "k", value: "v"}]) { userErrors { code } } }', "NOT_FOUND"),
    "metadataDelete": ('mutation($order: ID!) { metadataDelete(id: $order, keys: ["k"]) '
                       "{ userErrors { code } } }", "NOT_FOUND"),
    "privateMetadataUpdate": ('mutation($order: ID!) { privateMetadataUpdate(id: $order, '
                              'input: [{key: "k", value: "v"}]) { userErrors { code } } }',
                              "NOT_FOUND"),
    "customerNoteAdd": ('mutation($customer: ID!) { customerNoteAdd(input: {customerId: '
                        '$customer, message: "Called"}) { userErrors { code } } }', "NOT_FOUND"),
    "privateMetadataDelete": ('mutation($product: ID!) { privateMetadataDelete(id: $product, '
                              'keys: ["k"]) { userErrors { code } } }', "NOT_FOUND"),
    # Price lists: catalog:write; a partner limited to channels has its channels' lists.
    "priceLists": ("{ priceLists { edges { node { id } } } }", {"priceLists": {"edges": []}}),
    "priceListCreate": ('mutation { priceListCreate(input: {code: "web-b2b", name: "B2B", '
                        'channel: "web", currency: "EUR"}) { userErrors { code } } }',
                        "UNKNOWN_CHANNEL"),
    "priceListUpdate": ("mutation($priceList: ID!) { priceListUpdate(input: {id: $priceList, "
                        "priority: 2}) { userErrors { code } } }", "NOT_FOUND"),
    "priceListEntriesSet": ("mutation($priceList: ID!) { priceListEntriesSet(input: "
                            '{priceListId: $priceList, entries: [{sku: "SHOE", '
                            'amount: "9.00"}]}) { userErrors { code } } }', "NOT_FOUND"),
    "priceListDelete": ("mutation($priceList: ID!) { priceListDelete(id: $priceList) "
                        "{ userErrors { code } } }", "NOT_FOUND"),
    "customerGroups": ("{ customerGroups { edges { node { id } } } }",
                       {"customerGroups": {"edges": []}}),
    # A group is the shop's, like a product; whom it holds is the customers' readers'.
    "customerGroupCreate": ('mutation { customerGroupCreate(input: {code: "trade", '
                            'name: "Trade"}) { userErrors { code } } }', "DUPLICATE"),
    "customerGroupSet": ("mutation($customer: ID!) { customerGroupSet(customerId: $customer) "
                         "{ userErrors { code } } }", "NOT_FOUND"),
    # Promotions and their codes are the shop's, like tax rates: discounts:manage, whatever
    # the partner's channels; buyers redeem a code, they never list them.
    "promotions": ("{ promotions { edges { node { id } } } }", {"promotions": {"edges": []}}),
    "promotionCreate": ('mutation { promotionCreate(input: {name: "Summer", kind: FIXED, '
                        'target: ORDER, value: "5", currency: "EUR"}) '
                        "{ userErrors { code } } }", "NOT_FOUND"),
    "promotionUpdate": ("mutation($promotion: ID!) { promotionUpdate(input: {id: $promotion, "
                        'name: "Spring sale"}) { userErrors { code } } }', "NOT_FOUND"),
    "voucherCreate": ("mutation($promotion: ID!) { voucherCreate(input: {promotionId: "
                      '$promotion, codes: ["MATRIX-1"], maxUses: 1}) { userErrors { code } } }',
                      "NOT_FOUND"),
    "vouchers": ("query($promotion: ID!) { vouchers(promotionId: $promotion) "
                 "{ edges { node { code } } } }", {"vouchers": {"edges": []}}),
    # Last: it removes the promotion the rows above use.
    "promotionDelete": ("mutation($promotion: ID!) { promotionDelete(id: $promotion) "
                        "{ userErrors { code } } }", "NOT_FOUND"),
    # Companies (B2B): companies:manage; a partner limited to channels neither sees nor
    # writes them; a customer reads its own company only (as its contact).
    "companies": ("{ companies { edges { node { id } } } }", {"companies": {"edges": []}}),
    "company": ("query($company: ID!) { company(id: $company) { id } }", {"company": None}),
    "overdueOrders": ("{ overdueOrders { edges { node { id } } } }",
                      {"overdueOrders": {"edges": []}}),
    "companyCreate": ('mutation { companyCreate(input: {code: "acme", name: "Acme"}) '
                      "{ userErrors { code } } }", "DUPLICATE"),
    "companyUpdate": ('mutation($company: ID!) { companyUpdate(input: {id: $company, '
                      'name: "Acme AG"}) { userErrors { code } } }', "NOT_FOUND"),
    "companyLocationAdd": ('mutation($company: ID!) { companyLocationAdd(input: {companyId: '
                           '$company, name: "Depot", address: {name: "Acme", line1: "2 Main St", '
                           'city: "Berlin", postalCode: "10115", country: "DE"}}) '
                           "{ userErrors { code } } }", "NOT_FOUND"),
    "companyLocationRemove": ("mutation($companyLocation: ID!) { companyLocationRemove("
                              "id: $companyLocation) { userErrors { code } } }", "NOT_FOUND"),
    "companyContactAdd": ("mutation($company: ID!, $customer: ID!) { companyContactAdd(input: "
                          "{companyId: $company, customerId: $customer}) "
                          "{ userErrors { code } } }", "NOT_FOUND"),
    "companyContactRemove": ("mutation($company: ID!, $customer: ID!) { companyContactRemove("
                             "companyId: $company, customerId: $customer) "
                             "{ userErrors { code } } }", "NOT_FOUND"),
}
EXPECTED: dict[str, dict[str, str]] = {
    #                 anonymous  no scope  other channel  other customer
    "order":          {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "orders":         {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "node":           {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "shipment":       {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "orderHold":      {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    "shipmentShip":   {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    "paymentCapture": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    "returnRequest":  {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "orderEditBegin": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    "orderLinesCancel": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                         "customer": FORBIDDEN},
    "taxRatesSet":    {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK,
                       "customer": FORBIDDEN},
    "customerTaxExemptionSet": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                                "customer": FORBIDDEN},
    # Draft orders are the shop's staff's: no partner scope grants them.
    "draftOrders":    {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": FORBIDDEN,
                       "customer": FORBIDDEN},
    "draftOrderCreate": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": FORBIDDEN,
                         "customer": FORBIDDEN},
    "invoice":        {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "invoices":       {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "invoiceIssue":   {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    "invoiceSettings": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": FORBIDDEN,
                        "customer": FORBIDDEN},
    "invoiceSettingsUpdate": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": FORBIDDEN,
                              "customer": FORBIDDEN},
    "productUpdate":  {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK,
                       "customer": FORBIDDEN},
    "variantUpdate":  {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK,
                       "customer": FORBIDDEN},
    "locationUpdate": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK,
                       "customer": FORBIDDEN},
    "channelUpdate":  {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    **{name: {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
              "customer": FORBIDDEN}
       for name in ("orderNoteAdd", "tagsAdd", "tagsRemove", "metadataUpdate",
                    "metadataDelete", "privateMetadataUpdate", "customerNoteAdd")},
    **{name: {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK, "customer": FORBIDDEN}
       for name in ("tagsAddProduct", "privateMetadataDelete")},
    "priceLists":     {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    "priceListCreate": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                        "customer": FORBIDDEN},
    "priceListUpdate": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                        "customer": FORBIDDEN},
    "priceListEntriesSet": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                            "customer": FORBIDDEN},
    "priceListDelete": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                        "customer": FORBIDDEN},
    "customerGroups": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK,
                       "customer": FORBIDDEN},
    "customerGroupCreate": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK,
                            "customer": FORBIDDEN},
    "customerGroupSet": {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                         "customer": FORBIDDEN},
    **{name: {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": OK, "customer": FORBIDDEN}
       for name in ("promotions", "promotionCreate", "promotionUpdate", "voucherCreate",
                    "vouchers", "promotionDelete")},
    "companies":      {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    "company":        {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": HIDDEN},
    "overdueOrders":  {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": HIDDEN,
                       "customer": FORBIDDEN},
    **{name: {"none": UNAUTH, "scopeless": FORBIDDEN, "elsewhere": "NOT_PERMITTED",
              "customer": FORBIDDEN}
       for name in ("companyCreate", "companyUpdate", "companyLocationAdd",
                    "companyLocationRemove", "companyContactAdd", "companyContactRemove")},
}


async def _outcome(api: GraphQLClient, name: str, headers: dict[str, str],
                   ids: dict[str, str]) -> str:
    document, hidden = OPERATIONS[name]
    wanted = {k: v for k, v in ids.items() if f"${k}" in document}
    response = await api.raw(document, wanted, admin=False, headers=headers)
    body = response.json()
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    data = body["data"]
    if data == hidden:
        return HIDDEN
    if isinstance(hidden, str):
        payload = next(iter(data.values()))
        codes = [e["code"] for e in payload["userErrors"]]
        if codes == [hidden]:
            return HIDDEN
        return OK if not codes else ",".join(codes)
    return OK


async def test_every_caller_gets_exactly_what_is_theirs(api: GraphQLClient) -> None:
    ids = await _world(api)
    callers = {
        "none": {},
        "scopeless": await _bearer(api, ["inventory:read"]),
        "elsewhere": await _bearer(api, list(SCOPES), channels=["other"]),
        "customer": bearer((await _register(api, "someone.else@example.com"))["accessToken"]),
    }
    seen = {name: {caller: await _outcome(api, name, headers, ids)
                   for caller, headers in callers.items()} for name in OPERATIONS}
    assert seen == EXPECTED
    # And the owner of the data, for contrast: the admin sees and does all of it.
    admin = {"Authorization": "Bearer test-admin-token"}
    assert await _outcome(api, "order", admin, ids) == OK
    assert await _outcome(api, "orderEditBegin", admin, ids) == OK
    assert await _outcome(api, "tagsAdd", admin, ids) == OK
    assert await _outcome(api, "orderNoteAdd", admin, ids) == OK
    assert await _outcome(api, "priceListEntriesSet", admin, ids) == OK
    assert await _outcome(api, "customerGroupSet", admin, ids) == OK
    assert await _outcome(api, "invoice", admin, ids) == OK
    assert await _outcome(api, "invoiceSettingsUpdate", admin, ids) == OK
    assert await _outcome(api, "company", admin, ids) == OK
    assert await _outcome(api, "companyUpdate", admin, ids) == OK
    assert await _outcome(api, "companyContactAdd", admin, ids) == OK
