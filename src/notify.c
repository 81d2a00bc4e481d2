// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* sd_notify(3) spoken directly: socket(AF_UNIX, SOCK_DGRAM), sendto the
 * address in $NOTIFY_SOCKET. See notify.h. */
#include "notify.h"

#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills ADDR from NAME; its length in *LEN. Abstract names ('@...') are not
 * NUL-terminated: the length says where they end. */
static int notify_addr(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
    size_t n = strlen(name);
    if (n < 2 || (name[0] != '/' && name[0] != '@'))
        return MKB_ERR_INVAL; /* also "vsock:..." (systemd 254+), not needed here */
    if (n >= sizeof(addr->sun_path))
        return MKB_ERR_INVAL;
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, name, n);
    if (name[0] == '@')
        addr->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/' ? 1 : 0));
    return MKB_OK;
}

int notify_send(const char *msg)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return MKB_OK;
    struct sockaddr_un addr;
    socklen_t alen = 0;
    int rc = notify_addr(name, &addr, &alen);
    if (rc != MKB_OK)
        return rc;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return MKB_ERR_IO;
    size_t len = strlen(msg);
    ssize_t sent;
    do
        sent = sendto(fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, alen);
    while (sent < 0 && errno == EINTR);
    rc = sent == (ssize_t)len ? MKB_OK : MKB_ERR_IO;
    close(fd);
    return rc;
}

int notify_ready(void)
{
    return notify_send("READY=1");
}

int notify_watchdog(void)
{
    return notify_send("WATCHDOG=1");
}

int notify_stopping(void)
{
    return notify_send("STOPPING=1");
}

int notify_status(const char *fmt, ...)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return MKB_OK; /* skip the formatting */
    char msg[512] = "STATUS=";
    size_t pre = strlen(msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + pre, sizeof(msg) - pre, fmt, ap);
    va_end(ap);
    for (char *p = msg + pre; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return notify_send(msg);
}

long long notify_watchdog_interval_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    if (!usec || !*usec)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long us = strtoull(usec, &end, 10);
    if (errno || *end || us == 0 || usec[0] == '-')
        return 0;
    const char *pid = getenv("WATCHDOG_PID");
    if (pid && *pid) {
        errno = 0;
        long long p = strtoll(pid, &end, 10);
        if (errno || *end || p <= 0 || p != (long long)getpid())
            return 0; /* meant for another process (a wrapper, our parent) */
    }
    long long ms = (long long)(us / 1000);
    return ms > 0 ? ms : 1;
}
