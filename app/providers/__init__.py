"""Provider adapters: one module per provider, each declaring NAME, BASE_URL (the documented
origin), TIMEOUT_SECONDS, ACTIONS (operation_id → Action) and PRICES (operation_id → Price), OPTIONS
(its settings model, a `ProviderOptions`) when it has settings of its own, and PRICE_UNIT when its
prices are not in credits."""

from types import ModuleType

from app.providers import (
    adyntel,
    blitzapi,
    companyenrich,
    gemini,
    icypeas,
    leadmagic,
    millionverifier,
    openai,
    parallel,
    prospeo,
    reoon,
)
from app.providers.base import ProviderOptions

ADAPTERS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (
        icypeas,
        leadmagic,
        millionverifier,
        reoon,
        prospeo,
        blitzapi,
        companyenrich,
        parallel,
        adyntel,
        gemini,
        openai,
    )
}


def options_model(module: ModuleType) -> type[ProviderOptions]:
    """The adapter's settings model; `ProviderOptions` (no fields) when it has none."""
    model: type[ProviderOptions] = getattr(module, "OPTIONS", ProviderOptions)
    return model
