/*
 * c-responder — the baseline for scripts/bench.
 *
 * A minimal libfcgi FastCGI responder: N threads, each with its own request
 * struct, FCGX_Accept_r behind a mutex (as libfcgi's threaded example does and
 * as plugind's transport does), answering every request with the exact bytes of
 * one file as `application/json; charset=utf-8`. It does no routing, no auth,
 * no JSON work: whatever plugind costs above this is plugind's own cost.
 *
 *   cc -O2 -o c-responder bench/c-responder.c -lfcgi -lpthread
 *   c-responder [--close-at-once] SOCKET_PATH BODY_FILE [THREADS]   (THREADS default 16)
 *
 * It ends requests with FCGX_Finish_r, whose lingering close half-closes the
 * connection and waits until the web server closes its end. --close-at-once
 * closes a request read to its end at once instead, as plugind's transport does:
 * the baseline for what plugind's own code costs beyond the transport.
 *
 * SOCKET_PATH is a unix socket path (created; an existing file is replaced).
 * SIGTERM/SIGINT unlink the socket and exit 0 at once (libfcgi's own handler
 * would only set a flag that the blocked accept never looks at).
 */
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_fd = -1;
static const char *socket_path;
static char *response;          /* header block + body, built once */
static size_t response_len;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static int close_at_once;

static void on_signal(int sig) {
    (void)sig;
    unlink(socket_path);        /* async-signal-safe */
    _exit(0);
}

static void *worker(void *arg) {
    (void)arg;
    FCGX_Request *req = calloc(1, sizeof *req);   /* heap: libfcgi keeps pointers into it */
    if (req == NULL || FCGX_InitRequest(req, listen_fd, 0) != 0) {
        fprintf(stderr, "c-responder: FCGX_InitRequest failed\n");
        exit(1);
    }
    for (;;) {
        pthread_mutex_lock(&accept_lock);
        int rc = FCGX_Accept_r(req);
        pthread_mutex_unlock(&accept_lock);
        if (rc < 0) {
            fprintf(stderr, "c-responder: FCGX_Accept_r failed (%d)\n", rc);
            break;
        }
        /* Drain a request body, if any, so the web server never blocks on us. */
        char sink[8192];
        while (FCGX_GetStr(sink, sizeof sink, req->in) > 0) {
        }
        FCGX_PutStr(response, (int)response_len, req->out);
        if (close_at_once && !req->keepConnection && FCGX_HasSeenEOF(req->in) && !FCGX_GetError(req->in)) {
            int fd = req->ipcFd;
            FCGX_FClose(req->err);
            FCGX_FClose(req->out);
            FCGX_Free(req, 0);
            close(fd);
            req->ipcFd = -1;
        } else {
            FCGX_Finish_r(req);
        }
    }
    return NULL;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    const char *program = argv[0];
    if (argc > 1 && strcmp(argv[1], "--close-at-once") == 0) {
        close_at_once = 1;
        argc--;
        argv++;
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s [--close-at-once] SOCKET_PATH BODY_FILE [THREADS]\n", program);
        return 2;
    }
    socket_path = argv[1];
    int threads = argc == 4 ? atoi(argv[3]) : 16;
    if (threads < 1 || threads > 1024) {
        fprintf(stderr, "c-responder: THREADS must be 1..1024\n");
        return 2;
    }
    size_t body_len;
    char *body = read_file(argv[2], &body_len);
    if (body == NULL) {
        fprintf(stderr, "c-responder: cannot read %s: %s\n", argv[2], strerror(errno));
        return 2;
    }
    char head[256];
    int head_len = snprintf(head, sizeof head,
                            "Status: 200 OK\r\n"
                            "Content-Type: application/json; charset=utf-8\r\n"
                            "Content-Length: %zu\r\n"
                            "\r\n",
                            body_len);
    response_len = (size_t)head_len + body_len;
    response = malloc(response_len);
    memcpy(response, head, (size_t)head_len);
    memcpy(response + head_len, body, body_len);
    free(body);

    if (FCGX_Init() != 0) {
        fprintf(stderr, "c-responder: FCGX_Init failed\n");
        return 1;
    }
    unlink(socket_path);
    listen_fd = FCGX_OpenSocket(socket_path, 1024);
    if (listen_fd < 0) {
        fprintf(stderr, "c-responder: cannot listen on %s\n", socket_path);
        return 1;
    }
    chmod(socket_path, 0660);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&ids[i], &attr, worker, NULL) != 0) {
            fprintf(stderr, "c-responder: pthread_create failed\n");
            return 1;
        }
    }
    fprintf(stderr, "c-responder: %d threads on %s, %zu body bytes%s\n", threads, socket_path,
            response_len - (size_t)head_len, close_at_once ? ", closing at once" : "");
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    unlink(socket_path);
    return 1;   /* every worker failed */
}
