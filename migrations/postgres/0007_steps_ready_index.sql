-- The claim walks ready steps in id order: a partial index over pending steps
-- lets it stop at the first one instead of sorting every pending row.
CREATE INDEX steps_ready ON steps(id) WHERE status = 'pending';
