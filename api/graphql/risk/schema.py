"""riskSettings and riskSettingsUpdate: the merchant's risk rules (the admin only)."""

from __future__ import annotations

import dataclasses

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt
from api.graphql.permissions import requires
from api.graphql.risk.types import RiskSettings, RiskSettingsInput
from domain.risk import service


@strawberry.type
class RiskSettingsUpdatePayload:
    risk_settings: RiskSettings | None
    user_errors: list[UserError]


@strawberry.type
class RiskQueries:
    @strawberry.field(extensions=requires(Permission.ADMIN),
                      description="The risk settings new orders are screened with.")
    async def risk_settings(self, info: Info) -> RiskSettings:
        return RiskSettings.from_model(await service.current_settings(info.context.deps.risk))


@strawberry.type
class RiskMutations:
    @strawberry.mutation(extensions=requires(Permission.ADMIN),
                         description="Change the risk rules, thresholds and block lists; the "
                                     "next order placed is screened with them.")
    async def risk_settings_update(self, info: Info,
                                   input: RiskSettingsInput) -> RiskSettingsUpdatePayload:
        changes = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
        updated, errors = await attempt(service.update_settings(
            defaults=info.context.deps.risk, changes=changes))
        return RiskSettingsUpdatePayload(
            risk_settings=RiskSettings.from_model(updated) if updated else None,
            user_errors=errors)
