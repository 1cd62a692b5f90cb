/* Tests for serve/gate.c through a real server with small limits (header
 * time 600 ms, 6 waiting connections, 4 per client address): a request
 * sent in pieces is still answered; a silent or trickling connection is
 * closed when its time for the headers is up; the oldest waiting
 * connections make room for new ones; oversized headers get 431; a
 * waiting crowd does not delay a real request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "alerts_fixture.h"
#include "serve/serve.h"

static const char TOKEN[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
#define HEADER_MS 600

typedef struct ctx {
    char db[512];
    rg_server *srv;
    uint16_t port;
} ctx;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    fix_db_path(c->db, sizeof c->db, "serve-gate");
    char err[512];
    rg_alert_store *s = rg_alert_store_open(c->db, RG_ALERTS_CREATE, err, sizeof err);
    if (!s || fix_fill(s) < 0)
        return -1;
    rg_alert_store_close(s, NULL, 0);
    rg_serve_config cfg = {.db_path = c->db, .listen = "127.0.0.1:0", .token = TOKEN,
                           .header_timeout_ms = HEADER_MS, .max_waiting = 6, .max_waiting_per_ip = 4};
    c->srv = rg_serve_start(&cfg, err, sizeof err);
    if (!c->srv) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    c->port = rg_serve_port(c->srv);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    rg_serve_stop(c->srv);
    fix_db_remove(c->db);
    free(c);
    return 0;
}

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_str(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Milliseconds until the server closes fd (reading and discarding what
 * it sends), or -1 when it is still open after wait_ms. */
static int64_t closed_within(int fd, int wait_ms)
{
    int64_t start = now_ms();
    char buf[4096];
    for (;;) {
        int left = wait_ms - (int)(now_ms() - start);
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            return now_ms() - start;
    }
}

/* The status of the reply to a complete GET / sent at once. */
static int get_page(uint16_t port, int64_t *took_ms)
{
    int64_t start = now_ms();
    int fd = connect_to(port);
    send_str(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    char buf[64] = {0};
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int status = 0;
    if (poll(&p, 1, 3000) == 1 && recv(fd, buf, sizeof buf - 1, 0) > 12)
        status = atoi(buf + 9);
    close(fd);
    if (took_ms)
        *took_ms = now_ms() - start;
    return status;
}

static void test_request_in_pieces(void **state)
{
    ctx *c = *state;
    int fd = connect_to(c->port);
    send_str(fd, "GET / HT");
    usleep(100 * 1000);
    send_str(fd, "TP/1.1\r\nHost: 127.0.0.1\r\n");
    usleep(100 * 1000);
    send_str(fd, "Accept: */*\r\n\r\n");
    char buf[64] = {0};
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 3000), 1);
    assert_true(recv(fd, buf, sizeof buf - 1, 0) > 12);
    assert_int_equal(atoi(buf + 9), 200);
    close(fd);
}

static void test_silent_and_trickling_connections_closed(void **state)
{
    ctx *c = *state;
    int silent = connect_to(c->port);
    int64_t t = closed_within(silent, 3000);
    assert_true(t >= HEADER_MS - 50 && t < HEADER_MS + 1000);
    close(silent);

    /* Bytes every 100 ms do not buy more time: the limit runs from accept. */
    int slow = connect_to(c->port);
    int64_t start = now_ms(), closed = -1;
    send_str(slow, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 30 && closed < 0; i++) {
        char line[32];
        snprintf(line, sizeof line, "X-%d: y\r\n", i);
        if (send(slow, line, strlen(line), MSG_NOSIGNAL) < 0 || closed_within(slow, 100) >= 0)
            closed = now_ms() - start;
    }
    assert_true(closed >= HEADER_MS - 50 && closed < HEADER_MS + 1000);
    close(slow);
}

static void test_oldest_waiting_make_room(void **state)
{
    ctx *c = *state;
    /* Four from this address fill its share; the fifth closes the first. */
    int fd[5];
    for (int i = 0; i < 5; i++) {
        fd[i] = connect_to(c->port);
        send_str(fd[i], "GET / HTTP/1.1\r\n");
        usleep(20 * 1000);
    }
    assert_true(closed_within(fd[0], 300) >= 0);
    for (int i = 1; i < 5; i++)
        assert_int_equal(closed_within(fd[i], 50), -1);
    /* A real request still gets through at once (closing another waiting one). */
    int64_t took;
    assert_int_equal(get_page(c->port, &took), 200);
    assert_true(took < 500);
    assert_true(closed_within(fd[1], 300) >= 0);
    for (int i = 0; i < 5; i++)
        close(fd[i]);
}

static void test_oversized_headers(void **state)
{
    ctx *c = *state;
    int fd = connect_to(c->port);
    send_str(fd, "GET / HTTP/1.1\r\n");
    char line[1024];
    memset(line, 'a', sizeof line);
    memcpy(line, "X-Big: ", 7);
    line[sizeof line - 2] = '\r';
    for (int i = 0; i < 20; i++) {
        if (send(fd, line, sizeof line - 1, MSG_NOSIGNAL) < 0)
            break;
        send(fd, "\n", 1, MSG_NOSIGNAL);
    }
    char buf[64] = {0};
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 3000), 1);
    assert_true(recv(fd, buf, sizeof buf - 1, 0) > 12);
    assert_int_equal(atoi(buf + 9), 431);
    close(fd);
}

static void test_crowd_does_not_delay_a_request(void **state)
{
    ctx *c = *state;
    int fd[40];
    for (int i = 0; i < 40; i++) {
        fd[i] = connect_to(c->port);
        send_str(fd[i], "GET / HTTP/1.1\r\nX-Slow: 1\r\n");
    }
    for (int k = 0; k < 5; k++) {
        int64_t took;
        assert_int_equal(get_page(c->port, &took), 200);
        assert_true(took < 500);
    }
    for (int i = 0; i < 40; i++)
        close(fd[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_and_trickling_connections_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oldest_waiting_make_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crowd_does_not_delay_a_request, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
