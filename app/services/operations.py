"""The operation catalog as tenants see it."""

from app.contracts.catalog import OPERATIONS
from app.models.operations import OperationInfo


def list_catalog() -> list[OperationInfo]:
    return [
        OperationInfo(
            operation_id=op.operation_id,
            entity_type=op.entity_type,
            name=op.name,
            description=op.description,
            default_providers=list(op.default_providers),
            timeout_seconds=op.timeout_seconds,
            max_retries=op.max_retries,
        )
        for op in OPERATIONS
    ]
