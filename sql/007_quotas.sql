-- 007_quotas.sql - schema version 7: indexes for the quotas and the fair claim across tenants.
--
-- A tenant's pending requests, oldest first: the per-tenant pending quota
-- counts this range, and the claim skips from tenant to tenant through it
-- (MIN(tenant_id) > x) and takes each tenant's oldest due row from it.
CREATE INDEX IF NOT EXISTS requests_tenant_pending ON requests (tenant_id, run_after)
	WHERE status = 'PENDING';
-- The requests a tenant has running: the claim prefers the tenant with fewest.
CREATE INDEX IF NOT EXISTS requests_tenant_running ON requests (tenant_id)
	WHERE status = 'PROCESSING';
-- When a tenant was last served: among tenants with as few running, the one
-- waiting longest goes first (round robin, also with one processor).
CREATE INDEX IF NOT EXISTS requests_tenant_started ON requests (tenant_id, started_at)
	WHERE started_at IS NOT NULL;
