"""An org's own provider keys (CONTRACT §9.5): what a caller sends and the little it gets back."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.models.common import ListRequest, RequestSchema, Schema
from app.providers import ADAPTERS


def _known_provider(value: str) -> str:
    if value not in ADAPTERS:
        raise PydanticCustomError(
            "unknown_provider", "unknown provider; one of: {known}", {"known": ", ".join(sorted(ADAPTERS))}
        )
    return value


ProviderName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_provider),
    Field(description="A provider name, as in DATA_ENGINE_<PROVIDER>_API_KEY (lower case): e.g. `leadmagic`"),
]
# printable ASCII without spaces: every provider's keys are tokens of that shape, and a stray
# newline or space pasted with a key would otherwise be sent (and fail) on every call
ApiKey = Annotated[
    str,
    StringConstraints(min_length=8, max_length=1024, pattern=r"^[\x21-\x7e]+$"),
    Field(description="The provider's API key. Stored encrypted; never shown again (only its last 4 characters)"),
]


class ProviderKeySetRequest(RequestSchema):
    provider: ProviderName
    api_key: ApiKey


class ProviderKeyRef(RequestSchema):
    provider: ProviderName


class ProviderKeyListRequest(ListRequest):
    pass


class ProviderKey(Schema):
    """An org's key for one provider, without the key."""

    provider: str
    last4: str = Field(description="The key's last 4 characters, to tell keys apart")
    created_at: datetime = Field(description="When this key was set (setting a new one resets it)")
    last_used_at: datetime | None = Field(description="When the org's calls last used it (to about a minute)")


class ProviderKeyDeleted(Schema):
    provider: str
    deleted: bool = True
