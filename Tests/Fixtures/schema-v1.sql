-- A database written by otp-fcgi schema version 1 (commit 17e0368), dumped with `sqlite3 .dump`.
-- Made with OTP_PEPPER=fixture-pepper-0123456789abcdef0123456789, OTP_TTL_SECONDS=86400 and
-- STEP_UP_TOKEN_TTL_SECONDS=86400 by:
--   send   {"phone_e164": "+14155550190", "purpose": "verify_phone"}  -> code 558498 (not yet verified)
--   send + verify {"phone_e164": "+14155550191", "purpose": "step_up"} as REMOTE_USER=alice
--          -> step-up token YKZq4zYiGHlyeYp8kAZDoFNAWdjJjKQXchi9YbRLBKw (unused)
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
    pending_since INTEGER,
    PRIMARY KEY (phone_hash, purpose)
) WITHOUT ROWID;
INSERT INTO otp_codes VALUES('055a576d15ea0707f7a87c6e49d40ca2ffd6c271e9f6f4442e45f9366c94281e','verify_phone','734e407e7a1c22e41c78f31fc7fe58c266af39fd2c3922bc53d8ee4ebde6baf9',1795244291,1795330691,0,1,1795244291,1795244291,NULL,NULL,NULL);
INSERT INTO otp_codes VALUES('3cbd9d441c8d66b0109d926e8098a21a3ef057bc0fca1cb0bf5b6bb223701683','step_up','57e72b70786b4e63462710128cf398fdf5a0d2a5e43dbd7d9df1cc3d85716ca6',1795244291,1795330691,0,1,1795244291,1795244291,1795244291,NULL,NULL);
CREATE TABLE step_up_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) WITHOUT ROWID;
INSERT INTO step_up_tokens VALUES('c1704781b026fcf509307f676a8a6f1a6e13af0ea5979690772d1a08cb899832','alice',1795244291,1795330691,NULL);
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
PRAGMA user_version=1;
COMMIT;
