import OTPLogic

/// The database schema as numbered migrations; `PRAGMA user_version` records how many ran.
enum Schema {
    /// Migration `n` (1-based) brings a database from version n-1 to n. Append only; never edit one
    /// that has shipped.
    static let migrations: [String] = [
        """
        CREATE TABLE otp_codes (
            phone_hash TEXT NOT NULL,
            purpose TEXT NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            code_hash TEXT,
            issued_at INTEGER,
            expires_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            send_count INTEGER NOT NULL DEFAULT 0 CHECK (send_count >= 0),
            send_window_start INTEGER,
            last_sent_at INTEGER,
            verified_at INTEGER,
            pending_code_hash TEXT,
            pending_since INTEGER,
            PRIMARY KEY (phone_hash, purpose)
        ) WITHOUT ROWID;
        CREATE INDEX otp_codes_expires_at ON otp_codes (expires_at);
        CREATE TABLE step_up_tokens (
            token_hash TEXT PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX step_up_tokens_expires_at ON step_up_tokens (expires_at);
        CREATE TABLE IF NOT EXISTS users (
            user_id TEXT PRIMARY KEY NOT NULL,
            phone_e164 TEXT,
            phone_verified INTEGER NOT NULL DEFAULT 0,
            phone_verified_at INTEGER
        );
        CREATE TABLE IF NOT EXISTS notification_preferences (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            sms_phone_number TEXT,
            sms_phone_verified INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS notification_preferences_sms_phone_number
            ON notification_preferences (sms_phone_number);
        """,
        // 2: lifetimes anchored to the boot-time clock, so a wall clock set back cannot extend them.
        """
        ALTER TABLE otp_codes ADD COLUMN issued_boot_id TEXT;
        ALTER TABLE otp_codes ADD COLUMN issued_boot_ms INTEGER;
        ALTER TABLE step_up_tokens ADD COLUMN created_boot_id TEXT;
        ALTER TABLE step_up_tokens ADD COLUMN created_boot_ms INTEGER;
        """,
        // 3: step-up bound to the account owner and one action, and the SMS firewall's records
        // (budget windows, pauses, tripwires: one row per user, address, country and the total). A step_up code belongs to a user
        // (`owner`, part of the key, so its counters are per user and phone) and approves one
        // action. The delivery status of every message a provider accepted (provider, its message
        // id, purpose, times; never the phone or the body). Codes of version 2 keep owner '' and are never found by a version 3 step_up
        // verify (refused safely: the user asks for a new code); their tokens keep working, with
        // no action, until they expire.
        """
        CREATE TABLE otp_codes_v3 (
            phone_hash TEXT NOT NULL,
            purpose TEXT NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            owner TEXT NOT NULL DEFAULT '',
            action TEXT,
            code_hash TEXT,
            issued_at INTEGER,
            expires_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            send_count INTEGER NOT NULL DEFAULT 0 CHECK (send_count >= 0),
            send_window_start INTEGER,
            last_sent_at INTEGER,
            verified_at INTEGER,
            pending_code_hash TEXT,
            pending_since INTEGER,
            pending_action TEXT,
            country TEXT,
            issued_boot_id TEXT,
            issued_boot_ms INTEGER,
            PRIMARY KEY (phone_hash, purpose, owner)
        ) WITHOUT ROWID;
        INSERT INTO otp_codes_v3 (phone_hash, purpose, code_hash, issued_at, expires_at, attempts, send_count,
                                  send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
                                  issued_boot_id, issued_boot_ms)
            SELECT phone_hash, purpose, code_hash, issued_at, expires_at, attempts, send_count,
                   send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
                   issued_boot_id, issued_boot_ms
            FROM otp_codes;
        DROP TABLE otp_codes;
        ALTER TABLE otp_codes_v3 RENAME TO otp_codes;
        CREATE INDEX otp_codes_expires_at ON otp_codes (expires_at);
        ALTER TABLE step_up_tokens ADD COLUMN action TEXT;
        CREATE TABLE sms_firewall (
            -- ORs, not IN (…): SQLite builds a temporary table for an IN list of more than two on every write.
            scope TEXT NOT NULL CHECK (scope = 'user' OR scope = 'address' OR scope = 'country' OR scope = 'total'),
            key TEXT NOT NULL,
            window BLOB NOT NULL DEFAULT x'',
            paused_until INTEGER,
            alerted_until INTEGER,
            tripwire BLOB NOT NULL DEFAULT x'',
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        CREATE TABLE sms_deliveries (
            provider TEXT NOT NULL,
            message_id TEXT NOT NULL,
            purpose TEXT NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            sent_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (
                status = 'sent' OR status = 'delivered' OR status = 'undelivered' OR status = 'failed' OR status = 'unknown'
            ),
            status_at INTEGER,
            error_code TEXT,
            PRIMARY KEY (provider, message_id)
        ) WITHOUT ROWID;
        CREATE INDEX sms_deliveries_sent_at ON sms_deliveries (sent_at);
        """,
        // 4: the SMS firewall's changes as an append-only log that every process replays
        // (`FirewallLedger`); `sms_firewall` becomes the records as of the last compaction.
        """
        CREATE TABLE sms_firewall_log (
            id INTEGER PRIMARY KEY,
            changes BLOB NOT NULL
        );
        """,
        // 5: codes, tokens and deliveries in rowid tables, their keys as unique indexes. A WITHOUT
        // ROWID table keeps its rows in key order, and these keys are hashes or random ids: every
        // write landed on a random page, and the expiry and send-time indexes, ordered by time and
        // then key, were random within each second too. A right-code verify under load wrote 2.65
        // pages to the log (and the checkpoint as many to the file). In rowid order a batch's new
        // rows and its index entries by time share pages: 1.88, the token hash's index the random rest.
        """
        CREATE TABLE otp_codes_v5 (
            phone_hash TEXT NOT NULL,
            purpose TEXT NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            owner TEXT NOT NULL DEFAULT '',
            action TEXT,
            code_hash TEXT,
            issued_at INTEGER,
            expires_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            send_count INTEGER NOT NULL DEFAULT 0 CHECK (send_count >= 0),
            send_window_start INTEGER,
            last_sent_at INTEGER,
            verified_at INTEGER,
            pending_code_hash TEXT,
            pending_since INTEGER,
            pending_action TEXT,
            country TEXT,
            issued_boot_id TEXT,
            issued_boot_ms INTEGER,
            UNIQUE (phone_hash, purpose, owner)
        );
        INSERT INTO otp_codes_v5 (phone_hash, purpose, owner, action, code_hash, issued_at, expires_at, attempts, send_count,
                                  send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
                                  pending_action, country, issued_boot_id, issued_boot_ms)
            SELECT phone_hash, purpose, owner, action, code_hash, issued_at, expires_at, attempts, send_count,
                   send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
                   pending_action, country, issued_boot_id, issued_boot_ms
            FROM otp_codes ORDER BY expires_at;
        DROP TABLE otp_codes;
        ALTER TABLE otp_codes_v5 RENAME TO otp_codes;
        CREATE INDEX otp_codes_expires_at ON otp_codes (expires_at);
        CREATE TABLE step_up_tokens_v5 (
            token_hash TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            created_boot_id TEXT,
            created_boot_ms INTEGER,
            action TEXT
        );
        INSERT INTO step_up_tokens_v5 (token_hash, user_id, created_at, expires_at, used_at, created_boot_id, created_boot_ms, action)
            SELECT token_hash, user_id, created_at, expires_at, used_at, created_boot_id, created_boot_ms, action
            FROM step_up_tokens ORDER BY created_at;
        DROP TABLE step_up_tokens;
        ALTER TABLE step_up_tokens_v5 RENAME TO step_up_tokens;
        CREATE INDEX step_up_tokens_expires_at ON step_up_tokens (expires_at);
        CREATE TABLE sms_deliveries_v5 (
            provider TEXT NOT NULL,
            message_id TEXT NOT NULL,
            purpose TEXT NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            sent_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (
                status = 'sent' OR status = 'delivered' OR status = 'undelivered' OR status = 'failed' OR status = 'unknown'
            ),
            status_at INTEGER,
            error_code TEXT,
            UNIQUE (provider, message_id)
        );
        INSERT INTO sms_deliveries_v5 (provider, message_id, purpose, sent_at, status, status_at, error_code)
            SELECT provider, message_id, purpose, sent_at, status, status_at, error_code FROM sms_deliveries ORDER BY sent_at;
        DROP TABLE sms_deliveries;
        ALTER TABLE sms_deliveries_v5 RENAME TO sms_deliveries;
        CREATE INDEX sms_deliveries_sent_at ON sms_deliveries (sent_at);
        """,
        // 6: deliveries keyed by our reference (`DeliveryReference`), which grows with time, not by
        // the provider's random message id: a batch of sends wrote one more random index page per
        // send for that id. Rows from before keep theirs, in an index of only those rows.
        """
        CREATE TABLE sms_deliveries_v6 (
            provider TEXT NOT NULL,
            message_id TEXT NOT NULL,
            purpose TEXT NOT NULL CHECK (purpose IN ('verify_phone', 'step_up')),
            sent_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (
                status = 'sent' OR status = 'delivered' OR status = 'undelivered' OR status = 'failed' OR status = 'unknown'
            ),
            status_at INTEGER,
            error_code TEXT,
            reference TEXT
        );
        INSERT INTO sms_deliveries_v6 (provider, message_id, purpose, sent_at, status, status_at, error_code)
            SELECT provider, message_id, purpose, sent_at, status, status_at, error_code FROM sms_deliveries ORDER BY rowid;
        DROP TABLE sms_deliveries;
        ALTER TABLE sms_deliveries_v6 RENAME TO sms_deliveries;
        CREATE INDEX sms_deliveries_sent_at ON sms_deliveries (sent_at);
        CREATE UNIQUE INDEX sms_deliveries_reference ON sms_deliveries (reference);
        CREATE UNIQUE INDEX sms_deliveries_unreferenced ON sms_deliveries (provider, message_id) WHERE reference IS NULL;
        """,
        // 7: no index on a token's expiry or a delivery's send time. Each cost every token and every
        // send one more page written (a right-code verify and a send: about 10,000 instructions
        // each). Rows are appended in the order they are written, which is the order of those
        // times, so the purge deletes the oldest rows up to the first one still kept.
        """
        DROP INDEX step_up_tokens_expires_at;
        DROP INDEX sms_deliveries_sent_at;
        """,
    ]

    static var currentVersion: Int { migrations.count }

    /// Applies every migration the database has not seen, each in its own write transaction, and
    /// refuses a database written by a newer binary rather than touch it.
    static func migrate(_ connection: SQLiteConnection) throws(StoreError) -> (from: Int, to: Int) {
        let from = try refuseNewer(connection)
        var version = from
        while version < currentVersion {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                // Re-read inside the lock: another process may have migrated meanwhile.
                let locked = try Schema.version(connection)
                if locked == version {
                    try connection.execute(migrations[version])
                    try connection.execute("PRAGMA user_version = \(version + 1)")
                }
                try connection.execute("COMMIT")
                version = max(locked, version + 1)
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
        return (from, version)
    }

    /// The database's schema version; throws if it is newer than this binary knows.
    @discardableResult
    static func refuseNewer(_ connection: SQLiteConnection) throws(StoreError) -> Int {
        let found = try version(connection)
        guard found <= currentVersion else {
            throw StoreError(
                kind: .schemaTooNew,
                detail: "(schema): database schema version \(found) is newer than this otp-fcgi knows (\(currentVersion)); refusing to touch it (a downgrade?)"
            )
        }
        return found
    }

    static func version(_ connection: SQLiteConnection) throws(StoreError) -> Int {
        let value = try connection.statement("PRAGMA user_version").first { row in row.integer(0) }
        return Int(value ?? 0)
    }
}
