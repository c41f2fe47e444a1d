"""Typed dependencies for what the application builds once in its lifespan (app/main.py).

Routers and dependencies take these `Annotated` aliases instead of reading `request.app.state`,
so every consumer of a shared object names its type and FastAPI injects it. They are `async def`
although they await nothing: FastAPI runs a plain `def` dependency in its threadpool, two thread
switches per dependency per request (tests/test_conventions.py holds it)."""

from typing import Annotated, cast

import asyncpg
from fastapi import Depends, Request

from app.config import Settings
from app.encryption import Keyring
from app.operations.engine import Engine
from app.ratelimit import LoginThrottle, RateLimiter
from app.services.dispatch import Dispatcher
from app.services.webhooks import UrlGuard


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_engine(request: Request) -> Engine:
    return cast(Engine, request.app.state.engine)


async def get_dispatcher(request: Request) -> Dispatcher:
    return cast(Dispatcher, request.app.state.dispatcher)


async def get_rate_limiter(request: Request) -> RateLimiter:
    return cast(RateLimiter, request.app.state.rate_limiter)


async def get_login_throttle(request: Request) -> LoginThrottle:
    return cast(LoginThrottle, request.app.state.login_throttle)


async def get_url_guard(request: Request) -> UrlGuard:
    return cast(UrlGuard, request.app.state.webhook_guard)


async def get_keyring(request: Request) -> Keyring:
    return cast(Keyring, request.app.state.keyring)


async def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
UrlGuardDep = Annotated[UrlGuard, Depends(get_url_guard)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
