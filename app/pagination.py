"""Opaque keyset cursors over (created_at, id), newest first (CONTRACT §3)."""

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any, TypeVar

from app.errors import BadRequest
from app.models.common import in_utc_range

T = TypeVar("T")


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime | None, uuid.UUID | None]:
    if cursor is None:
        return None, None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at, row = datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadRequest("the cursor is not one this API issued", code="invalid_cursor") from e
    # issued cursors always carry an offset and a storable instant; a crafted one must not reach
    # the database driver, which fails on an instant outside years 1..9999 UTC
    utc = in_utc_range(at)
    if utc is None:
        raise BadRequest("the cursor is not one this API issued", code="invalid_cursor")
    return utc, row


def page(items: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """Queries fetch limit + 1 rows; the extra row only says that another page exists."""
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    last = items[-1]
    return items, encode_cursor(last.created_at, last.id)
