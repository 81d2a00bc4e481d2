// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Helpers for integration tests that run against the real brokers started by
 * tests/harness/with-brokers.sh (addresses in MKB_MQTT_URI,
 * MKB_KAFKA_BOOTSTRAP; scratch files in MKB_HARNESS_DIR). */
#ifndef MKB_ITEST_H
#define MKB_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The value of an environment variable the harness sets; aborts the test if
 * it is missing. */
const char *itest_env(const char *name);

/* MKB_TEST_SCALE=N (default 1) for a slow bridge (make valgrind): the
 * timeouts of the helpers below are N times longer (itest_scale_ms; tests
 * scale their own waits with it too), and message counts that only load the
 * bridge are N times smaller (itest_scale_n: N / scale, at least MIN). Counts
 * a test needs for what it checks (to fill a spool, to span a restart) stay. */
int itest_scale(void);
int itest_scale_ms(int ms);
int itest_scale_n(int n, int min);

/* Sleeps MS milliseconds (between polls of a condition, never instead of one). */
void itest_sleep_ms(int ms);

/* A name unique to this run: PREFIX-<pid>-<counter>-<time>. Caller frees. */
char *itest_unique(const char *prefix);

/* A NUL-terminated copy of the N bytes at P (which may hold NULs). */
char *itest_dup_bytes(const void *p, size_t n);

/* Creates a Kafka topic with one partition (admin API); aborts on failure.
 * The _cfg form sets topic configs from NULL-terminated name, value pairs. */
void itest_create_topic(const char *topic);
void itest_create_topic_cfg(const char *topic, const char *const *configs);
/* The same with PARTITIONS partitions, and with replication factor RF. */
void itest_create_topic_parts(const char *topic, int partitions, const char *const *configs);
void itest_create_topic_rf(const char *topic, int partitions, int rf, const char *const *configs);

/* Runs tests/harness/ctl.sh COMMAND on this run's brokers (restart-mosquitto,
 * stop-kafka, start-kafka); aborts if it fails. */
void itest_harness_ctl(const char *command);

/* The resident set size of PID in KiB, or -1. */
long itest_rss_kib(pid_t pid);

/* Pause between published messages, in microseconds (0: as fast as acks
 * allow). Set before itest_mqtt_publish_n to pace a long stream. */
extern int itest_publish_pause_us;

/* Publishes one MQTT 5 message with a content type and user properties
 * (NULL-terminated name, value pairs). */
void itest_mqtt_publish_v5(const char *client_id, const char *topic, const char *payload,
                           const char *content_type, const char *const *props);

/* A bridge child process, its config written under MKB_HARNESS_DIR. */
typedef struct {
    pid_t pid;
    char config_path[512];
    char log_path[512];
} itest_bridge_t;

/* Writes CONFIG_YAML to a file and starts $MKB_BRIDGE_BIN -c FILE (under
 * $MKB_BRIDGE_WRAP if set: a command and options split on spaces, e.g.
 * valgrind). The file may be rewritten later (itest_write_file) for a
 * reload. */
void itest_bridge_start(itest_bridge_t *b, const char *name, const char *config_yaml);

/* In a forked child: execs ARGV (NULL-terminated, ARGV[0] a path) under
 * $MKB_BRIDGE_WRAP if set; never returns (exit 127 if the exec fails). */
void itest_exec(char *const argv[]) __attribute__((noreturn));

/* Writes TEXT to PATH (aborts on failure). */
void itest_write_file(const char *path, const char *text);

/* Waits until the bridge's log contains NEEDLE; false after TIMEOUT_MS or
 * if the bridge exited. */
bool itest_bridge_wait_log(itest_bridge_t *b, const char *needle, int timeout_ms);

/* Sends SIG and waits up to TIMEOUT_MS; returns the exit status, 128+signal
 * if killed by a signal, or -1 on timeout (then it is SIGKILLed). */
int itest_bridge_stop(itest_bridge_t *b, int sig, int timeout_ms);

/* Prints the bridge's log to stderr (for a failed assertion's context). */
void itest_bridge_dump_log(const itest_bridge_t *b);

/* An MQTT publisher kept connected over many messages (any bytes, any
 * topic): open, send..., wait for the acknowledgements, close. */
typedef struct itest_pub itest_pub_t;
/* Connects as CLIENT_ID (NULL: a unique one); aborts if it cannot. */
itest_pub_t *itest_pub_open(const char *client_id, int mqtt_version);
/* Queues one message (at most 500 unacknowledged); aborts if Paho refuses it.
 * The _try form returns Paho's code instead (MQTTASYNC_SUCCESS: queued). */
int itest_pub_try_send(itest_pub_t *p, const char *topic, const void *payload, size_t len,
                       int qos);
void itest_pub_send(itest_pub_t *p, const char *topic, const void *payload, size_t len, int qos);
/* Waits until N messages in all were acknowledged; aborts if one failed. */
void itest_pub_wait(itest_pub_t *p, int n);
/* Messages acknowledged, and failed, so far (any thread; never aborts). */
int itest_pub_acked(itest_pub_t *p);
int itest_pub_failed(itest_pub_t *p);
void itest_pub_close(itest_pub_t *p);

/* Publishes N messages at QOS on TOPIC; payload i is PAYLOAD_FMT with i
 * (a printf format taking one int). Waits for every acknowledgement. */
void itest_mqtt_publish_n(const char *client_id, int mqtt_version, const char *topic, int qos,
                          const char *payload_fmt, int n);

/* One Kafka record as read back, binary safe: value, key and each header
 * value are NUL-terminated copies, their lengths exact. */
typedef struct {
    char *name, *val;
    size_t len;
} itest_hdr_t;
typedef struct {
    char *val, *key;
    size_t len, klen;
    bool null_val; /* a null value (a tombstone); val is then "" */
    long long ts;  /* the record's timestamp, epoch ms (-1 if none) */
    itest_hdr_t *h;
    size_t nh;
} itest_rec_t;
typedef struct {
    itest_rec_t *r;
    size_t n;
} itest_recs_t;

/* Reads partition 0 of TOPIC from the beginning until at least EXPECT
 * records and the end were seen, or TIMEOUT_MS passed. Free with
 * itest_recs_free. */
itest_recs_t itest_kafka_read(const char *topic, size_t expect, int timeout_ms);
void itest_recs_free(itest_recs_t *rs);

/* The value of header NAME of R (its length in *LEN if LEN), or NULL; the
 * predicates: it is exactly WANT, or it contains PART. */
const char *itest_rec_header(const itest_rec_t *r, const char *name, size_t *len);
bool itest_rec_header_is(const itest_rec_t *r, const char *name, const void *want, size_t want_len);
bool itest_rec_header_has(const itest_rec_t *r, const char *name, const char *part);

/* Reads partition 0 of TOPIC from the beginning to its end. Stops when at
 * least EXPECT records were read and the end was reached, or after
 * TIMEOUT_MS. Returns the payloads as NUL-terminated strings (*out, *n);
 * free with itest_free_strings. KEYS, if not NULL, receives the keys;
 * HEADERS, if not NULL, each record's headers as "name=value;...". */
void itest_kafka_read_all(const char *topic, size_t expect, int timeout_ms, char ***out,
                          size_t *n, char ***keys, char ***headers);
void itest_free_strings(char **s, size_t n);

/* The high watermark of partition 0 of TOPIC (records written so far), -1
 * if there is no answer. */
long long itest_kafka_count(const char *topic);

/* What most tests start from: a unique Kafka topic (created, with TOPIC_CFG
 * name/value pairs if given), a unique bridge client id, an MQTT filter
 * "<name>/<topic>/#" with a topic under it, and one raw route between them. */
typedef struct {
    char *topic, *client, *routes;
    char filter[300], mtopic[300];
} itest_fix_t;
void itest_fix_init(itest_fix_t *f, const char *name, int qos, const char *const *topic_cfg);
void itest_fix_free(itest_fix_t *f);

/* Starts the bridge and waits for "ready: forwarding" (aborts after 30 s). */
void itest_start_ready(itest_bridge_t *b, const char *name, const char *cfg);

/* Waits until TOPIC holds at least WANT records (aborts after TIMEOUT_MS). */
void itest_wait_count(const char *topic, long long want, int timeout_ms);

/* A TCP port nobody listens on now (the kernel's pick for port 0). */
int itest_free_port(void);

/* One HTTP/1.1 answer from the bridge's endpoint. */
typedef struct {
    int status;      /* from the status line */
    char ctype[256]; /* Content-Type, "" if none */
    char allow[256]; /* Allow, "" if none */
    char *body;      /* NUL-terminated, chunked encoding undone */
    size_t len;
} itest_http_resp_t;

/* METHOD PATH on 127.0.0.1:PORT (Connection: close); reads to EOF. Returns
 * 0, or -1 (and says why in r->body, or NULL with errno) if it could not
 * connect or the answer is not HTTP. Never aborts: a test that took a broker
 * down must get it back up before it asserts anything. Free with
 * itest_http_free. */
int itest_http_request(int port, const char *method, const char *path, itest_http_resp_t *r);
/* The same on IP:PORT, IP an IPv4 or IPv6 literal ("::1"). */
int itest_http_request_at(const char *ip, int port, const char *method, const char *path,
                          itest_http_resp_t *r);
void itest_http_free(itest_http_resp_t *r);

/* GET PATH: the status (-1 if no answer) and the body in BODY (truncated to
 * BODY_SIZE). Never aborts. */
int itest_http_get(int port, const char *path, char *body, size_t body_size);

#endif
