"""Provider adapters: one module per provider, each declaring NAME, BASE_URL (the documented
origin), TIMEOUT_SECONDS and ACTIONS (operation_id → Action)."""

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
