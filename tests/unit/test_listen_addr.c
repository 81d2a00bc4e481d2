// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* listen_addr.c: what metrics.listen accepts and refuses, and the sockets
 * it makes: "[::]:PORT" takes IPv4 clients too, "[::1]:PORT" does not. */
#include "listen_addr.h"

#include "err.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"

static size_t resolve_ok(const char *spec, listen_addr_t *out)
{
    size_t n = 99;
    char err[400] = "";
    int rc = listen_addr_resolve(spec, out, &n, err, sizeof(err));
    ck_assert_msg(rc == MKB_OK, "%s: %s", spec, err);
    ck_assert_uint_ge(n, 1);
    return n;
}

START_TEST(test_accepted)
{
    static const struct {
        const char *spec, *text;
        bool dual, loopback;
    } cases[] = {
        {"9464", "127.0.0.1:9464", false, true},
        {":9464", "127.0.0.1:9464", false, true},
        {"127.0.0.1:9464", "127.0.0.1:9464", false, true},
        {"0.0.0.0:9464", "0.0.0.0:9464", false, false},
        {"[::]:9464", "[::]:9464", true, false},
        {"[::1]:9464", "[::1]:9464", false, true},
        {"[0:0:0:0:0:0:0:1]:1", "[::1]:1", false, true},
        {"10.1.2.3:65535", "10.1.2.3:65535", false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        listen_addr_t a[LISTEN_ADDR_MAX];
        ck_assert_uint_eq(resolve_ok(cases[i].spec, a), 1);
        ck_assert_str_eq(a[0].text, cases[i].text);
        ck_assert_msg(a[0].dual_stack == cases[i].dual && a[0].loopback == cases[i].loopback,
                      "%s: dual %d loopback %d", cases[i].spec, a[0].dual_stack, a[0].loopback);
    }
}
END_TEST

/* A name: every address getaddrinfo gives, each once (localhost has
 * 127.0.0.1 in every /etc/hosts; ::1 too on many). */
START_TEST(test_name)
{
    listen_addr_t a[LISTEN_ADDR_MAX];
    size_t n = resolve_ok("localhost:9464", a);
    bool v4 = false;
    for (size_t i = 0; i < n; i++) {
        v4 = v4 || strcmp(a[i].text, "127.0.0.1:9464") == 0;
        ck_assert_msg(a[i].loopback, "%s", a[i].text);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(a[i].text, a[j].text);
    }
    ck_assert(v4);
}
END_TEST

START_TEST(test_refused)
{
    static const struct {
        const char *spec, *why;
    } cases[] = {
        {"::1:9464", "goes in brackets"},
        {"[::1]", "expected HOST:PORT"},
        {"[::1]9464", "expected HOST:PORT"},
        {"[::1:9464", "expected HOST:PORT"},
        {"[127.0.0.1]:9464", "not an IPv6 address"},
        {"[fe80::zz]:9464", "not an IPv6 address"},
        {"999.1.1.1:9464", "not an IPv4 address"},
        {"1.2.3:9464", "not an IPv4 address"},
        {"127.0.0.1:", "expected HOST:PORT"},
        {"127.0.0.1:0", "expected HOST:PORT"},
        {"127.0.0.1:65536", "expected HOST:PORT"},
        {"127.0.0.1:+80", "expected HOST:PORT"},
        {"127.0.0.1:http", "expected HOST:PORT"},
        {"", "expected HOST:PORT"},
        {"host.invalid:9464", "cannot resolve 'host.invalid'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        listen_addr_t a[LISTEN_ADDR_MAX];
        size_t n = 0;
        char err[400] = "";
        int rc = listen_addr_resolve(cases[i].spec, a, &n, err, sizeof(err));
        ck_assert_msg(rc == MKB_ERR_CONFIG, "'%s' accepted", cases[i].spec);
        ck_assert_msg(strstr(err, cases[i].why), "'%s': '%s', want '%s'", cases[i].spec, err,
                      cases[i].why);
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "'%s'", cases[i].spec);
        ck_assert_msg(strstr(err, quoted), "'%s': the message does not name it: %s",
                      cases[i].spec, err);
    }
}
END_TEST

/* True if a TCP connection to IP (v4 or v6 literal) PORT is accepted. */
static bool connects(const char *ip, int port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
        len = sizeof(*s4);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    bool ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return ok;
}

/* A socket on SPEC with the port the kernel picks; *PORT set. */
static int listen_on(const char *host, int *port)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        char spec[64];
        *port = 20000 + (int)((getpid() * 7 + attempt * 131) % 40000);
        snprintf(spec, sizeof(spec), "%s:%d", host, *port);
        listen_addr_t a[LISTEN_ADDR_MAX];
        resolve_ok(spec, a);
        char err[400];
        int fd = listen_addr_socket(&a[0], 8, err, sizeof(err));
        if (fd >= 0)
            return fd;
    }
    ck_abort_msg("no free port for %s", host);
    return -1;
}

START_TEST(test_dual_stack_socket)
{
    int port;
    int fd = listen_on("[::]", &port);
    ck_assert_msg(connects("127.0.0.1", port), "[::]:%d refuses an IPv4 client", port);
    ck_assert_msg(connects("::1", port), "[::]:%d refuses an IPv6 client", port);
    close(fd);
}
END_TEST

START_TEST(test_v6_only_socket)
{
    int port;
    int fd = listen_on("[::1]", &port);
    ck_assert(connects("::1", port));
    ck_assert_msg(!connects("127.0.0.1", port), "[::1]:%d took an IPv4 client", port);
    close(fd);
    fd = listen_on("127.0.0.1", &port);
    ck_assert(connects("127.0.0.1", port));
    ck_assert(!connects("::1", port));
    close(fd);
}
END_TEST

/* An address in use: the reason, naming the address. */
START_TEST(test_in_use)
{
    int port;
    int fd = listen_on("127.0.0.1", &port);
    char spec[64], err[400] = "";
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
    listen_addr_t a[LISTEN_ADDR_MAX];
    resolve_ok(spec, a);
    ck_assert_int_eq(listen_addr_socket(&a[0], 8, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, spec) && strstr(err, "in use"), "%s", err);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("listen_addr");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_accepted);
    tcase_add_test(tc, test_name);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_dual_stack_socket);
    tcase_add_test(tc, test_v6_only_socket);
    tcase_add_test(tc, test_in_use);
    suite_add_tcase(s, tc);
    return check_run(s);
}
