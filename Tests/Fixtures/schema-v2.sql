-- A database written by otp-fcgi schema version 2 (the schema of 0c779ca; made by the build of
-- 0a9022a, whose SQL is the same), dumped with `sqlite3 .dump`.
-- Made with OTP_PEPPER=fixture-pepper-0123456789abcdef0123456789, OTP_TTL_SECONDS=86400 and
-- STEP_UP_TOKEN_TTL_SECONDS=86400 by:
--   send   {"phone_e164": "+14155550190", "purpose": "verify_phone"}  -> code 457982 (not yet verified)
--   send + verify {"phone_e164": "+14155550191", "purpose": "step_up"} as REMOTE_USER=alice
--          -> step-up token 0DepR3arhqoHpy9yEQMpZ5emn8iOm8fO6q8tmTOQA8o (unused)
--   send   {"phone_e164": "+14155550192", "purpose": "step_up"} as REMOTE_USER=alice -> code 408054 (live)
-- Tests move its timestamps to the present before starting a newer otp-fcgi on it.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
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
    pending_since INTEGER, issued_boot_id TEXT, issued_boot_ms INTEGER,
    PRIMARY KEY (phone_hash, purpose)
) WITHOUT ROWID;
INSERT INTO otp_codes VALUES('055a576d15ea0707f7a87c6e49d40ca2ffd6c271e9f6f4442e45f9366c94281e','verify_phone','f326bf9288b698f60b7729bac529a7b3e91c50313ec7763f5016736471687c58',1796134569,1796220969,0,1,1796134569,1796134569,NULL,NULL,NULL,'8518be27-4253-46d1-bbd3-07a1713f93cb',1637644);
INSERT INTO otp_codes VALUES('3cbd9d441c8d66b0109d926e8098a21a3ef057bc0fca1cb0bf5b6bb223701683','step_up','c00a69d1b96862ed63bf08209e0c11823b97e58bd0b33cd54a42db20cc710de3',1796134569,1796220969,0,1,1796134569,1796134569,1796134569,NULL,NULL,'8518be27-4253-46d1-bbd3-07a1713f93cb',1637676);
INSERT INTO otp_codes VALUES('933cecb4fcfcfac079ff32c371f2e3e39286e05dd9c9a751c3c730205e4045d4','step_up','9f97fc6c0576d1685abd76671ca559302f6add3572ff48656f1d89b9ed21a85a',1796134569,1796220969,0,1,1796134569,1796134569,NULL,NULL,NULL,'8518be27-4253-46d1-bbd3-07a1713f93cb',1637759);
CREATE TABLE step_up_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
, created_boot_id TEXT, created_boot_ms INTEGER) WITHOUT ROWID;
INSERT INTO step_up_tokens VALUES('6eec49b11fca1fa4b200369f78b1dfe81abe11fa31689a29533ddb74e9c845ee','alice',1796134569,1796220969,NULL,'8518be27-4253-46d1-bbd3-07a1713f93cb',1637730);
CREATE TABLE users (
    user_id TEXT PRIMARY KEY NOT NULL,
    phone_e164 TEXT,
    phone_verified INTEGER NOT NULL DEFAULT 0,
    phone_verified_at INTEGER
);
CREATE TABLE notification_preferences (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    sms_phone_number TEXT,
    sms_phone_verified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX otp_codes_expires_at ON otp_codes (expires_at);
CREATE INDEX step_up_tokens_expires_at ON step_up_tokens (expires_at);
CREATE INDEX notification_preferences_sms_phone_number
    ON notification_preferences (sms_phone_number);
PRAGMA user_version=2;
COMMIT;
