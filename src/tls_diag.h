// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Why a TLS connection to the MQTT broker failed, in words an operator can
 * act on. Two sources: the lines of OpenSSL's error queue that Paho passes
 * on during a handshake, each logged with a hint naming the mqtt.tls setting
 * to check; and, when those say nothing or too little, one handshake of our
 * own with the same files (in a thread of its own, at most once a minute)
 * whose finding is logged the same way. Lines are rate-limited per reason. */
#ifndef MKB_TLS_DIAG_H
#define MKB_TLS_DIAG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tls_diag tls_diag_t;

/* What the connection is made with. The strings are borrowed: they must
 * stay valid until tls_diag_destroy(). */
typedef struct {
    const char *uri;          /* ssl://host:port or mqtts://host:port */
    const char *ca_file;      /* NULL: the system CAs */
    const char *cert_file;    /* NULL: no client certificate */
    const char *key_file;     /* NULL: the key is in cert_file */
    const char *key_password; /* NULL: the key is not encrypted */
    bool verify_hostname;
} tls_diag_conn_t;

/* A diagnoser for CONN (copied; its strings borrowed); NULL if out of memory. */
tls_diag_t *tls_diag_new(const tls_diag_conn_t *conn);

/* Waits for a running diagnosis (bounded: 2 s per step, connect, handshake,
 * read) and frees D. NULL is a no-op. */
void tls_diag_destroy(tls_diag_t *d);

/* Paho's ssl_error_cb (MQTTAsync_SSLOptions), with the tls_diag_t as CTX:
 * logs OpenSSL's reason for a failed handshake. Any thread. */
int tls_diag_openssl_error(const char *str, size_t len, void *ctx);

/* A connect attempt starts: forget what OpenSSL reported for the last one. */
void tls_diag_attempt(tls_diag_t *d);

/* The attempt failed (any thread): a diagnosis is wanted unless OpenSSL's
 * lines already said why (a certificate verification failure still: the
 * verifier's reason helps). Not to be called while shutting down. */
void tls_diag_failed(tls_diag_t *d);

/* Main thread, periodically (not while shutting down): starts the wanted
 * diagnosis, unless one is running or one ran less than a minute ago. */
void tls_diag_tick(tls_diag_t *d);

/* The short reason in one line of OpenSSL 3's error queue ("<thread>:error:
 * <code>:<library>:<function>:<reason>:<file>:<line>:<data>"): "<reason>"
 * and ": <data>" if any; the whole line if it has another form. */
void tls_diag_reason(const char *line, size_t len, char *out, size_t size);

/* What to check for REASON (as tls_diag_reason gives it), or NULL. */
const char *tls_diag_hint(const char *reason);

#endif
