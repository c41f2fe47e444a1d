-- 008_provider_rate_slots: account-wide pacing of provider calls shared by every API process
-- (Icypeas allows 30 result reads a minute for the whole account). One row per pacing key; a
-- claim takes the row lock, reads the next free slot and moves it one interval on.
CREATE TABLE provider_rate_slots (
    key      text PRIMARY KEY,
    next_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE provider_rate_slots ENABLE ROW LEVEL SECURITY;
