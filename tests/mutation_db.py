"""The database server for `make mutation`: started and templated once, then shared by every
pytest run mutmut starts (its forked children each clone their own database from the template).

    python -m tests.mutation_db start   # prints the environment the runs need
    python -m tests.mutation_db stop
"""

import asyncio
import sys

from tests import pg


def start() -> None:
    admin_dsn, _ = pg.start_test_server()
    asyncio.run(pg.build_template(admin_dsn))
    # an external server to the runs (they neither start nor stop it) with its template ready
    print(f"export DATA_ENGINE_DATABASE_URL={admin_dsn}")  # noqa: T201 - read by the Makefile
    print(f"export {pg.TEMPLATE_READY_ENV}=1")  # noqa: T201


def stop() -> None:
    from app.embedded_pg import EmbeddedPostgres

    EmbeddedPostgres(pgdata=pg.TEST_DATA_DIR / "postgres", port=pg.TEST_PG_PORT).stop()


if __name__ == "__main__":
    {"start": start, "stop": stop}[sys.argv[1]]()
