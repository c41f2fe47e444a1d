"""The FastAPI application: lifespan resources, middlewares, error handlers, routers."""

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.config import Orchestrator, Settings, get_settings
from app.console import CONSOLE_DIST, CONSOLE_PATH, ConsoleFiles
from app.database import Database
from app.db import Db
from app.errors import install_error_handlers
from app.middleware import BodySizeLimitMiddleware, CredentialGateMiddleware, RequestIdMiddleware
from app.operations.engine import Engine
from app.operations.providers import Providers, RateGateDb
from app.operations.registry import validate_deployment_order
from app.periodic import Election, PeriodicJob
from app.providers._http import create_http_client
from app.ratelimit import IDLE_BUCKET_SECONDS, LoginThrottle, RateLimiter
from app.repositories import rate_limits as rate_limits_repo
from app.routers import (
    api_tokens,
    auth,
    batch_csv,
    blueprints,
    budgets,
    companies,
    entities,
    execute,
    health,
    operation_runs,
    operations,
    pipeline_runs,
    provider_keys,
    submissions,
    super_admin,
    usage,
    users,
    webhooks,
    worker_callbacks,
)
from app.services.dispatch import LocalDispatcher, TriggerDispatcher
from app.services.webhook_delivery import WebhookDeliverer, create_webhook_http_client
from app.services.webhooks import UrlGuard

log = logging.getLogger(__name__)


def _operation_id(route: APIRoute) -> str:
    # clean names for generated clients: "companies-create" rather than FastAPI's long default
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


async def _prune_rate_buckets(db: Db) -> None:
    async with db.autocommit() as conn:
        pruned = await rate_limits_repo.prune(conn, idle_seconds=IDLE_BUCKET_SECONDS)
    if pruned:
        log.info("pruned %d idle rate-limit buckets", pruned)


def create_app(settings: Settings | None = None, *, console_dist: Path = CONSOLE_DIST) -> FastAPI:
    settings = settings or get_settings()
    validate_deployment_order(settings.provider_order)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = await Database.open(settings)
        app.state.database = database
        app.state.pool = database.pool
        app.state.db = Db(database.pool)
        app.state.http = create_http_client()
        providers = Providers.from_settings(settings, app.state.http, RateGateDb(app.state.db))
        app.state.engine = Engine(
            providers,
            settings.provider_order,
            result_cache_ttl_hours=settings.result_cache_ttl_hours,
            byo_keys_only=settings.byo_keys_only,
        )
        jobs = [PeriodicJob("rate-bucket pruning", 60.0, lambda: _prune_rate_buckets(app.state.db))]
        if settings.effective_orchestrator is Orchestrator.trigger:
            dispatcher = TriggerDispatcher(
                app.state.db, app.state.http, settings.trigger_api_url, settings.secret("trigger_secret_key")
            )
            jobs.append(PeriodicJob("trigger sweeper", 30.0, dispatcher.sweep_and_log))
            app.state.dispatcher = dispatcher
        else:
            app.state.dispatcher = LocalDispatcher()
        # elected: one process of the deployment runs these (app/periodic.py); the lock's
        # connection names its process, so an operator sees in pg_stat_activity which one leads
        leader_dsn = settings.direct_database_url or database.dsn
        app.state.election = Election(
            lambda: asyncpg.connect(
                leader_dsn,
                server_settings={"application_name": f"data-engine.{settings.env.value}.leader.{os.getpid()}"},
            ),
            jobs,
            campaign_seconds=settings.periodic_campaign_seconds,
        )
        election = asyncio.create_task(app.state.election.run_forever())
        # not elected: every process delivers, rows claimed with SKIP LOCKED
        webhook_http = create_webhook_http_client(settings.webhook_timeout_seconds)
        deliverer = WebhookDeliverer(
            app.state.db, settings, app.state.webhook_guard, webhook_http, keyring=app.state.keyring
        )
        delivery = asyncio.create_task(deliverer.run_forever()) if settings.webhook_delivery_enabled else None
        try:
            yield
        finally:
            election.cancel()
            # its connection closes here, so another process takes the lock without waiting
            await asyncio.gather(election, return_exceptions=True)
            if delivery is not None:
                delivery.cancel()
                # an attempt in flight ends here; its claimed row is retried when its lease ends
                await asyncio.gather(delivery, return_exceptions=True)
            await webhook_http.aclose()
            await app.state.http.aclose()
            await database.close()

    app = FastAPI(
        title="data-engine-x",
        version="0.1.0",
        description="Multi-tenant enrichment backend. Every endpoint is POST with a JSON body; "
        'success is {"data": ...}, failure {"error": {code, message, details}}.',
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    # the buckets themselves are rows in Postgres, shared by every API process (decision 0073)
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    app.state.login_throttle = LoginThrottle.from_settings(settings)
    app.state.webhook_guard = UrlGuard(production=settings.is_production())
    # seals and opens the secrets kept at rest (org provider keys, webhook secrets); a missing or
    # malformed DATA_ENGINE_ENCRYPTION_KEY stops the app here, not at the first key set
    app.state.keyring = settings.keyring()
    install_error_handlers(app)
    for router in (
        health.router,
        auth.router,
        super_admin.router,
        companies.router,
        users.router,
        api_tokens.router,
        blueprints.router,
        operations.router,
        execute.router,
        operation_runs.router,
        submissions.router,
        batch_csv.router,
        pipeline_runs.router,
        entities.router,
        worker_callbacks.router,
        webhooks.router,
        usage.router,
        budgets.router,
        provider_keys.router,
    ):
        app.include_router(router)
    # the operator console (CONTRACT §9.8): static files, outside the API's credential gate
    app.mount(CONSOLE_PATH, ConsoleFiles(console_dist), name="console")
    # added last = outermost: the request id is set before anything else can answer
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # before the size limit: an anonymous body is refused before a byte of it is read
    app.add_middleware(CredentialGateMiddleware, settings=settings, router=app.router)
    app.add_middleware(RequestIdMiddleware, router=app.router)
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> FastAPI:
    # `uvicorn app.main:app` builds the app on first access, so importing this module (tests,
    # tools) has no side effects such as reading settings or creating local secrets
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)
