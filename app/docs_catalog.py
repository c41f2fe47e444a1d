"""The reference sections of docs/operations.md and docs/costs.md, generated from the catalog's
declarations (the same description /api/v1/operations/list answers with), between markers
`<!-- generated:<name>:start -->` and `<!-- generated:<name>:end -->`; the prose around them is
hand-written. `python -m app.docs_catalog` (`make docs`) rewrites them; `--check` only reports
the files that differ (tests/test_docs_catalog.py fails on them)."""

import re
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

from app.config import REPO_ROOT
from app.models.operations import OperationInfo, OperationProvider, ProviderPrice
from app.services.operations import CATALOG

FIX_COMMAND = "python -m app.docs_catalog (or make docs)"


def _cell(text: str) -> str:
    # a `|` inside a table cell, code spans included, must be escaped (GitHub Flavored Markdown)
    return text.replace("|", "\\|")


def _code(items: Iterable[str]) -> str:
    return ", ".join(f"`{_cell(item)}`" for item in items) or "—"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def cost_text(price: ProviderPrice) -> str:
    """One call's documented cost in words; `unknown` where the documentation does not say."""
    if price.found is None and price.not_found is None:
        return "unknown"

    def amount(value: Decimal | None) -> str:
        if value is None:
            return "unknown"
        if price.unit == "usd":
            return f"{_number(value)} USD"
        return f"{_number(value)} credit" + ("" if value == 1 else "s")

    if price.per_result:
        text = f"{amount(price.found)} per result (at least {amount(price.not_found)})"
    else:
        text = f"{amount(price.found)} found / {amount(price.not_found)} not found"
    return f"reported by the provider; documented: {text}" if price.reported else text


def _price_row(operation: OperationInfo, p: OperationProvider) -> list[str]:
    return [
        p.provider,
        f"`{operation.operation_id}`",
        f"`{p.action}`",
        cost_text(p.price),
        _cell(p.price.source or "—"),
    ]


def _table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def operations_reference(catalog: Iterable[OperationInfo] = CATALOG) -> str:
    operations = list(catalog)
    summary = _table(
        ["operation", "entity", "strategy", "providers (default order)", "minimum inputs", "step_config", "budget"],
        (
            [
                f"`{op.operation_id}`",
                op.entity_type.value,
                op.strategy.value,
                " → ".join(op.default_providers) or "local (no provider)",
                "; ".join(f"`{_cell(m)}`" for m in op.minimum_inputs),
                _code(k.key + ("" if not k.required else " (required)") for k in op.step_config_keys),
                f"{op.timeout_seconds} s",
            ]
            for op in operations
        ),
    )
    prices = _table(
        ["provider", "operation", "action", "documented cost per call", "source"],
        (_price_row(op, p) for op in operations for p in op.providers),
    )
    return (
        f"{summary}\n\n"
        "Minimum inputs: each item is one requirement, its alternatives joined with `|`. "
        "step_config: the keys a blueprint step (or /api/v1/execute `options`) may give it.\n\n"
        "Providers in each operation's order, with the documented cost of one call "
        "(each adapter's `PRICES`; docs/costs.md):\n\n"
        f"{prices}"
    )


def costs_reference(catalog: Iterable[OperationInfo] = CATALOG) -> str:
    rows = [(p.provider, op, p) for op in catalog for p in op.providers]
    rows.sort(key=lambda row: row[0])  # stable: each provider's operations stay in catalog order
    return _table(
        ["provider", "operation", "action", "documented cost per call", "source"],
        (_price_row(op, p) for _, op, p in rows),
    )


GENERATED: dict[str, dict[str, Callable[[], str]]] = {
    "docs/operations.md": {"catalog": operations_reference},
    "docs/costs.md": {"prices": costs_reference},
}


def fill(text: str, name: str, body: str) -> str:
    """`text` with the section between `name`'s markers replaced by `body`."""
    pattern = re.compile(
        rf"(<!-- generated:{name}:start -->\n)(?:.*?\n)?(<!-- generated:{name}:end -->)",
        re.DOTALL,
    )
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"expected one pair of generated:{name} markers")
    note = f"<!-- written by {FIX_COMMAND} from app/contracts/catalog.py and the adapters; do not edit -->\n"
    return pattern.sub(lambda m: m.group(1) + note + body + "\n" + m.group(2), text)


def expected(path: str, root: Path = REPO_ROOT) -> str:
    text = (root / path).read_text()
    for name, render in GENERATED[path].items():
        text = fill(text, name, render())
    return text


def stale(root: Path = REPO_ROOT) -> list[str]:
    return [path for path in GENERATED if (root / path).read_text() != expected(path, root)]


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        differ = stale()
        for path in differ:
            sys.stderr.write(f"{path} differs from the catalog: run {FIX_COMMAND}\n")
        return 1 if differ else 0
    if argv:
        sys.stderr.write("usage: python -m app.docs_catalog [--check]\n")
        return 2
    for path in GENERATED:
        (REPO_ROOT / path).write_text(expected(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
