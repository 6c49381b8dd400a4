#ifndef OTP_CPQ_SHIM_H
#define OTP_CPQ_SHIM_H
#include <libpq-fe.h>

/* The diagnostic field codes are character-literal macros: named constants for Swift. */
static const int otp_pq_diag_sqlstate = PG_DIAG_SQLSTATE;
static const int otp_pq_diag_message_primary = PG_DIAG_MESSAGE_PRIMARY;

/* libpq prints server notices ("relation already exists, skipping") to stderr by default;
   otp-fcgi's stderr is its key=value log, so they are dropped. */
static void otp_pq_ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static inline void otp_pq_silence_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, otp_pq_ignore_notice, 0);
}
#endif
