"""The database server for `make mutation`: its own embedded Postgres (data directory and port,
so a `make test` in the same checkout never stops it), migrated and templated once, then shared by
every pytest run mutmut starts (its forked children each clone their own database).

    python -m tests.mutation_db start   # prints the environment the runs need
    python -m tests.mutation_db stop
"""

import asyncio
import sys

from app.embedded_pg import EmbeddedPostgres
from tests import pg

SERVER = EmbeddedPostgres(pgdata=pg.TEST_DATA_DIR.parent / "mutation" / "postgres", port=pg.TEST_PG_PORT + 1)


def start() -> None:
    SERVER.start()
    asyncio.run(pg.build_template(SERVER.admin_url))
    # to the runs an external server (they neither start nor stop it) with its template ready
    print(f"export DATA_ENGINE_DATABASE_URL={SERVER.admin_url}")  # noqa: T201 - read by the Makefile
    print(f"export {pg.TEMPLATE_READY_ENV}=1")  # noqa: T201


def stop() -> None:
    SERVER.stop()


if __name__ == "__main__":
    {"start": start, "stop": stop}[sys.argv[1]]()
