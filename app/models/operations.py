from app.contracts.entities import EntityType
from app.models.common import Schema


class OperationInfo(Schema):
    operation_id: str
    entity_type: EntityType
    name: str
    description: str
    default_providers: list[str]
    timeout_seconds: int
    max_retries: int
