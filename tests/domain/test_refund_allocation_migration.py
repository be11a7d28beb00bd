"""Migration 0022 allocates the refunds made before it by the rules refunds follow now.

A shop's history is built on the latest schema (a direct refund said nothing of, a
return refunded with its shipping, an exchange), migration 0022 is rolled back (its
table, column and triggers go) and applied again: what it writes for the old refunds
is what the refunds wrote themselves. Runs in a process of its own, on a fresh SQLite
file, since migrating re-initialises the ORM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers import migrated_sqlite

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = r'''
import asyncio, json, os, sys, traceback
from decimal import Decimal
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from api.database import tortoise_config
from api.settings import Settings

CONFIG = tortoise_config(Settings(database_url=f"sqlite://{sys.argv[1]}/oms.sqlite3",
                                  var_dir=sys.argv[1]))


async def history():
    from domain.catalog.models import Location
    from domain.fulfillment import service as fulfillment
    from domain.orders import lifecycle
    from domain.orders.capture import LineRequest
    from domain.orders.models import OrderLine
    from domain.returns import service as returns
    from domain.application import returns as application_returns
    from integrations.carriers.builtin import BuiltinCarrier
    from tests import factories

    carriers = {"builtin": BuiltinCarrier(rates={"standard": {"EUR": Decimal("4.90")}})}
    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    direct = await factories.place({"SHOE": 2, "TEE": 1}, shipping_method="standard",
                                   carriers=carriers)
    await factories.refund(direct, "7.35")
    for replacement in ([], [LineRequest("SHOE", 1)]):
        order = await factories.place({"SHOE": 1, "TEE": 2}, shipping_method="standard",
                                      carriers=carriers)
        await lifecycle.confirm_order(order_id=order.id, actor="test")
        shipment = await fulfillment.create_shipment(order_id=order.id, carriers=carriers,
                                                     actor="test")
        await fulfillment.ship_shipment(shipment_id=shipment.id, carriers=carriers,
                                        actor="test")
        await factories.pay(order)
        tee = await OrderLine.get(order_id=order.id, sku="TEE")
        asked = await returns.request_return(
            order_id=order.id, actor="test", replacement=replacement,
            lines=[returns.ReturnLineRequest(tee.id, 2)])
        await application_returns.approve_return(factories.deps(), return_id=asked.id, actor="test")
        location = await Location.get(code="a")
        await returns.receive_return(return_id=asked.id, location_id=location.id,
                                     actor="test",
                                     lines=[returns.ReceivedLine(tee.id, 2, True)])
        await returns.refund_return(return_id=asked.id, gateways=factories.gateways(),
                                    include_shipping=not replacement, actor="test")


async def recorded():
    from domain.orders.models import Order
    from domain.payments.models import RefundAllocation
    from domain.reports.rollup import refresh
    from domain.db import connection, fetch

    await refresh()
    summary = await fetch(connection(), "SELECT SUM(orders) AS orders, SUM(gross) AS gross,"
                                        " SUM(refunds) AS refunds FROM sales_slot"
                                        " WHERE location_id = 0")
    return {
        "allocations": sorted(json.dumps([a.order_id, a.order_line_id, a.payment_operation_id,
                                          a.return_id, a.kind.value, f"{a.amount:.2f}"])
                              for a in await RefundAllocation.all()),
        "links": sorted(json.dumps([o.id, o.replaces_order_id]) for o in await Order.all()),
        "summary": [int(summary[0]["orders"]), f"{float(summary[0]['gross']):.2f}",
                    f"{float(summary[0]['refunds']):.2f}"],
    }


async def main():
    await migrate(config=CONFIG)
    await Tortoise.close_connections()
    await Tortoise.init(config=CONFIG)
    await history()
    before = await recorded()
    await Tortoise.close_connections()
    await migrate(config=CONFIG, target="oms.0021_processed_webhook_provider_width")
    await Tortoise.close_connections()
    await migrate(config=CONFIG)
    await Tortoise.close_connections()
    await Tortoise.init(config=CONFIG)
    after = await recorded()
    await Tortoise.close_connections()
    print(json.dumps({"before": before, "after": after}))


try:
    asyncio.run(main())
except BaseException:
    traceback.print_exc()
    sys.stderr.flush()
    os._exit(1)
sys.stdout.flush()
os._exit(0)  # the SQLite driver's thread would keep the process alive
'''


def test_refunds_made_before_the_migration_are_allocated_by_todays_rules(tmp_path: Path
                                                                        ) -> None:
    migrated_sqlite(tmp_path / "oms.sqlite3")  # today's schema, as the script's first step
    # A wait, not a measure: it migrates back and forth, seconds of CPU on a busy machine.
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = found["before"], found["after"]
    assert len(before["allocations"]) >= 6  # lines and shipping, a refund and a credit
    assert {json.loads(a)[4] for a in before["allocations"]} == {"REFUND", "EXCHANGE"}
    assert after == before
    assert before["summary"][0] == 3  # the exchange's replacement is no new order
