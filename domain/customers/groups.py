"""Customer groups: who buys at a group's price lists (domain/catalog/prices.py)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from domain import validation as v
from domain.access import Scope
from domain.customers.models import Customer, CustomerGroup
from domain.errors import Duplicate, NotFound
from domain.uow import unit_of_work


async def create_group(*, code: str, name: str) -> CustomerGroup:
    """A new group; codes are unique (DUPLICATE)."""
    clean_code = v.code(code, field=("code",))
    clean_name = v.required_text(name, field=("name",))
    try:
        async with unit_of_work() as conn:
            if await CustomerGroup.filter(code=clean_code).using_db(conn).exists():
                raise Duplicate("Customer group", clean_code, field=("code",))
            return await CustomerGroup.create(code=clean_code, name=clean_name, using_db=conn)
    except IntegrityError:
        raise Duplicate("Customer group", clean_code, field=("code",)) from None


async def set_customer_group(*, customer_id: int, group: str | None,
                             scope: Scope) -> tuple[Customer, CustomerGroup | None]:
    """Put a customer the caller may read in a group (None: in none). Orders placed from
    then on are priced at the group's lists; orders placed before keep their prices."""
    async with unit_of_work() as conn:
        customer = await scope.query(Customer).filter(id=customer_id).select_for_update(
        ).using_db(conn).first()
        if customer is None:
            raise NotFound("Customer", str(customer_id), field=("customerId",))
        found = None
        if group is not None:
            found = await CustomerGroup.get_or_none(code=group, using_db=conn)
            if found is None:
                raise NotFound("Customer group", group, field=("group",))
        customer.customer_group_id = found.id if found else None
        await customer.save(update_fields=["customer_group_id"], using_db=conn)
    return customer, found
