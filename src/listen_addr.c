// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "listen_addr.h"

#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXAMPLES "e.g. 127.0.0.1:9464, 0.0.0.0:9464, [::]:9464, [::1]:9464 or localhost:9464"

/* Fills A's text, loopback and dual_stack from its sockaddr. */
static void describe(listen_addr_t *a)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&a->sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        a->loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
        snprintf(a->text, sizeof(a->text), "%s:%u", ip, ntohs(s4->sin_port));
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&a->sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        a->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
        a->dual_stack = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
        snprintf(a->text, sizeof(a->text), "[%s]:%u", ip, ntohs(s6->sin6_port));
    }
}

/* Appends SA unless it is there already or OUT is full. */
static void add(listen_addr_t *out, size_t *n, const struct sockaddr *sa, socklen_t len)
{
    if (*n >= LISTEN_ADDR_MAX || len > (socklen_t)sizeof(out->sa))
        return;
    for (size_t i = 0; i < *n; i++)
        if (out[i].len == len && memcmp(&out[i].sa, sa, len) == 0)
            return;
    listen_addr_t *a = &out[(*n)++];
    memset(a, 0, sizeof(*a));
    memcpy(&a->sa, sa, len);
    a->len = len;
    describe(a);
}

/* HOST (no brackets) and PORT into OUT: a literal as it is, a name as
 * getaddrinfo resolves it. */
static int resolve(const char *spec, const char *host, bool v6, const char *port,
                   listen_addr_t *out, size_t *n, char *errstr, size_t errstr_size)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    hints.ai_family = v6 ? AF_INET6 : AF_UNSPEC;
    /* A literal is never looked up: a mistyped address is an error, not a name. */
    if (v6 || strspn(host, "0123456789.") == strlen(host))
        hints.ai_flags |= AI_NUMERICHOST;
    if (!v6 && (hints.ai_flags & AI_NUMERICHOST))
        hints.ai_family = AF_INET;
    struct addrinfo *res = NULL;
    struct in_addr v4;
    /* inet_pton, not getaddrinfo, judges a dotted quad: "1.2.3" is refused. */
    int gai = hints.ai_family == AF_INET && inet_pton(AF_INET, host, &v4) != 1
                  ? EAI_NONAME
                  : getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        if (hints.ai_flags & AI_NUMERICHOST)
            snprintf(errstr, errstr_size, "'%s': '%s' is not an %s address (" EXAMPLES ")",
                     spec, host, v6 ? "IPv6" : "IPv4");
        else
            snprintf(errstr, errstr_size, "'%s': cannot resolve '%s': %s", spec, host,
                     gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return MKB_ERR_CONFIG;
    }
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            add(out, n, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(res);
    if (*n == 0) {
        snprintf(errstr, errstr_size, "'%s': '%s' has no IPv4 or IPv6 address", spec, host);
        return MKB_ERR_CONFIG;
    }
    return MKB_OK;
}

int listen_addr_resolve(const char *spec, listen_addr_t *out, size_t *n, char *errstr,
                        size_t errstr_size)
{
    *n = 0;
    char host[256] = "127.0.0.1"; /* PORT or :PORT alone: loopback */
    bool v6 = spec[0] == '[';
    const char *close = v6 ? strchr(spec, ']') : NULL;
    const char *colon = v6 ? (close && close[1] == ':' ? close + 1 : NULL) : strrchr(spec, ':');
    const char *port = colon ? colon + 1 : spec;
    size_t hl = v6 ? (close ? (size_t)(close - spec - 1) : 0) : (colon ? (size_t)(colon - spec) : 0);
    char *end = NULL;
    long pn = strtol(port, &end, 10);
    if ((v6 && !colon) || !*port || *end || strspn(port, "0123456789") != strlen(port) ||
        pn <= 0 || pn > 65535 || hl >= sizeof(host)) {
        snprintf(errstr, errstr_size, "'%s': expected HOST:PORT with a port from 1 to 65535 (" EXAMPLES ")",
                 spec);
        return MKB_ERR_CONFIG;
    }
    if (hl) {
        memcpy(host, v6 ? spec + 1 : spec, hl);
        host[hl] = '\0';
    }
    if (!v6 && strchr(host, ':')) {
        snprintf(errstr, errstr_size, "'%s': an IPv6 address goes in brackets, e.g. [::1]:9464",
                 spec);
        return MKB_ERR_CONFIG;
    }
    return resolve(spec, host, v6, port, out, n, errstr, errstr_size);
}

int listen_addr_socket(const listen_addr_t *a, int backlog, char *errstr, size_t errstr_size)
{
    int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int on = 1, v6only = !a->dual_stack;
    const char *what = "socket";
    if (fd < 0)
        goto fail;
    what = "setsockopt";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
        goto fail;
    /* Explicit either way: the system default (net.ipv6.bindv6only) varies. */
    if (a->sa.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
        goto fail;
    what = "bind";
    if (bind(fd, (const struct sockaddr *)&a->sa, a->len) != 0)
        goto fail;
    what = "listen";
    if (listen(fd, backlog) != 0)
        goto fail;
    return fd;
fail:;
    int e = errno;
    snprintf(errstr, errstr_size, "cannot listen on %s: %s: %s", a->text, what, strerror(e));
    if (fd >= 0)
        close(fd);
    return -1;
}
