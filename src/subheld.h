// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The subscriptions a broker session holds, as far as the bridge knows: the
 * filters the broker granted and not since unsubscribed. With it a
 * reconnect to a session the broker kept (session present) subscribes only
 * what the session lacks: no subscription is renewed, so the broker sends no
 * retained message again (MQTT 3.1.1 resends them on every SUBSCRIBE).
 *
 * With a file (in the spool directory) the set outlives the process, so a
 * restart does the same. The file is replaced atomically (write, fsync,
 * rename); it names the broker URI and client id it was written for and is
 * ignored for any other. Not thread-safe: the caller locks. */
#ifndef MKB_SUBHELD_H
#define MKB_SUBHELD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct subheld subheld_t;

/* PATH (copied; NULL: memory only) is read if it exists and was written
 * for URI and CLIENT_ID; an unreadable or foreign file counts as empty
 * (logged). Returns 0 or MKB_ERR_NOMEM. */
int subheld_new(const char *path, const char *uri, const char *client_id, subheld_t **out);
void subheld_destroy(subheld_t *h);

/* Does the session hold FILTER, subscribed at QOS? */
bool subheld_has(const subheld_t *h, const char *filter, int qos);

/* The broker granted FILTER at QOS (asked), or FILTER is gone; clear: a
 * session not present holds nothing. Each saves the file: MKB_OK,
 * MKB_ERR_NOMEM, or MKB_ERR_IO / MKB_ERR_INVAL (a filter with a newline)
 * when it could not: the file is then removed (logged), so a restart
 * subscribes everything again, as without a file. */
int subheld_add(subheld_t *h, const char *filter, int qos);
int subheld_remove(subheld_t *h, const char *filter);
int subheld_clear(subheld_t *h);

size_t subheld_count(const subheld_t *h);
const char *subheld_filter(const subheld_t *h, size_t i);

#endif
