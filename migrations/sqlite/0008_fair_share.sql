-- Fair share between tenants. Each step takes a turn when it is queued: the
-- tenant's next turn after its own unfinished work, but never before the head
-- of the queue. Claiming in (turn, id) order serves tenants with waiting work
-- in turn instead of whoever queued first (see pipeline/store.rs next_turn).
ALTER TABLE steps ADD COLUMN turn INTEGER NOT NULL DEFAULT 0;
-- The claim walks ready steps in turn order and stops at the first one.
DROP INDEX steps_ready;
CREATE INDEX steps_ready ON steps(turn, id) WHERE status = 'pending';
-- The head of the queue when nothing is ready: the earliest waiting step.
CREATE INDEX steps_blocked ON steps(turn) WHERE status = 'blocked';
-- A tenant's unfinished projects: where its own last turn is read from.
CREATE INDEX projects_tenant_status ON projects(tenant_id, status);
