"""CSV in and out (CONTRACT §9.7) through the real app: `batch/submit-csv` and `batch/export`."""

import asyncio
import codecs
import csv
import io
import json
import uuid

import pytest

from app.auth.context import Role
from app.contracts import csv_fields
from app.contracts.catalog import OPERATIONS_BY_ID
from app.contracts.entities import EntityType
from app.errors import BadRequest
from app.services.batch_csv import parse_csv
from tests.factories import create_blueprint, create_tenant

PERSON_BP = ("person.contact.resolve_email", "person.contact.verify_email")
COUNTED = ("submissions", "pipeline_runs", "step_results")


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


@pytest.fixture
async def person_bp(conn, tenant):
    return await create_blueprint(conn, tenant.org.id, PERSON_BP)


async def _counts(conn):
    counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED}
    counts["jobs"] = await conn.fetchval("SELECT count(*) FROM graphile_worker.jobs")
    return counts


async def upload(client, tenant, blueprint, content, *, role=Role.org_admin, company=None, mapping=None, dry_run=None):
    data = {"blueprint_id": str(blueprint.id)}
    if dry_run is not None:
        data["dry_run"] = dry_run
    if role is Role.org_admin:
        data["company_id"] = str((company or tenant.company_a).id)
    elif company is not None:
        data["company_id"] = str(company.id)
    if mapping is not None:
        data["mapping"] = json.dumps(mapping)
    raw = content.encode() if isinstance(content, str) else content
    return await client.post(
        "/api/v1/batch/submit-csv",
        data=data,
        files={"file": ("leads.csv", raw, "text/csv")},
        headers=tenant.headers(role),
    )


async def _inputs(conn, submission_id):
    rows = await conn.fetch(
        "SELECT input FROM pipeline_runs WHERE submission_id = $1 ORDER BY entity_index", uuid.UUID(submission_id)
    )
    return [r["input"] for r in rows]


class TestSubmitCsv:
    async def test_bom_quoted_commas_and_newlines_and_aliases(self, client, conn, tenant, person_bp):
        body = (
            "\ufeffFirst Name,Last Name,Company,Website,LinkedIn URL,Notes,Work Email\r\n"
            'Ada,Lovelace,"Analytical Engines, Ltd.",https://www.engines.example/about,,'
            '"said ""hi""\non two lines",\r\n'
            "Grace,Hopper,Navy,navy.example,https://www.linkedin.com/in/grace,,grace@navy.example\r\n"
        )
        r = await upload(client, tenant, person_bp, body)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert len(data["pipeline_run_ids"]) == 2
        assert data["ignored_columns"] == ["Notes"]
        assert data["columns"] == {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Company": "company_name",
            "Website": "company_domain",
            "LinkedIn URL": "linkedin_url",
            "Work Email": "work_email",
        }
        assert await _inputs(conn, data["submission_id"]) == [
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "company_name": "Analytical Engines, Ltd.",
                "company_domain": "https://www.engines.example/about",
            },
            {
                "first_name": "Grace",
                "last_name": "Hopper",
                "company_name": "Navy",
                "company_domain": "navy.example",
                "linkedin_url": "https://www.linkedin.com/in/grace",
                "work_email": "grace@navy.example",
            },
        ]
        submission = await conn.fetchrow(
            "SELECT source, metadata, entity_count FROM submissions WHERE id = $1", uuid.UUID(data["submission_id"])
        )
        assert submission["source"] == "csv:leads.csv"
        assert submission["entity_count"] == 2
        assert submission["metadata"]["csv"]["ignored_columns"] == ["Notes"]

    async def test_headers_match_whatever_their_case_spacing_and_separators(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, "  COMPANY-DOMAIN ,company_name,LINKEDIN\nacme.com,Acme,\n")
        assert r.status_code == 200, r.text
        assert r.json()["data"]["columns"] == {
            "COMPANY-DOMAIN": "domain",
            "company_name": "name",
            "LINKEDIN": "linkedin_url",
        }
        assert await _inputs(conn, r.json()["data"]["submission_id"]) == [{"domain": "acme.com", "name": "Acme"}]

    async def test_a_mapping_names_columns_and_can_drop_one(self, client, conn, tenant, person_bp):
        body = "E-post,Namn,Firma,Email\nada@engines.example,Ada Lovelace,engines.example,other@x.example\n"
        mapping = {"E-post": "work_email", "Namn": "full_name", "Firma": "company_domain", "Email": None}
        r = await upload(client, tenant, person_bp, body, mapping=mapping)
        assert r.status_code == 200, r.text
        assert r.json()["data"]["ignored_columns"] == ["Email"]
        assert await _inputs(conn, r.json()["data"]["submission_id"]) == [
            {"work_email": "ada@engines.example", "full_name": "Ada Lovelace", "company_domain": "engines.example"}
        ]

    @pytest.mark.parametrize(
        ("mapping", "named"),
        [({"E-post": "shoe_size"}, "shoe_size"), ({"Phone Number": "work_email"}, "Phone Number")],
    )
    async def test_a_mapping_naming_an_unknown_field_or_column_is_a_400_naming_it(
        self, client, conn, tenant, person_bp, mapping, named
    ):
        before = await _counts(conn)
        r = await upload(client, tenant, person_bp, "E-post,Namn\na@b.example,Ada\n", mapping=mapping)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_mapping"
        assert named in r.json()["error"]["message"]
        assert await _counts(conn) == before

    async def test_bad_rows_are_listed_by_number_and_nothing_is_created(self, client, conn, tenant, person_bp):
        body = (
            "First Name,Last Name,Company Domain\n"
            "Ada,Lovelace,engines.example\n"  # row 1: fine
            "Grace,Hopper\n"  # row 2: a field short
            "\n"  # a blank line is not a row
            ",,engines.example\n"  # row 3: no name for resolve_email
            f"{'x' * 201},Long,long.example\n"  # row 4: first_name over 200 characters
            '"Alan","Turing\nMathison",bletchley.example\n'  # row 5 (lines 7-8): fine, a quoted newline
            "Joan,Clarke,a.example,extra\n"  # row 6: a field too many
        )
        before = await _counts(conn)
        r = await upload(client, tenant, person_bp, body)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_rows"
        assert error["details"]["count"] == 4
        rows = {p["row"]: p for p in error["details"]["rows"]}
        assert sorted(rows) == [2, 3, 4, 6]
        assert rows[2]["line"] == 3 and "has 2 fields; the header has 3" in rows[2]["reasons"][0]
        assert rows[3]["line"] == 5 and "no usable identifier for person.contact.resolve_email" in rows[3]["reasons"][0]
        assert "first_name|last_name|full_name" in rows[3]["reasons"][0]
        assert "201 characters; at most 200" in rows[4]["reasons"][0]
        assert rows[6]["line"] == 9
        assert await _counts(conn) == before

    async def test_a_row_with_a_nul_character_is_refused(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, "domain\nac\x00me.com\n")
        assert r.status_code == 400
        assert r.json()["error"]["details"]["rows"][0]["row"] == 1

    @pytest.mark.parametrize(
        ("content", "code"),
        [
            ("", "csv_empty"),
            ("domain,name\n", "csv_empty"),
            ("Shoe Size,Favourite Colour\n42,blue\n", "no_known_columns"),
            ("Domain,Company Domain\nacme.com,acme.com\n", "duplicate_field"),
            ("domain\n\xe9t\xe9.com\n".encode("latin-1"), "invalid_encoding"),
        ],
    )
    async def test_unusable_files_are_400s_and_create_nothing(self, client, conn, tenant, content, code):
        before = await _counts(conn)
        r = await upload(client, tenant, tenant.blueprint, content)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == code
        assert await _counts(conn) == before

    async def test_a_header_the_csv_reader_cannot_read_is_a_400(self, client, conn, tenant):
        # found by tests/reliability/test_hostile_input.py: a field over the reader's limit was a 500
        before = await _counts(conn)
        r = await upload(client, tenant, tenant.blueprint, "x" * 200_000 + "\nacme.com\n")
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_csv"
        r = await upload(client, tenant, tenant.blueprint, '"domain\nacme.com\n')
        assert r.status_code == 400, r.text
        assert await _counts(conn) == before

    async def test_a_broken_quote_is_a_bad_row(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, 'domain,name\nacme.com,"Acme" Inc\n')
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "invalid_rows"
        assert r.json()["error"]["details"]["rows"][0]["row"] == 1

    async def test_json_instead_of_a_form_is_415(self, client, tenant):
        r = await client.post(
            "/api/v1/batch/submit-csv",
            json={"blueprint_id": str(tenant.blueprint.id)},
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 415
        assert "multipart/form-data" in r.json()["error"]["message"]

    async def test_a_form_without_the_file_is_422(self, client, tenant):
        r = await client.post(
            "/api/v1/batch/submit-csv",
            data={"blueprint_id": str(tenant.blueprint.id)},
            files={"other": ("x.txt", b"x")},
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 422, r.text

    async def test_a_file_over_the_body_limit_is_413_while_it_streams(self, client, conn, tenant, app):
        limit = app.state.settings.max_body_bytes
        before = await _counts(conn)

        async def body():
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\ndomain\n'
            for _ in range(limit // 65536 + 2):
                yield b"acme.com\n" * 7282

        r = await client.post(
            "/api/v1/batch/submit-csv",
            content=body(),
            headers={**tenant.headers(Role.org_admin), "content-type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 413
        assert await _counts(conn) == before

    async def test_ten_thousand_rows(self, client, conn, tenant):
        # one step per run: the test is about the rows, and the suite shares two cores
        blueprint = await create_blueprint(conn, tenant.org.id, ("company.enrich.profile",))
        body = "Company Domain,Company Name\n" + "".join(f"acme{i}.com,Acme {i}\n" for i in range(10_000))
        r = await upload(client, tenant, blueprint, body)
        assert r.status_code == 200, r.text
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        assert await conn.fetchval("SELECT count(*) FROM pipeline_runs WHERE submission_id = $1", sid) == 10_000
        last = await conn.fetchval(
            "SELECT input FROM pipeline_runs WHERE submission_id = $1 AND entity_index = 9999", sid
        )
        assert last == {"domain": "acme9999.com", "name": "Acme 9999"}

    async def test_a_company_admin_submits_for_its_own_company(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, "domain\nacme.com\n", role=Role.company_admin)
        assert r.status_code == 200, r.text
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        assert await conn.fetchval("SELECT company_id FROM submissions WHERE id = $1", sid) == tenant.company_a.id

    async def test_another_orgs_blueprint_or_another_company_is_404_and_creates_nothing(self, client, conn, tenant):
        other = await create_tenant(conn)
        before = await _counts(conn)
        r = await upload(client, tenant, other.blueprint, "domain\nacme.com\n")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "blueprint_not_found"
        r = await upload(client, tenant, tenant.blueprint, "domain\nacme.com\n", company=other.company_a)
        assert r.status_code == 404
        r = await upload(
            client, tenant, tenant.blueprint, "domain\nacme.com\n", role=Role.company_admin, company=tenant.company_b
        )
        assert r.status_code == 404
        assert await _counts(conn) == before

    async def test_a_member_may_not_submit(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, "domain\nacme.com\n", role=Role.member)
        assert r.status_code == 403


class TestDryRun:
    """`dry_run=true`: the console's column-mapping preview is the API's own answer."""

    async def test_a_good_file_answers_the_preview_and_creates_nothing(self, client, conn, tenant, person_bp):
        before = await _counts(conn)
        body = "First Name,Last Name,Website,Notes\nAda,Lovelace,engines.example,x\nGrace,Hopper,navy.example,\n"
        r = await upload(client, tenant, person_bp, body, dry_run="true")
        assert r.status_code == 200, r.text
        preview = r.json()["data"]
        assert preview["dry_run"] is True
        assert preview["entity_type"] == "person"
        assert preview["rows"] == 2
        assert preview["columns"] == {"First Name": "first_name", "Last Name": "last_name", "Website": "company_domain"}
        assert preview["ignored_columns"] == ["Notes"]
        assert preview["fields"] == list(csv_fields.importable_fields(EntityType.person))
        assert "submission_id" not in preview
        assert await _counts(conn) == before

    async def test_a_mapping_is_applied_as_the_upload_would(self, client, conn, tenant):
        body = "Webbplats,Domain\nengines.example,x.example\n"
        mapping = {"Webbplats": "domain", "Domain": None}
        r = await upload(client, tenant, tenant.blueprint, body, mapping=mapping, dry_run="true")
        assert r.status_code == 200, r.text
        assert r.json()["data"]["columns"] == {"Webbplats": "domain"}
        assert r.json()["data"]["ignored_columns"] == ["Domain"]

    async def test_bad_rows_are_the_same_400_with_how_the_columns_were_read(self, client, conn, tenant, person_bp):
        before = await _counts(conn)
        body = "First Name,Last Name,Company Domain,Notes\nAda,Lovelace,engines.example,\n,,engines.example,x\n"
        r = await upload(client, tenant, person_bp, body, dry_run="true")
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_rows"
        assert [(p["row"], p["line"]) for p in error["details"]["rows"]] == [(2, 3)]
        assert error["details"]["columns"] == {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Company Domain": "company_domain",
        }
        assert error["details"]["ignored_columns"] == ["Notes"]
        assert "work_email" in error["details"]["fields"]
        assert await _counts(conn) == before

    async def test_mapping_errors_name_the_fields_a_mapping_may_use(self, client, tenant):
        r = await upload(client, tenant, tenant.blueprint, "Domain,Company Domain\nacme.com,acme.com\n", dry_run="true")
        assert r.status_code == 400
        details = r.json()["error"]["details"]
        assert details["duplicates"] == {"domain": ["Domain", "Company Domain"]}
        assert details["fields"] == list(csv_fields.importable_fields(EntityType.company))

    async def test_the_company_and_blueprint_are_checked_as_for_an_upload(self, client, conn, tenant):
        other = await create_tenant(conn)
        before = await _counts(conn)
        r = await upload(
            client, tenant, tenant.blueprint, "domain\nacme.com\n", company=other.company_a, dry_run="true"
        )
        assert r.status_code == 404
        r = await upload(client, tenant, other.blueprint, "domain\nacme.com\n", dry_run="true")
        assert r.json()["error"]["code"] == "blueprint_not_found"
        r = await client.post(
            "/api/v1/batch/submit-csv",
            data={"blueprint_id": str(tenant.blueprint.id), "dry_run": "true"},
            files={"file": ("leads.csv", b"domain\nacme.com\n", "text/csv")},
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "company_required"
        r = await upload(client, tenant, tenant.blueprint, "domain\nacme.com\n", role=Role.member, dry_run="true")
        assert r.status_code == 403
        assert await _counts(conn) == before

    async def test_false_uploads(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, "domain\nacme.com\n", dry_run="false")
        assert r.status_code == 200, r.text
        assert r.json()["data"]["dry_run"] is False
        assert len(r.json()["data"]["pipeline_run_ids"]) == 1


def test_more_rows_than_a_batch_holds_is_refused_before_the_rest_is_read():
    spec = OPERATIONS_BY_ID["company.enrich.profile"]
    stream = io.BytesIO(b"domain\n" + b"".join(f"a{i}.com\n".encode() for i in range(5)))
    with pytest.raises(BadRequest) as e:
        parse_csv(stream, EntityType.company, spec, {}, max_entities=4)
    assert e.value.code == "too_many_entities"
    assert parse_csv(io.BytesIO(b"domain\na.com\n"), EntityType.company, spec, {}, max_entities=1).inputs == [
        {"domain": "a.com"}
    ]


def test_every_alias_names_a_field_the_entity_can_take():
    for entity_type, aliases in csv_fields.ALIASES.items():
        fields = csv_fields.importable_fields(entity_type)
        assert {f for f in aliases.values() if f not in fields} == set(), entity_type
    assert csv_fields.field_for_header(EntityType.person, "Phone") == "mobile_phone"
    assert csv_fields.field_for_header(EntityType.company, "Website") == "website"
    assert csv_fields.field_for_header(EntityType.person, "Website") == "company_domain"


# --- export --------------------------------------------------------------------------------


async def _finish(conn, submission_id, contexts):
    """Mark the submission's runs as a worker would have left them."""
    for index, (status, context, error) in enumerate(contexts):
        await conn.execute(
            "UPDATE pipeline_runs SET status = $3, final_context = $4, error_message = $5"
            " WHERE submission_id = $1 AND entity_index = $2",
            submission_id,
            index,
            status,
            context,
            error,
        )


async def export(client, tenant, submission_id, role=Role.org_admin, **extra):
    return await client.post(
        "/api/v1/batch/export",
        json={"submission_id": str(submission_id), **extra},
        headers=tenant.headers(role),
    )


def _rows(r):
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))


async def _asgi_body_messages(app, path, body, headers):
    """The response body as the app sends it, message by message (httpx's ASGI transport joins
    them): a streamed answer is many messages, a buffered one is one."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    sent = False
    messages = []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the answer ends

    async def send(message):
        messages.append(message)

    await app(scope, receive, send)
    assert messages[0]["status"] == 200, messages
    return [m["body"] for m in messages[1:] if m.get("body")]


class TestExport:
    async def test_one_row_per_run_with_the_final_context_as_columns(self, client, conn, tenant):
        r = await upload(
            client, tenant, tenant.blueprint, "domain,name\nacme.com,Acme\nglobex.com,Globex\nbad.example,\n"
        )
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        await _finish(
            conn,
            sid,
            [
                (
                    "succeeded",
                    {"domain": "acme.com", "name": "Acme", "employee_count": 120, "meta_ads": {"ads": []}},
                    None,
                ),
                ("failed", None, "company.enrich.profile failed: every provider failed"),
                ("succeeded", {"domain": "bad.example", "custom_tag": "vip"}, None),
            ],
        )
        r = await export(client, tenant, sid)
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"] == f'attachment; filename="submission-{sid}.csv"'
        header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        expected_fields = csv_fields.export_fields(EntityType.company)
        assert header == [*csv_fields.EXPORT_LEAD_COLUMNS, *expected_fields, "other_fields"]
        rows = _rows(r)
        assert [(x["entity_index"], x["status"]) for x in rows] == [
            ("0", "succeeded"),
            ("1", "failed"),
            ("2", "succeeded"),
        ]
        assert rows[0]["domain"] == "acme.com" and rows[0]["employee_count"] == "120"
        assert json.loads(rows[0]["meta_ads"]) == {"ads": []}
        assert rows[0]["depth"] == "0" and rows[0]["parent_pipeline_run_id"] == ""
        assert rows[1]["error_message"] == "company.enrich.profile failed: every provider failed"
        assert rows[1]["domain"] == ""
        assert json.loads(rows[2]["other_fields"]) == {"custom_tag": "vip"}

    async def test_fan_out_children_are_rows_with_their_parent_and_depth(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, "domain\nacme.com\n")
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        parent = await conn.fetchval("SELECT id FROM pipeline_runs WHERE submission_id = $1", sid)
        await conn.execute(
            "INSERT INTO pipeline_runs (org_id, company_id, submission_id, entity_index, entity_type, status,"
            " blueprint_snapshot, blueprint_version, input, final_context, parent_pipeline_run_id, depth, child_key)"
            " SELECT org_id, company_id, submission_id, 1, 'person', 'succeeded', '{}', 'v1', '{}', $2, id, 1, 'k'"
            " FROM pipeline_runs WHERE id = $1",
            parent,
            {"full_name": "Ada Lovelace", "work_email": "ada@acme.com", "domain": "not-a-person-field.com"},
        )
        rows = _rows(await export(client, tenant, sid))
        assert [(x["entity_type"], x["depth"], x["parent_pipeline_run_id"]) for x in rows] == [
            ("company", "0", ""),
            ("person", "1", str(parent)),
        ]
        assert rows[1]["full_name"] == "Ada Lovelace" and rows[1]["work_email"] == "ada@acme.com"
        # a company column is not filled from a person's context: that key lands in other_fields
        assert rows[1]["domain"] == ""
        assert json.loads(rows[1]["other_fields"]) == {"domain": "not-a-person-field.com"}

    async def test_cells_a_spreadsheet_would_run_are_neutralised_unless_asked_not_to(self, client, conn, tenant):
        r = await upload(client, tenant, tenant.blueprint, "domain,name\nacme.com,Acme\n")
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        evil = '=HYPERLINK("http://evil.example","x")'
        await _finish(
            conn, sid, [("succeeded", {"domain": "acme.com", "name": evil, "description": "-2+3"}, "@SUM(A1)")]
        )
        row = _rows(await export(client, tenant, sid))[0]
        assert row["name"] == "'" + evil
        assert row["description"] == "'-2+3"
        assert row["error_message"] == "'@SUM(A1)"
        assert row["domain"] == "acme.com"
        raw = _rows(await export(client, tenant, sid, escape_formulas=False))[0]
        assert raw["name"] == evil and raw["description"] == "-2+3"

    async def test_ten_thousand_runs_stream_in_pages(self, client, conn, tenant, app):
        blueprint = await create_blueprint(conn, tenant.org.id, ("company.enrich.profile",))
        body = "domain\n" + "".join(f"acme{i}.com\n" for i in range(10_000))
        r = await upload(client, tenant, blueprint, body)
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        chunks = await _asgi_body_messages(
            app, "/api/v1/batch/export", {"submission_id": str(sid)}, tenant.headers(Role.org_admin)
        )
        # the header, then one chunk per page of runs: never the whole file at once
        assert len(chunks) >= 20
        assert max(len(c) for c in chunks) < sum(len(c) for c in chunks) / 10
        rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode("utf-8-sig"), newline="")))
        assert [int(x["entity_index"]) for x in rows] == list(range(10_000))
        assert rows[-1]["pipeline_run_id"]

    async def test_another_orgs_or_companys_submission_is_404_before_streaming(self, client, conn, tenant):
        other = await create_tenant(conn)
        r = await upload(client, other, other.blueprint, "domain\nacme.com\n")
        foreign = r.json()["data"]["submission_id"]
        for role in Role:
            r = await export(client, tenant, foreign, role)
            assert r.status_code == 404, role
            assert r.json()["error"]["code"] == "submission_not_found"
        r = await upload(client, tenant, tenant.blueprint, "domain\nacme.com\n", company=tenant.company_b)
        company_b = r.json()["data"]["submission_id"]
        for role in (Role.company_admin, Role.member):
            r = await export(client, tenant, company_b, role)
            assert r.status_code == 404, role
        assert (await export(client, tenant, company_b, Role.org_admin)).status_code == 200
