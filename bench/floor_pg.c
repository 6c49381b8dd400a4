/* Floor PG of `make bench`: floor B (floor_b.c) with PostgreSQL in place of SQLite. libfcgi accept
 * loop on a unix socket, N threads, one libpq connection per thread, and per request one prepared
 * autocommit statement: UPDATE hits SET n = n + 1, at = $2 WHERE id = $1 (each thread its own row).
 * Answers 204, or 503 when the statement fails.
 *
 * usage: floor-pg SOCKET_PATH CONNINFO THREADS
 * build: gcc -O2 -I$(pg_config --includedir) -o floor-pg floor_pg.c -lfcgi -lpq -lpthread
 */
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static const char *conninfo;
static int listen_fd;

static PGconn *connect_or_die(void) {
    PGconn *db = PQconnectdb(conninfo);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "floor-pg: connect: %s", PQerrorMessage(db));
        exit(1);
    }
    return db;
}

static int ok(PGresult *result) {
    ExecStatusType status = PQresultStatus(result);
    PQclear(result);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

static void *worker(void *arg) {
    long id = (long)arg;
    PGconn *db = connect_or_die();
    if (!ok(PQprepare(db, "hit", "UPDATE hits SET n = n + 1, at = $2 WHERE id = $1", 0, NULL))) {
        fprintf(stderr, "floor-pg: prepare: %s", PQerrorMessage(db));
        exit(1);
    }
    char id_text[24], at_text[24];
    snprintf(id_text, sizeof id_text, "%ld", id);
    FCGX_Request request;
    FCGX_InitRequest(&request, listen_fd, 0);
    static const char done_text[] = "Status: 204 No Content\r\nCache-Control: no-store\r\n\r\n";
    static const char busy[] = "Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n{\"detail\": \"busy\"}";
    for (;;) {
        if (FCGX_Accept_r(&request) < 0) continue;
        snprintf(at_text, sizeof at_text, "%ld", (long)time(NULL));
        const char *values[2] = {id_text, at_text};
        int done = ok(PQexecPrepared(db, "hit", 2, values, NULL, NULL, 0));
        if (!done) fprintf(stderr, "level=error msg=\"write failed\" error=\"%s\"\n", PQerrorMessage(db));
        FCGX_PutStr(done ? done_text : busy, done ? sizeof done_text - 1 : sizeof busy - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: floor-pg SOCKET_PATH CONNINFO THREADS\n");
        return 64;
    }
    conninfo = argv[2];
    int threads = atoi(argv[3]);
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    pthread_sigmask(SIG_BLOCK, &handled, NULL);
    PGconn *db = connect_or_die();
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS hits (id integer PRIMARY KEY, n bigint NOT NULL, at bigint); "
             "INSERT INTO hits SELECT g, 0, NULL FROM generate_series(0, %d) g ON CONFLICT DO NOTHING", threads);
    if (!ok(PQexec(db, sql))) {
        fprintf(stderr, "floor-pg: create: %s", PQerrorMessage(db));
        return 1;
    }
    PQfinish(db);
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
