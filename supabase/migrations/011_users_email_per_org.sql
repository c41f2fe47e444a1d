-- 011_users_email_per_org: an email is unique within an org, no longer across the platform.
-- A platform-wide key let any org admin learn (409) that an address was a user elsewhere and
-- take it first so the other org could never add that person. The same person in two orgs is
-- two users rows (one per membership, each with its own role, company and password); login
-- names the org when the email alone is ambiguous (docs/decisions/0025-accounts-per-org.md).
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_org_email_key UNIQUE (org_id, email);
-- login without an org looks the email up across orgs
CREATE INDEX users_email_idx ON users (email);
