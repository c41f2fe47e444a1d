"""Names shared by the API and the pipeline worker (trigger/)."""

PIPELINE_TASK_ID = "run-pipeline"
"""The pipeline task's identifier: Trigger.dev's `taskIdentifier` (in the REST trigger URL) and
graphile-worker's `task_identifier` (jobs are added under it in SQL). The worker's copy is
`PIPELINE_TASK_ID` in `trigger/src/pipeline/taskId.ts`; `tests/test_orchestration_contract.py`
fails when the two disagree. Never rename it: queued jobs and deployed runs carry it."""
