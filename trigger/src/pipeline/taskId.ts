/**
 * The pipeline task's identifier: Trigger.dev's `taskIdentifier` (part of the REST trigger URL)
 * and graphile-worker's `task_identifier` (the API adds jobs under it in SQL). Never rename it:
 * queued jobs and deployed runs carry it. The API's copy is `PIPELINE_TASK_ID` in
 * `app/contracts/orchestration.py`; `tests/test_orchestration_contract.py` reads this file and
 * fails when the two disagree.
 */
export const PIPELINE_TASK_ID = "run-pipeline";
