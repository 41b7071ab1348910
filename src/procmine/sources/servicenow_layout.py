"""The snapshot layout of a ServiceNow incident audit export (the columns, in their order):
what the servicenow adapter reads, the Table API pull writes and `procmine sample` imitates."""

from __future__ import annotations

SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "number", "incident_state", "active", "reassignment_count", "reopen_count",
    "sys_mod_count", "made_sla", "caller_id", "opened_by", "opened_at",
    "sys_created_by", "sys_created_at", "sys_updated_by", "sys_updated_at",
    "contact_type", "location", "category", "subcategory", "u_symptom", "cmdb_ci",
    "impact", "urgency", "priority", "assignment_group", "assigned_to", "knowledge",
    "u_priority_confirmation", "notify", "problem_id", "rfc", "vendor", "caused_by",
    "closed_code", "resolved_by", "resolved_at", "closed_at",
)  # fmt: skip
