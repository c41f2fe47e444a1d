"""Every row of every table, as text: what a full dump of the database would show (the rows the
test's own transaction wrote included, since it reads on that connection)."""

import asyncpg


async def dump_text(conn: asyncpg.Connection) -> dict[str, str]:
    tables = await conn.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
    )
    out = {}
    for row in tables:
        name = f'"{row["table_schema"]}"."{row["table_name"]}"'
        key = row["table_name"] if row["table_schema"] == "public" else name
        out[key] = await conn.fetchval(f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {name} t")
    return out
