// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The systemd notification protocol (sd_notify(3)) without libsystemd: one
 * datagram per call on the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or '@' for the abstract namespace). Every call is a no-op returning MKB_OK
 * when NOTIFY_SOCKET is unset (not started by systemd with Type=notify).
 *
 * Main thread only (the bridge's main loop): no state is kept between calls
 * but the environment, which nothing here changes. */
#ifndef MKB_NOTIFY_H
#define MKB_NOTIFY_H

/* READY=1: startup finished (systemd then runs the units ordered after). */
int notify_ready(void);

/* WATCHDOG=1: the main loop is alive (WatchdogSec=). */
int notify_watchdog(void);

/* STOPPING=1: shutdown began (systemd shows "deactivating"). */
int notify_stopping(void);

/* STATUS=...: one line for `systemctl status` (newlines become spaces). */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends MSG as is ("KEY=VALUE\n..."); the primitive the others use. */
int notify_send(const char *msg);

/* The watchdog interval in milliseconds from $WATCHDOG_USEC, or 0 if there
 * is none: unset, unparsable, zero, or $WATCHDOG_PID set to another process.
 * Ping at half of it (sd_watchdog_enabled(3)). */
long long notify_watchdog_interval_ms(void);

#endif
