"""docs/operations.md and docs/costs.md hold sections generated from the catalog's declarations
(app/docs_catalog.py): they must be what the generator writes now."""

import shutil

import pytest

from app import docs_catalog
from app.config import REPO_ROOT
from app.docs_catalog import FIX_COMMAND, GENERATED, cost_text, expected, fill, stale
from app.models.operations import ProviderPrice
from app.services.operations import CATALOG


def test_the_generated_doc_sections_match_the_catalog():
    differ = stale()
    assert not differ, f"{', '.join(differ)} differ from the catalog's declarations: run {FIX_COMMAND}"


def test_a_changed_declaration_is_a_drift(tmp_path, monkeypatch):
    for path in GENERATED:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / path, tmp_path / path)
    assert stale(tmp_path) == []
    first = CATALOG[0].model_copy(update={"default_providers": ["leadmagic"]})
    monkeypatch.setitem(
        GENERATED, "docs/operations.md", {"catalog": lambda: docs_catalog.operations_reference([first])}
    )
    assert stale(tmp_path) == ["docs/operations.md"]


def test_every_operation_and_priced_action_is_in_the_docs():
    operations = (REPO_ROOT / "docs/operations.md").read_text()
    costs = (REPO_ROOT / "docs/costs.md").read_text()
    for op in CATALOG:
        assert f"| `{op.operation_id}` | {op.entity_type.value} | {op.strategy.value} |" in operations
        for p in op.providers:
            assert f"| {p.provider} | `{op.operation_id}` | `{p.action}` | {cost_text(p.price)} |" in costs


def test_the_markers_must_be_there_once():
    assert fill("a\n<!-- generated:x:start -->\nold\n<!-- generated:x:end -->\nb", "x", "new") == (
        "a\n<!-- generated:x:start -->\n"
        f"<!-- written by {FIX_COMMAND} from app/contracts/catalog.py and the adapters; do not edit -->\n"
        "new\n<!-- generated:x:end -->\nb"
    )
    with pytest.raises(ValueError, match="generated:x"):
        fill("no markers", "x", "new")


@pytest.mark.parametrize(
    ("price", "text"),
    [
        ({"found": None, "not_found": None}, "unknown"),
        ({"found": 1, "not_found": 0}, "1 credit found / 0 credits not found"),
        ({"found": 2, "not_found": 2, "per_result": True}, "2 credits per result (at least 2 credits)"),
        (
            {"found": 1, "not_found": None, "reported": True},
            "reported by the provider; documented: 1 credit found / unknown not found",
        ),
        ({"found": "0.025", "not_found": None, "unit": "usd"}, "0.025 USD found / unknown not found"),
    ],
)
def test_costs_in_words(price, text):
    values = {"unit": "credits", "per_result": False, "reported": False, "source": None, **price}
    assert cost_text(ProviderPrice(**values)) == text


def test_expected_reads_the_file_it_fills():
    assert expected("docs/costs.md").startswith("# Costs, usage and budgets")


def test_the_command_checks_without_writing(capsys):
    assert docs_catalog.main(["--check"]) == 0
    assert docs_catalog.main(["--nonsense"]) == 2
    assert "usage" in capsys.readouterr().err
