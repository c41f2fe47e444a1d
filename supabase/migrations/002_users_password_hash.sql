-- 002_users_password_hash: users who sign in with /api/auth/login have an Argon2 hash here.
-- NULL means the user has no password and cannot open a session (API tokens still work).
ALTER TABLE users ADD COLUMN password_hash text;
