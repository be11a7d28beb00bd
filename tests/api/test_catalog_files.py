"""Products, variants and stock levels imported and exported as CSV and JSON Lines, over
HTTP and through ``oms catalog``: checked row by row, all or nothing per file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from domain.catalog.models import Product, Variant
from domain.events.models import OutboxMessage
from domain.events.ports import catalog_topic
from domain.inventory.models import MovementKind, StockLevel, StockMovement
from tests import factories
from tests.api.test_cli import OMS, _env
from tests.api.test_customers_and_guests import bearer
from tests.api.test_partners import _bearer
from tests.support import ADMIN_TOKEN, GraphQLClient

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PRODUCTS_CSV = """sku,product,description,price,currency,name,barcode,weight_grams,backorder_policy
TEE-S,Tee,Cotton,19.90,EUR,Tee S,4006381333931,180,DENY
TEE-M,Tee,Cotton,19.90,EUR,Tee M,,200,
CAP,Cap,,9.50,EUR,,,,CONTINUE
"""


async def _import(api: GraphQLClient, kind: str, body: str, fmt: str = "csv",
                  headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    response = await api.http.post(f"/catalog/import/{kind}?format={fmt}", content=body,
                                   headers=ADMIN if headers is None else headers)
    return response.status_code, response.json()


async def _export(api: GraphQLClient, kind: str, fmt: str = "csv") -> str:
    response = await api.http.get(f"/catalog/export/{kind}?format={fmt}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.text


async def _catalogue() -> list[tuple[Any, ...]]:
    variants = await Variant.all().select_related("product").order_by("id")
    return [(v.product.name, v.product.description, v.sku, v.name, str(v.price), v.barcode,
             v.weight_grams, v.backorder_policy.value) for v in variants]


async def test_a_products_file_creates_products_and_variants(api: GraphQLClient) -> None:
    status, body = await _import(api, "products", PRODUCTS_CSV)
    assert (status, body) == (200, {"rows": 3, "created": 3, "changed": 0, "productsCreated": 2})
    assert await _catalogue() == [
        ("Tee", "Cotton", "TEE-S", "Tee S", "19.9000", "4006381333931", 180, "DENY"),
        ("Tee", "Cotton", "TEE-M", "Tee M", "19.9000", None, 200, "DENY"),
        ("Cap", None, "CAP", "Cap", "9.5000", None, None, "CONTINUE"),
    ]
    events = await OutboxMessage.filter(topic=catalog_topic())
    assert [(e.payload["type"], sorted(e.payload["skus"])) for e in events] == [
        ("CATALOG_IMPORTED", ["CAP", "TEE-M", "TEE-S"])]
    # A second file changes a price, adds a size to an existing product and archives one.
    tee = (await Product.get(name="Tee")).id
    status, body = await _import(api, "products", (
        "sku,product_id,price,currency,archived\n"
        f"TEE-M,{tee},21.00,EUR,\nTEE-L,{tee},21.00,EUR,\nCAP,,9.50,EUR,true\n"))
    assert (status, body) == (200, {"rows": 3, "created": 1, "changed": 1, "productsCreated": 0})
    assert (await Variant.get(sku="TEE-M")).price == 21
    assert (await Variant.get(sku="TEE-L").select_related("product")).product.name == "Tee"
    assert (await Product.get(name="Cap")).archived_at is not None


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_a_file_with_a_bad_row_is_refused_whole_with_its_line_number(
    api: GraphQLClient, fmt: str,
) -> None:
    await factories.shop({"OLD": {"east": 3}})
    before = await _catalogue()
    if fmt == "csv":
        body = ("sku,product,price,currency\nNEW-1,New,5.00,EUR\nOLD,,6.00,EUR\n"
                "NEW-2,New,abc,EUR\nNEW-3,New,5.00,XXX\n")
        bad = [(4, "price", "INVALID_INPUT"), (5, "currency", "INVALID_INPUT")]
    else:
        lines = [{"sku": "NEW-1", "product": "New", "price": "5.00", "currency": "EUR"},
                 {"sku": "OLD", "price": 6, "currency": "EUR"},
                 {"sku": "NEW-2", "product": "New", "price": "abc", "currency": "EUR"},
                 {"sku": "NEW-3", "product": "New", "price": "5.00", "currency": "XXX"}]
        body = "\n".join(json.dumps(line) for line in lines) + "\n"
        bad = [(3, "price", "INVALID_INPUT"), (4, "currency", "INVALID_INPUT")]
    status, answer = await _import(api, "products", body, fmt)
    assert status == 422
    assert [(e["line"], e["column"], e["code"]) for e in answer["errors"]] == bad
    assert answer["errors"][0]["message"] == "price is a decimal number such as 19.90"
    assert await _catalogue() == before  # the good rows were not written either
    assert await OutboxMessage.filter(topic=catalog_topic()).count() == 3  # the shop's own

    for text, line, column in (
        ("sku,colour\nA,red\n", 1, None),  # an unknown column
        ("sku,product,price,currency\nA,P,1,EUR\nA,P,1,EUR\n", 3, "sku"),  # twice
        ("sku,product_id,price,currency\nA,999,1,EUR\n", 2, "product_id"),
        ("sku,price,currency\nB,1,EUR\n", 2, "product"),  # new, and no product named
    ):
        status, answer = await _import(api, "products", text)
        assert status == 422, text
        assert [(e["line"], e["column"]) for e in answer["errors"]] == [(line, column)], text


async def test_exported_files_import_back_unchanged(api: GraphQLClient) -> None:
    await _import(api, "products", PRODUCTS_CSV)
    await factories.location("east")
    await factories.location("west")
    await factories.stock("TEE-S", {"east": 4, "west": 0})
    await factories.stock("CAP", {"west": 7})
    for fmt in ("csv", "jsonl"):
        products, stock = await _export(api, "products", fmt), await _export(api, "stock", fmt)
        assert await _import(api, "products", products, fmt) == (
            200, {"rows": 3, "created": 0, "changed": 0, "productsCreated": 0})
        assert await _import(api, "stock", stock, fmt) == (
            200, {"rows": 3, "created": 0, "changed": 0, "productsCreated": 0})
        assert await _export(api, "products", fmt) == products
        assert await _export(api, "stock", fmt) == stock
    csv_text = await _export(api, "products", "csv")
    assert csv_text.splitlines()[:2] == [
        "product_id,product,description,archived,sku,name,price,currency,track_inventory,"
        "backorder_policy,barcode,weight_grams,length_mm,width_mm,height_mm,tax_class",
        "1,Tee,Cotton,false,TEE-S,Tee S,19.9000,EUR,true,DENY,4006381333931,180,,,,STANDARD"]
    first = json.loads((await _export(api, "stock", "jsonl")).splitlines()[0])
    assert first == {"sku": "TEE-S", "location": "east", "on_hand": 4, "safety_stock": 0,
                     "low_stock_threshold": None}
    # An exported catalogue loads into an empty shop as it was.
    exported = await _export(api, "products", "jsonl")
    await Variant.all().delete()
    await Product.all().delete()
    assert (await _import(api, "products", exported.replace('"product_id":1,', "")
                          .replace('"product_id":2,', ""), "jsonl"))[0] == 200
    assert [v.sku for v in await Variant.all().order_by("id")] == ["TEE-S", "TEE-M", "CAP"]


async def test_a_stock_file_sets_counts_with_ledger_rows_all_or_nothing(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"east": 5}, "B": {"east": 5}})
    await factories.location("west", priority=5)
    await factories.place({"A": 2})  # 2 of A reserved at east
    status, body = await _import(api, "stock", "sku,location,on_hand,low_stock_threshold\n"
                                               "A,east,12,3\nB,west,4,\n")
    assert (status, body) == (200, {"rows": 2, "created": 0, "changed": 2, "productsCreated": 0})
    a_east = await StockLevel.get(variant__sku="A", location__code="east")
    assert (a_east.on_hand, a_east.reserved, a_east.low_stock_threshold) == (12, 2, 3)
    counts = await StockMovement.filter(kind=MovementKind.COUNT,
                                        reason__startswith="stock import").order_by("id")
    assert [(m.on_hand_delta, m.reason) for m in counts] == [
        (7, "stock import (HTTP stock.csv, line 2)"), (4, "stock import (HTTP stock.csv, line 3)")]
    levels = await StockLevel.all()
    for level in levels:  # the ledger explains every unit
        moved = await StockMovement.filter(stock_level_id=level.id)
        assert sum(m.on_hand_delta for m in moved) == level.on_hand
        assert sum(m.reserved_delta for m in moved) == level.reserved

    status, body = await _import(api, "stock", (
        '{"sku": "B", "location": "east", "on_hand": 1}\n'
        '{"sku": "A", "location": "east", "on_hand": 1}\n'  # below the 2 reserved
        '{"sku": "Z", "location": "east", "on_hand": 1}\n'
        '{"sku": "B", "location": "east", "on_hand": -1}\n'), "jsonl")
    assert status == 422
    assert [(e["line"], e["column"], e["code"]) for e in body["errors"]] == [
        (3, "sku", "UNKNOWN_SKU"), (4, "on_hand", "INVALID_INPUT"),
        (4, None, "INVALID_INPUT")]  # and it names B at east a second time
    status, body = await _import(api, "stock", '{"sku": "B", "location": "east", "on_hand": 1}\n'
                                               '{"sku": "A", "location": "east", "on_hand": 1}\n',
                                 "jsonl")
    assert status == 422
    assert [(e["line"], e["column"], e["code"]) for e in body["errors"]] == [
        (2, "on_hand", "STOCK_BELOW_RESERVED")]
    assert (await StockLevel.get(variant__sku="B", location__code="east")).on_hand == 5
    assert await StockMovement.filter(kind=MovementKind.COUNT,
                                      reason__startswith="stock import").count() == 2


async def test_a_stock_file_sent_again_under_its_key_changes_nothing(
    api: GraphQLClient,
) -> None:
    await factories.shop({"A": {"east": 5}})
    keyed = {**ADMIN, "Idempotency-Key": "count-2026-12-01"}
    first = await _import(api, "stock", "sku,location,on_hand\nA,east,9\n", headers=keyed)
    assert first == (200, {"rows": 1, "created": 0, "changed": 1, "productsCreated": 0})
    written_off = await api('mutation { inventoryAdjust(input: {sku: "A", location: "east", '
                            'delta: -1, reason: "damaged"}) { userErrors { code } } }')
    assert written_off["inventoryAdjust"]["userErrors"] == []  # 8 on hand since
    again = await _import(api, "stock", "sku,location,on_hand\nA,east,9\n", headers=keyed)
    assert again == first
    assert (await StockLevel.get(variant__sku="A")).on_hand == 8  # not set back to 9
    other = await _import(api, "stock", "sku,location,on_hand\nA,east,7\n", headers=keyed)
    assert other[0] == 409


async def test_files_need_a_token_with_the_permission(api: GraphQLClient) -> None:
    await factories.shop({"A": {"east": 5}})
    storefront = bearer((await api('mutation { storefrontKeyCreate(channel: "web") { key } }'))
                        ["storefrontKeyCreate"]["key"])
    reader = await _bearer(api, ["inventory:read", "orders:write"])
    assert (await _import(api, "products", PRODUCTS_CSV, headers={}))[0] == 401
    assert (await _import(api, "products", PRODUCTS_CSV, headers=storefront))[0] == 403
    assert (await _import(api, "products", PRODUCTS_CSV, headers=reader))[0] == 403
    assert (await _import(api, "stock", "sku,location,on_hand\nA,east,1\n",
                          headers=reader))[0] == 403
    assert (await api.http.get("/catalog/export/stock", headers=storefront)).status_code == 403
    assert (await api.http.get("/catalog/export/stock", headers=reader)).status_code == 200
    assert (await api.http.get("/catalog/export/products")).status_code == 401
    assert await Variant.filter(sku="TEE-S").count() == 0
    writer = await _bearer(api, ["catalog:write"])
    assert (await _import(api, "products", PRODUCTS_CSV, headers=writer))[0] == 200
    assert (await api.http.get("/catalog/export/prices", headers=ADMIN)).status_code == 404
    assert (await api.http.get("/catalog/export/stock?format=xml",
                               headers=ADMIN)).status_code == 400


def test_the_command_imports_with_a_progress_bar_and_refuses_a_bad_file(tmp_path: Path) -> None:
    env = _env(tmp_path)
    products = tmp_path / "products.csv"
    products.write_text(PRODUCTS_CSV)

    def oms(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*OMS, *args], env=env, capture_output=True, text=True,
                              timeout=120)

    done = oms("catalog", "import", str(products), "--kind", "products")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"Imported {products}: 3 row(s), 3 created, 0 changed, "
                                   "2 new product(s).")
    assert "checking rows" in done.stderr and "3/3" in done.stderr

    bad = tmp_path / "stock.jsonl"
    bad.write_text('{"sku": "TEE-S", "location": "nowhere", "on_hand": 1}\n'
                   '{"sku": "CAP", "location": "nowhere", "on_hand": "many"}\n')
    done = oms("catalog", "import", str(bad), "--kind", "stock")
    assert done.returncode == 2
    assert f"{bad}:line 1, location: Location 'nowhere' does not exist" in done.stderr
    assert f"{bad}:line 2, on_hand: on_hand is a whole number" in done.stderr
    assert "nothing was written" in done.stderr

    out = tmp_path / "export.jsonl"
    done = oms("catalog", "export", "--kind", "products", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["sku"] for line in out.read_text().splitlines()] == [
        "TEE-S", "TEE-M", "CAP"]


async def test_a_file_too_large_or_not_utf8_is_refused_unread_and_changes_nothing(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api import catalog_files

    monkeypatch.setattr(catalog_files, "MAX_FILE_BYTES", 2**20)
    big = PRODUCTS_CSV + "x" * 2**20
    status, body = await _import(api, "products", big)
    assert (status, body) == (413, {"error": "A file has at most 1 MiB"})

    async def chunks() -> Any:  # no declared length: read no further than the limit
        yield PRODUCTS_CSV.encode()
        for _ in range(20):
            yield b"x" * 2**16

    sent = await api.http.post("/catalog/import/products", content=chunks(), headers=ADMIN)
    assert sent.status_code == 413
    latin = await api.http.post("/catalog/import/products",
                                content=PRODUCTS_CSV.encode() + b"caf\xe9\n", headers=ADMIN)
    assert (latin.status_code, latin.json()) == (400, {"error": "The file is not UTF-8"})
    assert await Variant.filter(sku="TEE-S").count() == 0
