"""The sales side's HTTP handlers (leads, deals, tasks, merges, reports, sync-out webhooks) and
their parts of the OpenAPI document; the rules stay in ``hub.crm_sync``."""
