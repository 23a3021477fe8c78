"""DDL that makes any table append-only in the database itself (no UPDATE, DELETE, TRUNCATE).

The audit trail has its own (`doseline.audit.append_only_ddl`); this is the same guard for
other logs that must never be rewritten, such as the notifications service's event log.
"""

from __future__ import annotations


def _names(schema: str, table: str) -> tuple[str, str, str]:
    return (
        f'"{schema}".{table}_append_only',
        f"{table}_no_update_delete",
        f"{table}_no_truncate",
    )


def append_only_ddl(schema: str, table: str) -> list[str]:
    """Statements (for a migration) that reject UPDATE, DELETE and TRUNCATE on the table."""
    function, row_trigger, truncate_trigger = _names(schema, table)
    return [
        f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """,
        f"""
        CREATE TRIGGER {row_trigger}
        BEFORE UPDATE OR DELETE ON "{schema}".{table}
        FOR EACH ROW EXECUTE FUNCTION {function}()
        """,
        f"""
        CREATE TRIGGER {truncate_trigger}
        BEFORE TRUNCATE ON "{schema}".{table}
        FOR EACH STATEMENT EXECUTE FUNCTION {function}()
        """,
    ]


def drop_append_only_ddl(schema: str, table: str) -> list[str]:
    function, row_trigger, truncate_trigger = _names(schema, table)
    return [
        f'DROP TRIGGER IF EXISTS {truncate_trigger} ON "{schema}".{table}',
        f'DROP TRIGGER IF EXISTS {row_trigger} ON "{schema}".{table}',
        f"DROP FUNCTION IF EXISTS {function}()",
    ]
