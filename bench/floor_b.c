/* Floor B of `make bench`: the least a FastCGI responder of this architecture can do per request.
 * libfcgi accept loop on a unix socket, N threads, one SQLite connection per thread opened like
 * otp-fcgi opens its own (busy timeout before WAL, synchronous as given), and per request one
 * write transaction: BEGIN IMMEDIATE; INSERT ... ON CONFLICT DO UPDATE; COMMIT. Answers 204.
 *
 * With "mutex", the threads of the process take turns for the write transaction (a pthread mutex),
 * instead of contending through SQLite's busy handler, which sleeps and retries (1, 2, 5, 10 ...
 * ms) rather than queueing.
 *
 * usage: floor-b SOCKET_PATH DB_PATH THREADS SYNCHRONOUS(full|normal) mutex|plain
 * SIGTERM/SIGINT: exit(0) from the main thread (so valgrind writes its profile).
 * build: gcc -O2 -o floor-b floor_b.c -lfcgi -lsqlite3 -lpthread
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *db_path, *synchronous;
static int listen_fd, use_mutex;
static pthread_mutex_t writer = PTHREAD_MUTEX_INITIALIZER;

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "floor-b: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) die(db, sql);
    return stmt;
}

static int step(sqlite3_stmt *stmt) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW;
}

static void *worker(void *arg) {
    long id = (long)arg;
    sqlite3 *db;
    char pragma[64];
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) die(db, "open");
    sqlite3_busy_timeout(db, 2000);
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", synchronous);
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) die(db, "wal");
    if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) die(db, pragma);
    sqlite3_stmt *begin = prepare(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *upsert = prepare(db, "INSERT INTO hits (id, n, at) VALUES (?1, 1, unixepoch()) "
                                       "ON CONFLICT (id) DO UPDATE SET n = n + 1, at = excluded.at");
    sqlite3_stmt *commit = prepare(db, "COMMIT");
    sqlite3_stmt *rollback = prepare(db, "ROLLBACK");
    sqlite3_bind_int64(upsert, 1, id);

    FCGX_Request request;
    FCGX_InitRequest(&request, listen_fd, 0);
    static const char ok[] = "Status: 204 No Content\r\nCache-Control: no-store\r\n\r\n";
    static const char busy[] = "Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n{\"detail\": \"busy\"}";
    for (;;) {
        if (FCGX_Accept_r(&request) < 0) continue;
        if (use_mutex) pthread_mutex_lock(&writer);
        int done = step(begin) && step(upsert) && step(commit);
        if (!done) {
            fprintf(stderr, "level=error msg=\"write failed\" error=\"%s\"\n", sqlite3_errmsg(db));
            if (!sqlite3_get_autocommit(db)) step(rollback);
        }
        if (use_mutex) pthread_mutex_unlock(&writer);
        FCGX_PutStr(done ? ok : busy, done ? sizeof ok - 1 : sizeof busy - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: floor-b SOCKET_PATH DB_PATH THREADS full|normal mutex|plain\n");
        return 64;
    }
    use_mutex = argv[5][0] == 'm';
    db_path = argv[2];
    synchronous = argv[4];
    int threads = atoi(argv[3]);
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    pthread_sigmask(SIG_BLOCK, &handled, NULL);
    sqlite3 *db;
    if (sqlite3_open(db_path, &db) != SQLITE_OK) die(db, "open");
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at INTEGER)",
                     NULL, NULL, NULL) != SQLITE_OK) die(db, "create");
    sqlite3_close(db);
    if (FCGX_Init() != 0) return 71;
    listen_fd = FCGX_OpenSocket(argv[1], 1024);
    if (listen_fd < 0) return 71;
    chmod(argv[1], 0666);
    for (long i = 0; i < threads; i++) {
        pthread_t thread;
        pthread_create(&thread, NULL, worker, (void *)i);
    }
    int received;
    sigwait(&handled, &received);
    exit(0);
}
