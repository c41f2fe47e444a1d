"""One module per fake provider; `PROVIDER_CLASSES` maps each provider name to its class."""

from sandbox.providers.adyntel import Adyntel
from sandbox.providers.base import Provider
from sandbox.providers.blitzapi import BlitzApi
from sandbox.providers.companyenrich import CompanyEnrich
from sandbox.providers.gemini import Gemini
from sandbox.providers.icypeas import Icypeas
from sandbox.providers.leadmagic import LeadMagic
from sandbox.providers.millionverifier import MillionVerifier
from sandbox.providers.openai import OpenAI
from sandbox.providers.parallel import Parallel
from sandbox.providers.prospeo import Prospeo
from sandbox.providers.reoon import Reoon

PROVIDER_CLASSES: dict[str, type[Provider]] = {
    cls.name: cls
    for cls in (
        Icypeas,
        LeadMagic,
        MillionVerifier,
        Reoon,
        Prospeo,
        BlitzApi,
        CompanyEnrich,
        Parallel,
        Adyntel,
        Gemini,
        OpenAI,
    )
}

__all__ = ["PROVIDER_CLASSES", "Provider"]
