"""The pipeline task id is spelled once on each side (app/contracts/orchestration.py,
trigger/src/pipeline/taskId.ts); the two must agree, and neither side may spell it again."""

import re

from app.config import REPO_ROOT
from app.contracts.orchestration import PIPELINE_TASK_ID

TS_CONSTANT = REPO_ROOT / "trigger" / "src" / "pipeline" / "taskId.ts"


def _ts_task_id() -> str:
    match = re.search(r'^export const PIPELINE_TASK_ID = "([^"]+)";$', TS_CONSTANT.read_text(), re.MULTILINE)
    assert match, f'no `export const PIPELINE_TASK_ID = "...";` line in {TS_CONSTANT}'
    return match.group(1)


def test_the_api_and_the_worker_agree_on_the_pipeline_task_id():
    assert _ts_task_id() == PIPELINE_TASK_ID


def test_the_task_id_is_spelled_only_in_the_constants():
    literal = re.compile(r"[\"']" + re.escape(PIPELINE_TASK_ID) + r"[\"']")
    sources = [*(REPO_ROOT / "app").rglob("*.py"), *(REPO_ROOT / "trigger" / "src").rglob("*.ts")]
    spelled = sorted(
        str(p.relative_to(REPO_ROOT))
        for p in sources
        if not p.name.endswith(".test.ts") and literal.search(p.read_text())
    )
    assert spelled == ["app/contracts/orchestration.py", "trigger/src/pipeline/taskId.ts"]
