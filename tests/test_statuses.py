"""One spelling of the submission, run and step statuses: the Python enums match the Postgres
enums, the worker's zod enums and what the OpenAPI schema publishes."""

import re
from enum import StrEnum
from pathlib import Path

import pytest

from app.contracts.statuses import PipelineRunStatus, StepStatus, SubmissionStatus

TYPES_TS = Path(__file__).resolve().parents[1] / "trigger" / "src" / "pipeline" / "types.ts"


@pytest.mark.parametrize(
    ("enum", "pg_type"),
    [
        (SubmissionStatus, "submission_status"),
        (PipelineRunStatus, "pipeline_run_status"),
        (StepStatus, "step_result_status"),
    ],
)
async def test_each_status_enum_is_its_postgres_enum(conn, enum: type[StrEnum], pg_type: str):
    labels = await conn.fetchval(f"SELECT enum_range(NULL::{pg_type})::text[]")
    assert [m.value for m in enum] == labels


@pytest.mark.parametrize(("enum", "schema"), [(PipelineRunStatus, "runStatusSchema"), (StepStatus, "stepStatusSchema")])
def test_the_worker_spells_run_and_step_statuses_the_same(enum: type[StrEnum], schema: str):
    found = re.search(rf"{schema} = z\.enum\(\[([^\]]*)\]\)", TYPES_TS.read_text())
    assert found is not None, f"{schema} not found in {TYPES_TS.name}"
    assert re.findall(r'"([^"]+)"', found.group(1)) == [m.value for m in enum]


async def test_the_openapi_schema_publishes_the_status_enums(client):
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for enum in (SubmissionStatus, PipelineRunStatus, StepStatus):
        assert schemas[enum.__name__]["enum"] == [m.value for m in enum]
    uses = {
        ("Submission", "status"): SubmissionStatus,
        ("PipelineRun", "status"): PipelineRunStatus,
        ("RunStatus", "status"): PipelineRunStatus,
        ("InternalRun", "status"): PipelineRunStatus,
        ("RunFinishResult", "status"): PipelineRunStatus,
        ("StepExecuteResult", "run_status"): PipelineRunStatus,
        ("StepResult", "status"): StepStatus,
        ("StepState", "status"): StepStatus,
        ("InternalStep", "status"): StepStatus,
        ("StepExecuteResult", "status"): StepStatus,
    }
    for (model, field), enum in uses.items():
        assert schemas[model]["properties"][field] == {"$ref": f"#/components/schemas/{enum.__name__}"}, model
