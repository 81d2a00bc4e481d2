// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* freeport N: print N distinct free TCP ports on 127.0.0.1, one per line.
 * All N sockets are bound at once (port 0, the kernel picks) before any is
 * closed, so the N ports differ. Another process may still take one between
 * here and the broker's bind; the harness then fails its readiness check. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    if (n < 1 || n > 64) {
        fprintf(stderr, "usage: freeport [1..64]\n");
        return 2;
    }
    int fds[64];
    int rc = 0;
    long i;
    for (i = 0; i < n; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
        socklen_t len = sizeof(sa);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) != 0) {
            perror("freeport");
            rc = 1;
            i++;
            break;
        }
        printf("%u\n", ntohs(sa.sin_port));
    }
    while (i-- > 0)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}
