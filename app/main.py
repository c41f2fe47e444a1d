"""The FastAPI application: lifespan resources, middlewares, error handlers, routers."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.config import Settings, get_settings
from app.database import Database
from app.errors import install_error_handlers
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from app.routers import api_tokens, auth, blueprints, companies, health, operations, super_admin, users

log = logging.getLogger(__name__)


def _operation_id(route: APIRoute) -> str:
    # clean names for generated clients: "companies-create" rather than FastAPI's long default
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = await Database.open(settings)
        app.state.database = database
        app.state.pool = database.pool
        try:
            yield
        finally:
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
    ):
        app.include_router(router)
    # added last = outermost: the request id is set before anything else can answer
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
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
