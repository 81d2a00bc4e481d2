// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "tls_diag.h"

#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct tls_diag {
    tls_diag_conn_t conn;      /* strings borrowed from the MQTT client */
    atomic_bool error_seen;    /* Paho's ssl_error_cb, this attempt */
    atomic_bool verify_failed; /* ... and it was a certificate verification */
    atomic_bool wanted;        /* a TLS connect failed: diagnose from tick */
    atomic_bool running;
    bool started; /* thread to join (main thread only) */
    pthread_t thread;
    long long next_ms; /* main thread only */
};

/* A TLS failure line repeats with every reconnect (1 s, 2 s, ... 30 s):
 * print each reason once, then at most once a minute. */
#define TLS_LOG_INTERVAL_MS 60000
static log_limit_t tls_limit = LOG_LIMIT_INIT;

/* ---- OpenSSL's reasons, as Paho passes them on --------------------------- */

/* What to check for an OpenSSL reason (the text after the error code). */
const char *tls_diag_hint(const char *reason)
{
    static const struct {
        const char *needle, *hint;
    } hints[] = {
        {"certificate verify failed",
         "the broker's certificate is not trusted: it must be signed by a CA in mqtt.tls.ca_file "
         "(the system CAs without it), be valid now, and name the host of mqtt.uri"},
        {"address mismatch", "the broker's certificate does not name the host of mqtt.uri "
                             "(mqtt.tls.verify_hostname)"},
        {"hostname mismatch", "the broker's certificate does not name the host of mqtt.uri "
                              "(mqtt.tls.verify_hostname)"},
        {"alert unknown ca", "the broker refused our client certificate: it does not trust the "
                             "CA that signed mqtt.tls.cert_file"},
        {"alert bad certificate", "the broker refused our client certificate (mqtt.tls.cert_file)"},
        {"alert certificate required",
         "the broker requires a client certificate: set mqtt.tls.cert_file and key_file"},
        {"alert certificate expired", "the broker refused our client certificate: it expired"},
        {"alert certificate revoked", "the broker refused our client certificate: it was revoked"},
        {"maybe wrong password", "cannot decrypt mqtt.tls.key_file: check mqtt.tls.key_password"},
        {"bad decrypt", "cannot decrypt mqtt.tls.key_file: check mqtt.tls.key_password"},
        {"key values mismatch", "mqtt.tls.key_file is not the key of mqtt.tls.cert_file"},
        {"No such file", "a file named in mqtt.tls cannot be read"},
        {"no such file", "a file named in mqtt.tls cannot be read"},
        {"wrong version number", "the port does not speak TLS (a plain MQTT listener?)"},
    };
    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
        if (strstr(reason, hints[i].needle))
            return hints[i].hint;
    return NULL;
}

/* OpenSSL 3 error lines read "<thread>:error:<code>:<library>:<function>:
 * <reason>:<file>:<line>:<data>"; keeps "<reason>" (and ": <data>"). */
void tls_diag_reason(const char *line, size_t len, char *out, size_t size)
{
    const char *f[9] = {0};
    size_t nf = 0;
    const char *end = line + len;
    f[nf++] = line;
    for (const char *p = line; p < end && nf < 9; p++)
        if (*p == ':')
            f[nf++] = p + 1;
    if (nf < 7 || strncmp(f[1], "error:", 6) != 0) { /* not that format: all of it */
        snprintf(out, size, "%.*s", (int)len, line);
        return;
    }
    int rlen = (int)(f[6] - f[5] - 1);
    const char *data = nf == 9 ? f[8] : NULL;
    int dlen = data ? (int)(end - data) : 0;
    while (dlen > 0 && (data[dlen - 1] == '\n' || data[dlen - 1] == ':'))
        dlen--;
    snprintf(out, size, "%.*s%s%.*s", rlen, f[5], dlen > 0 ? ": " : "", dlen, data ? data : "");
}

/* Logs one TLS failure for S's broker, rate-limited per reason. */
static void tls_log(const tls_diag_t *d, const char *what, const char *reason)
{
    unsigned long more = 0;
    if (!log_limit(&tls_limit, reason, TLS_LOG_INTERVAL_MS, &more))
        return;
    const char *hint = tls_diag_hint(reason);
    char again[80] = "";
    if (more)
        snprintf(again, sizeof(again), " (%lu more time(s) in the last minute)", more);
    log_error("mqtt", "TLS with %s failed%s: %s%s%s%s", d->conn.uri, what, reason,
              hint ? " -- " : "", hint ? hint : "", again);
}

/* OpenSSL's reasons for a failed handshake (wrong CA, expired or refused
 * certificate, a key it cannot read), so the log says why and not only
 * "connect failed". Paho calls it once per line of OpenSSL's error queue. */
int tls_diag_openssl_error(const char *str, size_t len, void *ctx)
{
    tls_diag_t *d = ctx;
    char reason[300];
    tls_diag_reason(str, len, reason, sizeof(reason));
    atomic_store(&d->error_seen, true);
    if (strstr(reason, "certificate verify failed"))
        atomic_store(&d->verify_failed, true);
    log_debug("mqtt", "TLS with %s: OpenSSL: %.*s", d->conn.uri, (int)len, str);
    tls_log(d, "", reason);
    return 0;
}

/* ---- TLS diagnosis -------------------------------------------------------- */

/* Paho does not say why every TLS connect failed: with TLS 1.3 a broker
 * refuses a client certificate after the client's side of the handshake is
 * done, so its alert only arrives with the first read (where Paho reports
 * nothing), and for a certificate verification failure Paho gives OpenSSL's
 * "certificate verify failed" without the verifier's reason. So after a
 * failed TLS connect the bridge makes one handshake of its own with the same
 * files (at most once a minute, in a thread of its own), reads until the
 * broker's alert or 2 s of silence, and logs what it found. */
#define DIAG_INTERVAL_MS 60000
#define DIAG_TIMEOUT_S 2

/* OpenSSL's password callback; U is the tls_diag_t. */
static int diag_pem_password(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pw = ((const tls_diag_t *)u)->conn.key_password;
    if (!pw || size <= 0)
        return 0;
    snprintf(buf, (size_t)size, "%s", pw); /* truncated to SIZE - 1 if longer */
    return (int)strlen(buf);
}

/* OpenSSL's first queued error as a reason ("" if none). */
static void diag_ssl_error(char *out, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(out, size, "%s", r ? r : "");
    ERR_clear_error();
}

/* Connects to host:port of URI (ssl://host:port or mqtts://host:port) with
 * a timeout; -1 if it cannot (not a TLS problem: Paho's line says why). */
static int diag_connect(const char *uri, char *host, size_t host_size)
{
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : uri;
    const char *colon = strrchr(p, ':');
    if (!colon || (size_t)(colon - p) >= host_size)
        return -1;
    snprintf(host, host_size, "%.*s", (int)(colon - p), p);
    char port[16];
    snprintf(port, sizeof(port), "%.*s", (int)strcspn(colon + 1, "/"), colon + 1);
    if (host[0] == '[') { /* [::1] */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = DIAG_TIMEOUT_S};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* bounds connect() too */
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* One handshake with D's files; a finding in OUT, false if none (the
 * handshake worked, or there was no connection to make one on). */
static bool tls_diagnose(tls_diag_t *d, char *out, size_t size)
{
    const tls_diag_conn_t *c = &d->conn;
    bool found = false;
    char host[256], why[256];
    int fd = -1;
    SSL *ssl = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return false;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (c->ca_file ? SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        diag_ssl_error(why, sizeof(why));
        snprintf(out, size, "cannot load the CA certificates%s%s: %s", c->ca_file ? " in " : "",
                 c->ca_file ? c->ca_file : "", why);
        found = true;
        goto free_ctx;
    }
    if (c->cert_file) {
        SSL_CTX_set_default_passwd_cb(ctx, diag_pem_password);
        SSL_CTX_set_default_passwd_cb_userdata(ctx, d);
        if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, c->key_file ? c->key_file : c->cert_file,
                                        SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            diag_ssl_error(why, sizeof(why));
            snprintf(out, size, "cannot use the client certificate %s with its key: %s",
                     c->cert_file, why);
            found = true;
            goto free_ctx;
        }
    }
    if ((fd = diag_connect(c->uri, host, sizeof(host))) < 0)
        goto free_ctx;
    if (!(ssl = SSL_new(ctx)))
        goto close_fd;
    SSL_set_fd(ssl, fd);
    struct in6_addr ip;
    bool is_ip = inet_pton(AF_INET, host, &ip) == 1 || inet_pton(AF_INET6, host, &ip) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(ssl, host);
    if (c->verify_hostname) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        if (is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(param, host);
        else
            X509_VERIFY_PARAM_set1_host(param, host, 0);
    }
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
        long v = SSL_get_verify_result(ssl);
        diag_ssl_error(why, sizeof(why));
        if (v != X509_V_OK)
            snprintf(out, size, "the broker's certificate did not verify: %s",
                     X509_verify_cert_error_string(v));
        else
            snprintf(out, size, "handshake refused: %s", why[0] ? why : "connection closed");
        found = true;
        goto free_ssl;
    }
    /* TLS 1.3: a refused client certificate comes as an alert now. */
    char byte;
    if (SSL_read(ssl, &byte, 1) <= 0) {
        diag_ssl_error(why, sizeof(why));
        if (why[0]) {
            snprintf(out, size, "the broker closed the connection after the handshake: %s", why);
            found = true;
        }
    }
free_ssl:
    SSL_free(ssl);
close_fd:
    close(fd);
free_ctx:
    SSL_CTX_free(ctx);
    return found;
}

static void *diag_main(void *arg)
{
    tls_diag_t *d = arg;
    char finding[600];
    if (tls_diagnose(d, finding, sizeof(finding)))
        tls_log(d, " (diagnosed with a handshake of our own)", finding);
    else
        log_debug("mqtt", "TLS diagnosis of %s: no TLS problem found", d->conn.uri);
    atomic_store(&d->running, false);
    return NULL;
}

void tls_diag_tick(tls_diag_t *d)
{
    if (!d || !atomic_load(&d->wanted) || atomic_load(&d->running) || clock_mono_ms() < d->next_ms)
        return;
    atomic_store(&d->wanted, false);
    if (d->started) {
        pthread_join(d->thread, NULL);
        d->started = false;
    }
    atomic_store(&d->running, true);
    if (pthread_create(&d->thread, NULL, diag_main, d) != 0) {
        atomic_store(&d->running, false);
        return;
    }
    d->started = true;
    d->next_ms = clock_mono_ms() + DIAG_INTERVAL_MS;
}

void tls_diag_attempt(tls_diag_t *d)
{
    if (!d)
        return;
    atomic_store(&d->error_seen, false);
    atomic_store(&d->verify_failed, false);
}

void tls_diag_failed(tls_diag_t *d)
{
    if (d && (!atomic_load(&d->error_seen) || atomic_load(&d->verify_failed)))
        atomic_store(&d->wanted, true);
}

tls_diag_t *tls_diag_new(const tls_diag_conn_t *conn)
{
    tls_diag_t *d = calloc(1, sizeof(*d));
    if (d)
        d->conn = *conn;
    return d;
}

void tls_diag_destroy(tls_diag_t *d)
{
    if (!d)
        return;
    if (d->started) /* at most DIAG_TIMEOUT_S per step: connect, handshake, read */
        pthread_join(d->thread, NULL);
    free(d);
}
