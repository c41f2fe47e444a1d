"""The operator console (CONTRACT §9.8): the built single-page app under `console/dist`, served by
the API process at `/console`, and the OpenAPI schema its typed client is generated from.

The build is a `make` step (`console/`, docs/decisions/0070-console.md). An API started without
it still starts: `/console` then answers 503 with what to run, never a 500.
"""

import json
import secrets
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from app.config import REPO_ROOT, Settings
from app.encryption import generate_spec

CONSOLE_PATH = "/console"
CONSOLE_DIST = REPO_ROOT / "console" / "dist"
NOT_BUILT = (
    "The operator console is not built in this deployment: run `make console` (or any of `make run`, "
    "`make test`), then reload this page. The API itself is unaffected.\n"
)
# hashed by the build (assets/index-<hash>.js): safe to keep for a year; index.html never is
IMMUTABLE = "public, max-age=31536000, immutable"


class ConsoleFiles(StaticFiles):
    """StaticFiles with the single-page-app fallback: a path that is no file (`/console/runs/…`,
    a link someone shared) answers index.html, and the app's router takes it from there. The
    directory is looked at on every request, so a build made after the API started is served."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.dist = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.dist / "index.html").is_file():
            response: Response = PlainTextResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "60"})
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as e:
            if e.status_code != 404:
                raise
            # an asset that is gone (an old tab after a rebuild) stays a 404: index.html in its
            # place would be parsed as a script and fail less clearly
            if path.startswith("assets/"):
                raise
            response = await super().get_response("index.html", scope)
        if path.startswith("assets/") and response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


def schema_settings() -> Settings:
    """Settings good enough to build the app for its schema alone: nothing is started, no secret
    file is written, no database is reached."""
    throwaway: dict[str, object] = {
        name: secrets.token_urlsafe(32) for name in ("internal_api_key", "jwt_secret", "super_admin_api_key")
    }
    throwaway["encryption_key"] = generate_spec()
    return Settings(database_url="postgresql://schema-only@127.0.0.1:1/unused", **throwaway)  # type: ignore[arg-type]


def write_openapi(path: Path) -> None:
    """The schema the console's client types are generated from (`make console`)."""
    from app.main import create_app

    schema = create_app(schema_settings()).openapi()
    path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
