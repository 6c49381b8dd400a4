#ifndef OTP_CSQLITE_SHIM_H
#define OTP_CSQLITE_SHIM_H
#include <sqlite3.h>

/* Extended result codes are shift expressions and do not import into Swift. */
static const int otp_sqlite_ioerr_write = SQLITE_IOERR_WRITE;
static const int otp_sqlite_ioerr_fsync = SQLITE_IOERR_FSYNC;
static const int otp_sqlite_ioerr_short_read = SQLITE_IOERR_SHORT_READ;
/* sqlite3_config is variadic and does not import into Swift. Turns SQLite's memory statistics
   off: with them on, every allocation it makes takes one process-wide mutex. */
static inline int otp_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
