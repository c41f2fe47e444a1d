"""Typed dependencies for what the application builds once in its lifespan (app/main.py).

Routers and dependencies take these `Annotated` aliases instead of reading `request.app.state`,
so every consumer of a shared object names its type and FastAPI injects it."""

from typing import Annotated, cast

import asyncpg
from fastapi import Depends, Request

from app.config import Settings
from app.encryption import Keyring
from app.operations.engine import Engine
from app.ratelimit import LoginThrottle, RateLimiter
from app.services.dispatch import Dispatcher
from app.services.webhooks import UrlGuard


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_engine(request: Request) -> Engine:
    return cast(Engine, request.app.state.engine)


def get_dispatcher(request: Request) -> Dispatcher:
    return cast(Dispatcher, request.app.state.dispatcher)


def get_rate_limiter(request: Request) -> RateLimiter:
    return cast(RateLimiter, request.app.state.rate_limiter)


def get_login_throttle(request: Request) -> LoginThrottle:
    return cast(LoginThrottle, request.app.state.login_throttle)


def get_url_guard(request: Request) -> UrlGuard:
    return cast(UrlGuard, request.app.state.webhook_guard)


def get_keyring(request: Request) -> Keyring:
    return cast(Keyring, request.app.state.keyring)


def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
UrlGuardDep = Annotated[UrlGuard, Depends(get_url_guard)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
