"""The lifecycle statuses of submissions, pipeline runs and step results (CONTRACT §7).

Each mirrors its Postgres enum (migration 001: `submission_status`, `pipeline_run_status`,
`step_result_status`) and the worker's zod enums (`trigger/src/pipeline/types.ts`), so models,
services and SQL parameters share one spelling. Members are `str`, so they bind as SQL
parameters and serialise to JSON as their value.
"""

from enum import StrEnum


class SubmissionStatus(StrEnum):
    received = "received"
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    canceled = "canceled"


class PipelineRunStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"


class StepStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"


SUBMISSION_FINISHED = frozenset({SubmissionStatus.completed, SubmissionStatus.failed})
"""A submission that can no longer be canceled (a canceled one is canceled again as a no-op)."""
SUBMISSION_TERMINAL = frozenset({SubmissionStatus.completed, SubmissionStatus.failed, SubmissionStatus.canceled})
STEP_TERMINAL = frozenset({StepStatus.succeeded, StepStatus.failed, StepStatus.skipped})
