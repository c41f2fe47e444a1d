import uuid

from app.models.common import ExternalRef, ListRequest, Name, RequestSchema, Timestamped


class Company(Timestamped):
    org_id: uuid.UUID
    name: str
    external_ref: str | None
    is_active: bool


class CompanyCreateRequest(RequestSchema):
    name: Name
    external_ref: ExternalRef | None = None


class SuperAdminCompanyCreateRequest(CompanyCreateRequest):
    org_id: uuid.UUID


class CompanyGetRequest(RequestSchema):
    company_id: uuid.UUID


class CompanyListRequest(ListRequest):
    pass


class SuperAdminCompanyListRequest(CompanyListRequest):
    org_id: uuid.UUID
