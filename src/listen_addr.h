// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Where a server listens (metrics.listen): "PORT" or ":PORT" (127.0.0.1),
 * "IPV4:PORT", "[IPV6]:PORT" and "NAME:PORT". A name is resolved
 * (getaddrinfo) and every address it gives is listened on, e.g. localhost
 * to 127.0.0.1 and ::1. "[::]:PORT" is dual-stack: IPv4 clients connect
 * to it too (IPV6_V6ONLY off). */
#ifndef MKB_LISTEN_ADDR_H
#define MKB_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define LISTEN_ADDR_MAX 8 /* addresses of one name; more are left out */

typedef struct {
    struct sockaddr_storage sa;
    socklen_t len;
    bool dual_stack; /* the IPv6 any address: IPv4 too */
    bool loopback;   /* 127.0.0.0/8 or ::1 */
    char text[64];   /* "127.0.0.1:9464", "[::1]:9464" */
} listen_addr_t;

/* Parses SPEC and resolves it into OUT[0..*N-1] (at most LISTEN_ADDR_MAX,
 * duplicates removed). MKB_ERR_CONFIG with the reason in ERRSTR when SPEC
 * is malformed or the name does not resolve. */
int listen_addr_resolve(const char *spec, listen_addr_t *out, size_t *n, char *errstr,
                        size_t errstr_size);

/* A socket bound to A and listening (non-blocking, close-on-exec,
 * SO_REUSEADDR; IPV6_V6ONLY off for a dual-stack address, on for other
 * IPv6 ones); -1 with the reason in ERRSTR. */
int listen_addr_socket(const listen_addr_t *a, int backlog, char *errstr, size_t errstr_size);

#endif
