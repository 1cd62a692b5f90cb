/*
 * gate — the review server's front door: it owns the listening socket,
 * accepts connections, and hands a connection to libmicrohttpd only once
 * its request headers have fully arrived. Internal to serve/ (serve.c
 * starts and stops it).
 *
 * Why: libmicrohttpd's timeout is an idle timeout, so a client that
 * trickles one header line every few seconds is never idle, and each such
 * connection holds one of the daemon's slots for as long as it likes;
 * eighty of them made GET / time out (issue 12.7). Here a connection still
 * sending its headers waits in the gate, outside the daemon:
 *   - it has RG_GATE_HEADER_MS (from accept) to send the whole header
 *     block (up to RG_GATE_MAX_HEADER bytes), else it is closed;
 *   - at most RG_GATE_MAX_PENDING connections wait at once, at most
 *     RG_GATE_MAX_PENDING_PER_IP from one client address; a new connection
 *     beyond either limit closes the oldest waiting one (of that address
 *     first): a real client's headers arrive in one packet, so only
 *     connections that have been dawdling are ever dropped;
 * and the daemon's own slots go only to requests ready to be answered.
 * The gate looks at the bytes with MSG_PEEK and never consumes them: the
 * daemon reads the request from the start.
 *
 * Threads: one thread of its own, started by rg_gate_start; it calls
 * MHD_add_connection, which is safe with MHD_USE_ITC.
 */
#ifndef RG_SERVE_GATE_H
#define RG_SERVE_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RG_GATE_HEADER_MS 10000
#define RG_GATE_MAX_HEADER (16 * 1024)
#define RG_GATE_MAX_PENDING 256
#define RG_GATE_MAX_PENDING_PER_IP 64

struct MHD_Daemon;
typedef struct rg_gate rg_gate;

typedef struct rg_gate_limits {
    int header_ms;              /* 0: RG_GATE_HEADER_MS */
    size_t max_pending;         /* 0: RG_GATE_MAX_PENDING */
    size_t max_pending_per_ip;  /* 0: RG_GATE_MAX_PENDING_PER_IP */
} rg_gate_limits;

/* Bind and listen on addr (TCP), ready for rg_gate_start. NULL with
 * errstr on failure. */
rg_gate *rg_gate_listen(const struct sockaddr *addr, socklen_t addr_len, const rg_gate_limits *limits,
                        char *errstr, size_t errstr_size);

/* The port bound (useful with port 0). */
uint16_t rg_gate_port(const rg_gate *g);

/* Start the gate's thread, handing complete requests to `daemon`
 * (started with MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC). -1 on failure. */
int rg_gate_start(rg_gate *g, struct MHD_Daemon *daemon, char *errstr, size_t errstr_size);

/* Stop the thread (if started), close the listening socket and every
 * waiting connection, free. NULL-safe. Call before stopping the daemon. */
void rg_gate_stop(rg_gate *g);

#endif
