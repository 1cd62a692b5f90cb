/*
 * gate.c — connections wait here until their request headers are complete,
 * then go to libmicrohttpd (why, and the limits: gate.h).
 *
 * A waiting connection is polled for more bytes with SO_RCVLOWAT set one
 * past what has been seen: the data stays in the socket (MSG_PEEK), so a
 * plain POLLIN would fire again at once for the same bytes.
 */
#include "gate.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"

typedef struct waiting {
    int fd;
    int64_t accepted_ms;
    struct sockaddr_storage addr;
    socklen_t addr_len;
} waiting;

struct rg_gate {
    int listen_fd;
    int wake[2];                /* a byte on wake[1] stops the thread */
    pthread_t thread;
    bool started;
    struct MHD_Daemon *daemon;
    rg_gate_limits lim;
    waiting *w;                 /* in accept order: w[0] is the oldest */
    size_t n;
    struct pollfd *pfd;         /* wake, listen, then one per waiting connection */
    char *peek;                 /* RG_GATE_MAX_HEADER bytes */
    uint16_t port;
};

rg_gate *rg_gate_listen(const struct sockaddr *addr, socklen_t addr_len, const rg_gate_limits *limits,
                        char *errstr, size_t errstr_size)
{
    rg_gate *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    g->listen_fd = g->wake[0] = g->wake[1] = -1;
    g->lim.header_ms = limits && limits->header_ms > 0 ? limits->header_ms : RG_GATE_HEADER_MS;
    g->lim.max_pending = limits && limits->max_pending ? limits->max_pending : RG_GATE_MAX_PENDING;
    g->lim.max_pending_per_ip = limits && limits->max_pending_per_ip ? limits->max_pending_per_ip
                                                                      : RG_GATE_MAX_PENDING_PER_IP;
    g->w = calloc(g->lim.max_pending, sizeof *g->w);
    g->pfd = calloc(g->lim.max_pending + 2, sizeof *g->pfd);
    g->peek = malloc(RG_GATE_MAX_HEADER);
    if (!g->w || !g->pfd || !g->peek) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    g->listen_fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (g->listen_fd < 0 ||
        setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (addr->sa_family == AF_INET6 &&
         setsockopt(g->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(g->listen_fd, addr, addr_len) < 0 || listen(g->listen_fd, 128) < 0) {
        snprintf(errstr, errstr_size, "%s", strerror(errno));
        goto fail;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (getsockname(g->listen_fd, (struct sockaddr *)&bound, &bound_len) < 0) {
        snprintf(errstr, errstr_size, "%s", strerror(errno));
        goto fail;
    }
    g->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    if (pipe2(g->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(errstr, errstr_size, "%s", strerror(errno));
        goto fail;
    }
    return g;
fail:
    rg_gate_stop(g);
    return NULL;
}

uint16_t rg_gate_port(const rg_gate *g) { return g->port; }

/* Two addresses are the same client when family and IP agree (not the port). */
static bool same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return true;
}

static void drop(rg_gate *g, size_t i)
{
    close(g->w[i].fd);
    memmove(&g->w[i], &g->w[i + 1], (g->n - i - 1) * sizeof *g->w);
    g->n--;
}

/* A new connection; make room first by closing the oldest waiting one of
 * the same client, or the oldest overall. */
static void admit(rg_gate *g, int fd, const struct sockaddr_storage *addr, socklen_t addr_len)
{
    size_t same = 0, oldest_same = g->n;
    for (size_t i = 0; i < g->n; i++) {
        if (same_client(&g->w[i].addr, addr)) {
            if (same++ == 0)
                oldest_same = i;
        }
    }
    if (same >= g->lim.max_pending_per_ip)
        drop(g, oldest_same);
    else if (g->n >= g->lim.max_pending)
        drop(g, 0);
    g->w[g->n++] = (waiting){.fd = fd, .accepted_ms = rg_monotonic_ms(), .addr = *addr, .addr_len = addr_len};
}

static bool headers_complete(const char *b, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (b[i] != '\n')
            continue;
        if (b[i + 1] == '\n' || (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n'))
            return true;
    }
    return false;
}

enum { KEEP, GONE };

/* Look at what a waiting connection has sent so far. */
static int examine(rg_gate *g, size_t i)
{
    waiting *c = &g->w[i];
    ssize_t n = recv(c->fd, g->peek, RG_GATE_MAX_HEADER, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return KEEP;
    if (n <= 0) {
        drop(g, i);
        return GONE;
    }
    if (headers_complete(g->peek, (size_t)n)) {
        int low = 1;
        setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low);
        /* The daemon owns (and closes) the socket from here, also when it
         * refuses it (its own connection limits). */
        MHD_add_connection(g->daemon, c->fd, (const struct sockaddr *)&c->addr, c->addr_len);
        memmove(&g->w[i], &g->w[i + 1], (g->n - i - 1) * sizeof *g->w);
        g->n--;
        return GONE;
    }
    if ((size_t)n >= RG_GATE_MAX_HEADER) {
        static const char too_large[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                        "Content-Length: 0\r\nConnection: close\r\n\r\n";
        ssize_t ignored = send(c->fd, too_large, sizeof too_large - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)ignored;
        drop(g, i);
        return GONE;
    }
    /* Wake only when more than this has arrived. */
    int low = (int)n + 1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low);
    return KEEP;
}

static void *gate_thread(void *arg)
{
    rg_gate *g = arg;
    for (;;) {
        g->pfd[0] = (struct pollfd){.fd = g->wake[0], .events = POLLIN};
        g->pfd[1] = (struct pollfd){.fd = g->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < g->n; i++)
            g->pfd[i + 2] = (struct pollfd){.fd = g->w[i].fd, .events = POLLIN | POLLRDHUP};
        int timeout = -1;
        int64_t now = rg_monotonic_ms();
        if (g->n) {
            int64_t left = g->w[0].accepted_ms + g->lim.header_ms - now;
            timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
        }
        size_t polled = g->n;
        int rc = poll(g->pfd, polled + 2, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (g->pfd[0].revents)
            break;
        now = rg_monotonic_ms();
        /* Waiting connections, newest first so that removing one keeps the
         * indexes of those not yet looked at. */
        for (size_t k = polled; k-- > 0;) {
            if (g->pfd[k + 2].revents && examine(g, k) == GONE)
                continue;
            if (now - g->w[k].accepted_ms >= g->lim.header_ms)
                drop(g, k);
        }
        if (g->pfd[1].revents & POLLIN) {
            for (int accepted = 0; accepted < 64; accepted++) {
                struct sockaddr_storage addr;
                socklen_t addr_len = sizeof addr;
                int fd = accept4(g->listen_fd, (struct sockaddr *)&addr, &addr_len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break; /* EAGAIN, or out of descriptors: try again on the next poll */
                admit(g, fd, &addr, addr_len);
            }
        }
    }
    return NULL;
}

int rg_gate_start(rg_gate *g, struct MHD_Daemon *daemon, char *errstr, size_t errstr_size)
{
    g->daemon = daemon;
    int rc = pthread_create(&g->thread, NULL, gate_thread, g);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "cannot start the connection thread: %s", strerror(rc));
        return -1;
    }
    g->started = true;
    return 0;
}

void rg_gate_stop(rg_gate *g)
{
    if (!g)
        return;
    if (g->started) {
        char b = 1;
        ssize_t ignored = write(g->wake[1], &b, 1);
        (void)ignored;
        pthread_join(g->thread, NULL);
    }
    while (g->n)
        drop(g, g->n - 1);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    if (g->wake[0] >= 0)
        close(g->wake[0]);
    if (g->wake[1] >= 0)
        close(g->wake[1]);
    free(g->w);
    free(g->pfd);
    free(g->peek);
    free(g);
}
