/// Every statement the store prepares, with its parameters in the order of the core's
/// `storedValues` (StoredRow.swift). Casts name a parameter's type where PostgreSQL cannot infer it.
enum PostgresStatements {
    static let codeColumns = """
        code_hash, issued_at, expires_at, attempts, send_count, send_window_start, last_sent_at, verified_at,
        pending_code_hash, pending_since, issued_boot_id, issued_boot_ms, action, pending_action, country
        """

    /// The code record, locked until the transaction ends: a second node's send or verify of the
    /// same (phone, purpose, owner) waits here and then reads what this one wrote.
    static let lockCode = PostgresStatement(name: "lock_code", sql: """
        SELECT \(codeColumns) FROM otp_codes WHERE phone_hash = $1 AND purpose = $2 AND owner = $3 FOR UPDATE
        """)

    /// A placeholder row for a key no row has yet, so that a second node creating the same key
    /// waits on it; the store deletes it before COMMIT unless the record was saved.
    static let placeholderCode = PostgresStatement(name: "placeholder_code", sql: """
        INSERT INTO otp_codes (phone_hash, purpose, owner, expires_at) VALUES ($1, $2, $3, 0)
        ON CONFLICT (phone_hash, purpose, owner) DO NOTHING RETURNING 1
        """)

    static let deleteCodePlaceholder = PostgresStatement(name: "delete_code_placeholder", sql: """
        DELETE FROM otp_codes WHERE phone_hash = $1 AND purpose = $2 AND owner = $3
        """)

    static let saveCode = PostgresStatement(name: "save_code", sql: """
        INSERT INTO otp_codes (phone_hash, purpose, code_hash, issued_at, expires_at, attempts, send_count,
                               send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
                               issued_boot_id, issued_boot_ms, owner, action, pending_action, country)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
        ON CONFLICT (phone_hash, purpose, owner) DO UPDATE SET
            code_hash = excluded.code_hash, issued_at = excluded.issued_at, expires_at = excluded.expires_at,
            attempts = excluded.attempts, send_count = excluded.send_count,
            send_window_start = excluded.send_window_start, last_sent_at = excluded.last_sent_at,
            verified_at = excluded.verified_at, pending_code_hash = excluded.pending_code_hash,
            pending_since = excluded.pending_since, issued_boot_id = excluded.issued_boot_id,
            issued_boot_ms = excluded.issued_boot_ms, action = excluded.action, pending_action = excluded.pending_action,
            country = excluded.country
        """)

    static let saveVerificationState = PostgresStatement(name: "save_verification_state", sql: """
        UPDATE otp_codes SET attempts = $3, verified_at = $4 WHERE phone_hash = $1 AND purpose = $2 AND owner = $5
        """)

    static let allCodes = PostgresStatement(name: "all_codes", sql: """
        SELECT \(codeColumns), phone_hash, purpose, owner FROM otp_codes
        """)

    static let tokenColumns = "user_id, created_at, expires_at, created_boot_id, created_boot_ms, used_at, action"

    static let insertToken = PostgresStatement(name: "insert_token", sql: """
        INSERT INTO step_up_tokens (token_hash, user_id, created_at, expires_at, created_boot_id, created_boot_ms, action)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """)

    /// The one-time use: one conditional UPDATE. At READ COMMITTED a second node's UPDATE of the
    /// same row waits for the first to commit, re-reads the row, finds `used_at` set and changes
    /// nothing: of N concurrent callers exactly one sees one row changed.
    static let consumeToken = PostgresStatement(name: "consume_token", sql: """
        UPDATE step_up_tokens SET used_at = $1
        WHERE token_hash = $2 AND user_id = $3 AND action IS NOT DISTINCT FROM $4::text AND used_at IS NULL
          AND created_at <= $1 AND expires_at > $1
          AND ($5::text IS NULL OR created_boot_id IS DISTINCT FROM $5::text OR (created_boot_ms > $6 AND created_boot_ms <= $7))
        """)

    static let token = PostgresStatement(name: "token", sql: "SELECT \(tokenColumns) FROM step_up_tokens WHERE token_hash = $1")

    static let allTokens = PostgresStatement(name: "all_tokens", sql: "SELECT \(tokenColumns) FROM step_up_tokens")

    static let firewallColumns = #"scope, key, "window", paused_until, alerted_until, tripwire"#

    /// The rows of 1 to 4 keys (user, address, country, total), each locked, in the order given
    /// (the store sorts the keys, so every transaction locks them in one order); a key without a
    /// row gets a placeholder row, locked too (`inserted` is true for those). One statement: an
    /// INSERT … ON CONFLICT DO UPDATE locks an existing row like SELECT … FOR UPDATE does.
    static let lockFirewall: [PostgresStatement] = (1...4).map { count in
        let values = (0..<count).map { "($\($0 * 2 + 1), $\($0 * 2 + 2))" }.joined(separator: ", ")
        return PostgresStatement(name: "lock_firewall_\(count)", sql: """
            INSERT INTO sms_firewall (scope, key) VALUES \(values)
            ON CONFLICT (scope, key) DO UPDATE SET scope = excluded.scope
            RETURNING \(firewallColumns), xmax = 0 AS inserted
            """)
    }

    static let deleteFirewallPlaceholder = PostgresStatement(name: "delete_firewall_placeholder", sql: """
        DELETE FROM sms_firewall WHERE scope = $1 AND key = $2
        """)

    static let saveFirewall = PostgresStatement(name: "save_firewall", sql: """
        INSERT INTO sms_firewall (\(firewallColumns)) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (scope, key) DO UPDATE SET "window" = excluded."window", paused_until = excluded.paused_until,
            alerted_until = excluded.alerted_until, tripwire = excluded.tripwire
        """)

    static let allFirewall = PostgresStatement(name: "all_firewall", sql: "SELECT \(firewallColumns) FROM sms_firewall ORDER BY scope, key")

    static let verifiedPhone = PostgresStatement(name: "verified_phone", sql: """
        SELECT phone_e164 FROM users WHERE user_id = $1 AND phone_verified = 1
        """)

    /// The user's row, locked: a phone change is decided on what this returns.
    static let lockUser = PostgresStatement(name: "lock_user", sql: """
        SELECT phone_e164, phone_verified = 1 FROM users WHERE user_id = $1 FOR UPDATE
        """)

    static let placeholderUser = PostgresStatement(name: "placeholder_user", sql: """
        INSERT INTO users (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING RETURNING 1
        """)

    static let deleteUserPlaceholder = PostgresStatement(name: "delete_user_placeholder", sql: """
        DELETE FROM users WHERE user_id = $1 AND phone_e164 IS NULL AND phone_verified = 0
        """)

    static let markUserVerified = PostgresStatement(name: "mark_user_verified", sql: """
        INSERT INTO users (user_id, phone_e164, phone_verified, phone_verified_at) VALUES ($1, $2, 1, $3)
        ON CONFLICT (user_id) DO UPDATE SET
            phone_e164 = excluded.phone_e164, phone_verified = 1, phone_verified_at = excluded.phone_verified_at
        """)

    static let markPreferencesVerified = PostgresStatement(name: "mark_preferences_verified", sql: """
        UPDATE notification_preferences SET sms_phone_verified = 1 WHERE sms_phone_number = $1
        """)

    static let resetPhone = PostgresStatement(name: "reset_phone", sql: """
        UPDATE users SET phone_e164 = NULL, phone_verified = 0, phone_verified_at = NULL WHERE user_id = $1 AND phone_verified = 1
        """)

    static let ping = PostgresStatement(name: "ping", sql: "SELECT 1")

    /// Purge on one node at a time: the others find the lock taken and skip this round. The lock
    /// is per schema, so deployments sharing a database in separate schemas purge independently.
    static let purgeLock = PostgresStatement(name: "purge_lock", sql: """
        SELECT pg_try_advisory_xact_lock(hashtext('otp-fcgi purge'), hashtext(current_schema()))
        """)

    static let purgeCodes = PostgresStatement(name: "purge_codes", sql: """
        DELETE FROM otp_codes WHERE expires_at <= $1 AND coalesce(send_window_start, $2) <= $2
          AND coalesce(last_sent_at, $3) <= $3 AND coalesce(pending_since, $4) <= $4
        """)

    static let purgeTokens = PostgresStatement(name: "purge_tokens", sql: "DELETE FROM step_up_tokens WHERE expires_at <= $1")

    static let purgeDeliveries = PostgresStatement(name: "purge_deliveries", sql: "DELETE FROM sms_deliveries WHERE sent_at <= $1")

    static let insertDelivery = PostgresStatement(name: "insert_delivery", sql: """
        INSERT INTO sms_deliveries (provider, message_id, purpose, sent_at, status, status_at, error_code, reference)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (reference) DO UPDATE SET provider = excluded.provider, message_id = excluded.message_id,
            purpose = excluded.purpose, sent_at = excluded.sent_at, status = excluded.status, status_at = excluded.status_at,
            error_code = excluded.error_code
        """)

    /// A row without a reference (stored before there were references), keyed by its message id.
    static let insertUnreferencedDelivery = PostgresStatement(name: "insert_unreferenced_delivery", sql: """
        INSERT INTO sms_deliveries (provider, message_id, purpose, sent_at, status, status_at, error_code, reference)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (provider, message_id) WHERE reference IS NULL DO UPDATE SET purpose = excluded.purpose,
            sent_at = excluded.sent_at, status = excluded.status, status_at = excluded.status_at, error_code = excluded.error_code
        """)

    static let delivery = PostgresStatement(name: "delivery", sql: """
        SELECT provider, message_id, purpose, sent_at, status, status_at, error_code, reference FROM sms_deliveries
        WHERE reference = $1
        """)

    static let unreferencedDelivery = PostgresStatement(name: "unreferenced_delivery", sql: """
        SELECT provider, message_id, purpose, sent_at, status, status_at, error_code, reference FROM sms_deliveries
        WHERE provider = $1 AND message_id = $2 AND reference IS NULL
        """)

    static let saveDeliveryStatus = PostgresStatement(name: "save_delivery_status", sql: """
        UPDATE sms_deliveries SET status = $3, status_at = $4, error_code = $5 WHERE provider = $1 AND message_id = $2 AND reference = $6
        """)

    static let saveUnreferencedDeliveryStatus = PostgresStatement(name: "save_unreferenced_delivery_status", sql: """
        UPDATE sms_deliveries SET status = $3, status_at = $4, error_code = $5
        WHERE provider = $1 AND message_id = $2 AND reference IS NULL
        """)

    static let deliveriesSince = PostgresStatement(name: "deliveries_since", sql: """
        SELECT provider, message_id, purpose, sent_at, status, status_at, error_code, reference FROM sms_deliveries WHERE sent_at >= $1
        """)
}
