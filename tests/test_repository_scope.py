"""CLAUDE.md "Tenancy": the caller's company scope is an argument no repository function can
forget. It never has a default (None means org-wide and must be said), and in the pipeline
repositories it is keyword-only, beside every `org_id`."""

import importlib
import inspect
import pkgutil

import pytest

import app.repositories

PIPELINE_REPOSITORIES = ("submissions", "pipeline_runs", "worker_callbacks", "dispatch")


def _functions(module_name: str):
    module = importlib.import_module(f"app.repositories.{module_name}")
    for name, fn in inspect.getmembers(module, inspect.iscoroutinefunction):
        if fn.__module__ == module.__name__:
            yield name, inspect.signature(fn)


@pytest.mark.parametrize("module_name", [m.name for m in pkgutil.iter_modules(app.repositories.__path__)])
def test_no_repository_defaults_the_company_scope(module_name: str):
    for name, signature in _functions(module_name):
        scope = signature.parameters.get("company_scope")
        if scope is not None:
            assert scope.default is inspect.Parameter.empty, f"{module_name}.{name}"


@pytest.mark.parametrize("module_name", PIPELINE_REPOSITORIES)
def test_pipeline_repositories_take_the_scope_by_keyword_beside_every_org_id(module_name: str):
    for name, signature in _functions(module_name):
        params = signature.parameters
        if "org_id" not in params:
            continue
        # an insert names the row's own company instead (the caller resolved and checked it)
        if "company_id" in params:
            continue
        assert "company_scope" in params, f"{module_name}.{name} takes org_id without the company scope"
        assert params["company_scope"].kind is inspect.Parameter.KEYWORD_ONLY, f"{module_name}.{name}"
