-- 007_quotas.sql - PostgreSQL schema version 7: indexes for the quotas and the fair claim across tenants (see sql/007_quotas.sql).
CREATE INDEX IF NOT EXISTS requests_tenant_pending ON requests (tenant_id, run_after)
	WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS requests_tenant_running ON requests (tenant_id)
	WHERE status = 'PROCESSING';
CREATE INDEX IF NOT EXISTS requests_tenant_started ON requests (tenant_id, started_at)
	WHERE started_at IS NOT NULL;
