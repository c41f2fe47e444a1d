-- 020_step_conditions: the condition and skip_if_fresh a blueprint step declares (CONTRACT §9.1),
-- frozen into each run's snapshot like the rest of the step. A condition is stored in the
-- normalised form app/contracts/conditions.py validates and reads back.
ALTER TABLE blueprint_steps
    ADD COLUMN condition jsonb,
    ADD COLUMN skip_if_fresh jsonb;
