// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The worked examples live: every message of tests/fixtures/devices/ is
 * published through Mosquitto with mosquitto_pub (retained where the device
 * publishes retained) while a bridge runs every example mapping at once;
 * then a second bridge, with a new session, receives the retained state. In
 * both runs what reaches Kafka must be, record for record (topic, key, value,
 * a null value as "(null)"), what `mqtt-kafka-bridge map` prints for the
 * messages that bridge received (retain flag as received) with the same
 * configuration, and what the fixtures expect; every record must carry
 * mkb.retained: true exactly when the bridge received it retained. */
#define _GNU_SOURCE /* asprintf */
#include "itest.h"

#include <check.h>

#include "check_run.h"
#include "device_fixtures.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MAX_RECS 128

/* One expected or read record: "topic\tkey\tvalue". */
typedef struct {
    char *line[MAX_RECS];
    size_t n;
} lines_t;

static void lines_add(lines_t *l, char *line)
{
    ck_assert_msg(l->n < MAX_RECS, "too many records");
    l->line[l->n++] = line;
}

static void lines_free(lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->line[i]);
    l->n = 0;
}

/* Runs CMD (a shell command); returns its exit status and stdout (caller
 * frees). */
static int run(const char *cmd, char **output)
{
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    size_t cap = 1 << 20, n = 0, got;
    char *out = malloc(cap);
    ck_assert(out != NULL);
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0)
        n += got;
    out[n] = '\0';
    int st = pclose(p);
    *output = out;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The records `map` prints for one fixture message, dead letters included. */
static void map_records(const char *config, const char *dir, const dfx_case_t *c, bool retain,
                        lines_t *out)
{
    char *cmd = NULL, *text = NULL;
    ck_assert(asprintf(&cmd, "'%s' map -c '%s' --topic '%s' --payload-file '%s/%s.payload'%s",
                       itest_env("MKB_BRIDGE_BIN"), config, c->topic, dir, c->name,
                       retain ? " --retain" : "") > 0);
    run(cmd, &text);
    char topic[300] = "", key[300] = "";
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (sscanf(l, "  topic: %299s", topic) == 1)
            continue;
        if (strncmp(l, "  key:", 6) == 0) {
            snprintf(key, sizeof key, "%s", l + 6 + strspn(l + 6, " "));
        } else if (strncmp(l, "  value:", 8) == 0) {
            char *line = NULL;
            ck_assert(asprintf(&line, "%s\t%s\t%s", topic, key, l + 8 + strspn(l + 8, " ")) > 0);
            lines_add(out, line);
            key[0] = '\0';
        }
    }
    free(text);
    free(cmd);
}

/* Publishes one fixture message with mosquitto_pub (QoS 1, -r if retained). */
static void publish(const char *dir, const dfx_case_t *c)
{
    char host[256] = "", *cmd = NULL, *out = NULL;
    int port = 0;
    ck_assert(sscanf(itest_env("MKB_MQTT_URI"), "tcp://%255[^:]:%d", host, &port) == 2);
    ck_assert(asprintf(&cmd, "mosquitto_pub -h '%s' -p %d -q 1 -t '%s' -f '%s/%s.payload'%s 2>&1",
                       host, port, c->topic, dir, c->name, c->retain ? " -r" : "") > 0);
    ck_assert_msg(run(cmd, &out) == 0, "%s: %s", cmd, out);
    free(out);
    free(cmd);
}

/* Clears a retained fixture message (a zero-length retained publish) so a
 * later run in the same broker starts clean. */
static void clear_retained(const dfx_case_t *c)
{
    char host[256] = "", *cmd = NULL, *out = NULL;
    int port = 0;
    ck_assert(sscanf(itest_env("MKB_MQTT_URI"), "tcp://%255[^:]:%d", host, &port) == 2);
    ck_assert(asprintf(&cmd, "mosquitto_pub -h '%s' -p %d -q 1 -r -n -t '%s' 2>&1", host, port,
                       c->topic) > 0);
    run(cmd, &out);
    free(out);
    free(cmd);
}

/* Distinct Kafka topics of L (their names in NAMES). */
static size_t topics_of(const lines_t *l, char names[][256], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        char t[256];
        snprintf(t, sizeof t, "%.*s", (int)strcspn(l->line[i], "\t"), l->line[i]);
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            seen = seen || strcmp(names[j], t) == 0;
        if (!seen && n < max)
            snprintf(names[n++], 256, "%s", t);
    }
    return n;
}

/* The records of TOPIC after its first SKIP ones, as lines, appended to OUT;
 * each must say mkb.retained: true exactly when RETAINED. */
static void kafka_records(const char *topic, long long skip, size_t want, bool retained,
                          lines_t *out)
{
    itest_recs_t rs = itest_kafka_read(topic, (size_t)skip + want, 30000);
    for (size_t i = (size_t)skip; i < rs.n; i++) {
        char *line = NULL;
        ck_assert(asprintf(&line, "%s\t%s\t%s", topic, rs.r[i].klen ? rs.r[i].key : "(nokey)",
                           rs.r[i].len ? rs.r[i].val : "(null)") > 0);
        ck_assert_msg(itest_rec_header_is(&rs.r[i], "mkb.retained", "true", 4) == retained,
                      "%s: mkb.retained should be %s", line, retained ? "true" : "absent");
        lines_add(out, line);
    }
    itest_recs_free(&rs);
}

static size_t count_prefix(const lines_t *l, const char *topic)
{
    size_t n = 0, tl = strlen(topic);
    for (size_t i = 0; i < l->n; i++)
        n += strncmp(l->line[i], topic, tl) == 0 && l->line[i][tl] == '\t';
    return n;
}

/* The lines of L on TOPIC, in order, as one text (to compare two sources). */
static char *on_topic(const lines_t *l, const char *topic)
{
    size_t tl = strlen(topic), cap = 1, len = 0;
    for (size_t i = 0; i < l->n; i++)
        cap += strlen(l->line[i]) + 1;
    char *s = calloc(1, cap);
    for (size_t i = 0; i < l->n; i++)
        if (strncmp(l->line[i], topic, tl) == 0 && l->line[i][tl] == '\t')
            len += (size_t)sprintf(s + len, "%s\n", l->line[i]);
    return s;
}

static char *bridge_config(const dfx_family_t *fams, size_t n, const char *client, const char *dlq)
{
    char *list = strdup(""), *cfg = NULL;
    for (size_t i = 0; i < n; i++) {
        char *next = NULL;
        ck_assert(asprintf(&next, "%s%s\"%s\"", list, list[0] ? ", " : "", fams[i].mapping) > 0);
        free(list);
        list = next;
    }
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s, clean_start: false }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "mappings: [ %s ]\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       list) > 0);
    free(list);
    return cfg;
}

/* Whether case J of F is the last retained message on its topic: the one a
 * new subscription receives from the broker. */
static bool last_retained(const dfx_family_t *fams, size_t nf, size_t fi, size_t j)
{
    const dfx_case_t *c = &fams[fi].cases[j];
    if (!c->retain)
        return false;
    for (size_t i = fi; i < nf; i++)
        for (size_t k = (i == fi ? j + 1 : 0); k < fams[i].ncases; k++)
            if (fams[i].cases[k].retain && strcmp(fams[i].cases[k].topic, c->topic) == 0)
                return false;
    return true;
}

/* What map prints and what the fixtures expect for the messages a bridge
 * receives: live, every message as published, the retain flag cleared (an
 * established subscription; the bridge does not ask for retain-as-published);
 * RETAINED, what a new subscription gets afterwards: the last retained
 * message of each topic, retain set. */
static void expected_records(const dfx_family_t *fams, size_t nf, const char *config, bool retained,
                             lines_t *mapped, lines_t *want)
{
    for (size_t i = 0; i < nf; i++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%.63s", DFX_DIR, fams[i].family);
        for (size_t j = 0; j < fams[i].ncases; j++) {
            if (retained && !last_retained(fams, nf, i, j))
                continue;
            map_records(config, dir, &fams[i].cases[j], retained, mapped);
            for (size_t k = 0; k < fams[i].cases[j].nwant; k++)
                lines_add(want, strdup(fams[i].cases[j].want[k]));
        }
    }
}

/* Publishes every fixture message (CLEAR: clears the retained ones
 * instead). */
static void publish_all(const dfx_family_t *fams, size_t nf, bool clear)
{
    for (size_t i = 0; i < nf; i++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%.63s", DFX_DIR, fams[i].family);
        for (size_t j = 0; j < fams[i].ncases; j++) {
            if (!clear)
                publish(dir, &fams[i].cases[j]);
            else if (fams[i].cases[j].retain)
                clear_retained(&fams[i].cases[j]);
        }
    }
}

/* LIVE = MAPPED, topic by topic and in order, and MAPPED = WANT. */
static void compare(const lines_t *live, const lines_t *mapped, const lines_t *want,
                    char topics[][256], size_t nt)
{
    for (size_t t = 0; t < nt; t++) {
        char *l = on_topic(live, topics[t]), *m = on_topic(mapped, topics[t]),
             *w = on_topic(want, topics[t]);
        ck_assert_msg(strcmp(l, m) == 0, "topic %s: Kafka holds\n%s\nmap prints\n%s", topics[t], l,
                      m);
        ck_assert_msg(strcmp(m, w) == 0, "topic %s: map prints\n%s\nthe fixtures expect\n%s",
                      topics[t], m, w);
        free(l);
        free(m);
        free(w);
    }
    ck_assert_uint_eq(live->n, mapped->n);
    ck_assert_uint_eq(mapped->n, want->n);
}

/* One bridge run as CLIENT (a new session, so a new subscription): when
 * PUBLISH, every fixture is published while it runs; either way what reaches
 * Kafka must be what map prints (live or retained, see expected_records). */
static void bridge_run(const dfx_family_t *fams, size_t nf, const char *client, bool publish)
{
    char *dlq = itest_unique("itest.examples.dlq");
    char *cfg = bridge_config(fams, nf, client, dlq);
    /* map's records and the topics' counts before the bridge starts: a new
     * subscription gets the retained messages at once. */
    char *map_cfg = NULL;
    ck_assert(asprintf(&map_cfg, "%s/%s.yaml", itest_env("MKB_HARNESS_DIR"), client) > 0);
    itest_write_file(map_cfg, cfg);
    lines_t mapped = {0}, want = {0}, live = {0};
    expected_records(fams, nf, map_cfg, !publish, &mapped, &want);
    char topics[64][256];
    size_t nt = topics_of(&mapped, topics, 64);
    long long before[64];
    for (size_t t = 0; t < nt; t++)
        before[t] = itest_kafka_count(topics[t]) < 0 ? 0 : itest_kafka_count(topics[t]);
    itest_bridge_t b;
    itest_start_ready(&b, "examples", cfg);
    if (publish)
        publish_all(fams, nf, false);
    for (size_t t = 0; t < nt; t++)
        itest_wait_count(topics[t], before[t] + (long long)count_prefix(&mapped, topics[t]), 60000);
    itest_sleep_ms(itest_scale_ms(1000)); /* any extra copy would arrive now */
    for (size_t t = 0; t < nt; t++)
        kafka_records(topics[t], before[t], count_prefix(&mapped, topics[t]), !publish, &live);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    ck_assert_int_le(itest_kafka_count(dlq), 0); /* no dead letter either */
    compare(&live, &mapped, &want, topics, nt);
    fprintf(stderr, "test_examples (integration, %s): %zu records on %zu topics, Kafka = map\n",
            publish ? "live" : "retained", live.n, nt);
    lines_free(&mapped);
    lines_free(&want);
    lines_free(&live);
    free(cfg);
    free(map_cfg);
    free(dlq);
}

START_TEST(test_live_equals_map)
{
    size_t nf = 0;
    dfx_family_t *fams = dfx_load(&nf);
    char *first = itest_unique("examples"), *second = itest_unique("examples");
    bridge_run(fams, nf, first, true);
    /* A bridge with a new session then gets the retained state. */
    bridge_run(fams, nf, second, false);
    publish_all(fams, nf, true);
    free(first);
    free(second);
    dfx_free(fams, nf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_live_equals_map);
    suite_add_tcase(s, tc);
    return check_run(s);
}
