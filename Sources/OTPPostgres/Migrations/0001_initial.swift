extension PostgresSchema {
    /// Version 1: the state of SQLite schema version 3 (codes bound to their owner and action,
    /// step-up tokens with their action and boot-clock reading, the SMS firewall's records, the
    /// providers' delivery statuses) and
    /// the two tables the portal may already have (`users`, `notification_preferences`).
    /// Times are Unix seconds (`bigint`), as on SQLite, so the rules see the same numbers.
    static let m0001Initial = PostgresMigration(version: 1, name: "initial", sql: """
        CREATE TABLE otp_codes (
            phone_hash text NOT NULL,
            purpose text NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            owner text NOT NULL DEFAULT '',
            action text,
            code_hash text,
            issued_at bigint,
            expires_at bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            send_count integer NOT NULL DEFAULT 0 CHECK (send_count >= 0),
            send_window_start bigint,
            last_sent_at bigint,
            verified_at bigint,
            pending_code_hash text,
            pending_since bigint,
            pending_action text,
            country text,
            issued_boot_id text,
            issued_boot_ms bigint,
            PRIMARY KEY (phone_hash, purpose, owner)
        );
        CREATE INDEX otp_codes_expires_at ON otp_codes (expires_at);
        CREATE TABLE step_up_tokens (
            token_hash text PRIMARY KEY,
            user_id text NOT NULL,
            action text,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            created_boot_id text,
            created_boot_ms bigint,
            used_at bigint
        );
        CREATE INDEX step_up_tokens_expires_at ON step_up_tokens (expires_at);
        CREATE TABLE IF NOT EXISTS users (
            user_id text PRIMARY KEY,
            phone_e164 text,
            phone_verified integer NOT NULL DEFAULT 0,
            phone_verified_at bigint
        );
        CREATE TABLE IF NOT EXISTS notification_preferences (
            id bigserial PRIMARY KEY,
            user_id text NOT NULL,
            sms_phone_number text,
            sms_phone_verified integer NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS notification_preferences_sms_phone_number ON notification_preferences (sms_phone_number);
        CREATE TABLE sms_firewall (
            scope text NOT NULL CHECK (scope IN ('user', 'address', 'country', 'total')),
            key text NOT NULL,
            "window" bytea NOT NULL DEFAULT '',
            paused_until bigint,
            alerted_until bigint,
            tripwire bytea NOT NULL DEFAULT '',
            PRIMARY KEY (scope, key)
        );
        CREATE TABLE sms_deliveries (
            provider text NOT NULL,
            message_id text NOT NULL,
            purpose text NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            sent_at bigint NOT NULL,
            status text NOT NULL CHECK (status IN ('sent', 'delivered', 'undelivered', 'failed', 'unknown')),
            status_at bigint,
            error_code text,
            PRIMARY KEY (provider, message_id)
        );
        CREATE INDEX sms_deliveries_sent_at ON sms_deliveries (sent_at);
        """)
}
