// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Uplink end to end: real Mosquitto -> the bridge binary -> real Kafka. */
#define _GNU_SOURCE /* asprintf */
#include "itest.h"

#include <MQTTAsync.h>
#include <check.h>

#include "check_run.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const int versions[] = {MQTTVERSION_5, MQTTVERSION_3_1_1};
static const char *const version_names[] = {"5", "3.1.1"};

/* A config with one route FILTER -> TOPIC for MQTT version VERSION_NAME. */
static char *make_config(const char *client_id, const char *version_name, const char *filter,
                         const char *topic)
{
    char *buf = NULL;
    int n = asprintf(&buf,
                     "mqtt:\n"
                     "  uri: %s\n"
                     "  client_id: %s\n"
                     "  version: %s\n"
                     "kafka:\n"
                     "  bootstrap: %s\n"
                     "routes:\n"
                     "  - name: itest\n"
                     "    mqtt: { filter: \"%s\", qos: 1 }\n"
                     "    kafka: { topic: %s }\n"
                     "    payload: raw\n",
                     itest_env("MKB_MQTT_URI"), client_id, version_name,
                     itest_env("MKB_KAFKA_BOOTSTRAP"), filter, topic);
    ck_assert(n > 0);
    return buf;
}

/* Every payload "<prefix><i>" for i in [0, n) exactly once, nothing else. */
static void assert_exactly(char **vals, size_t count, const char *prefix, int n)
{
    int *seen = calloc((size_t)n, sizeof(int));
    size_t plen = strlen(prefix);
    int unknown = 0, dups = 0, missing = 0;
    for (size_t i = 0; i < count; i++) {
        char *end;
        long k = strncmp(vals[i], prefix, plen) == 0 ? strtol(vals[i] + plen, &end, 10) : -1;
        if (k < 0 || k >= n || *end != '\0')
            unknown++;
        else if (seen[k]++)
            dups++;
    }
    for (int i = 0; i < n; i++)
        missing += seen[i] == 0;
    free(seen);
    ck_assert_msg(count == (size_t)n && unknown == 0 && dups == 0 && missing == 0,
                  "expected exactly %d records, read %zu: %d missing, %d duplicated, %d unknown",
                  n, count, missing, dups, unknown);
}

START_TEST(test_thousand_qos1_messages)
{
    const int n = 1000;
    char *topic = itest_unique("itest.uplink");
    char *client = itest_unique("bridge");
    char mqtt_topic[300];
    snprintf(mqtt_topic, sizeof(mqtt_topic), "itest/%s/sensor", topic);
    char filter[300];
    snprintf(filter, sizeof(filter), "itest/%s/#", topic);
    itest_create_topic(topic);

    char *cfg = make_config(client, version_names[_i], filter, topic);
    itest_bridge_t b;
    itest_bridge_start(&b, client, cfg);
    if (!itest_bridge_wait_log(&b, "ready: forwarding", 30000)) {
        itest_bridge_dump_log(&b);
        ck_abort_msg("bridge not ready within 30 s");
    }
    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, versions[_i], mqtt_topic, 1, "reading-%d", n);
    /* The publisher's acks come from the broker: a slowed-down bridge
     * (MKB_TEST_SCALE, valgrind) may not have received everything yet, and
     * what it has not is left in its session at the SIGTERM. */
    if (itest_scale() > 1)
        itest_wait_count(topic, n, 60000);

    /* SIGTERM: stop intake, flush, exit 0 only if everything was delivered. */
    int status = itest_bridge_stop(&b, SIGTERM, 60000);
    if (status != 0)
        itest_bridge_dump_log(&b);
    ck_assert_int_eq(status, 0);

    char **vals, **keys;
    size_t count;
    itest_kafka_read_all(topic, (size_t)n, 30000, &vals, &count, &keys, NULL);
    assert_exactly(vals, count, "reading-", n);
    for (size_t i = 0; i < count; i++)
        ck_assert_str_eq(keys[i], mqtt_topic); /* the record key is the MQTT topic */
    itest_free_strings(vals, count);
    itest_free_strings(keys, count);
    free(pub);
    free(cfg);
    free(client);
    free(topic);
}
END_TEST

/* Messages published while the bridge is down wait in its persistent
 * session and reach Kafka once it is back. */
START_TEST(test_persistent_session_delivers_backlog)
{
    const int n = 300;
    char *topic = itest_unique("itest.session");
    char *client = itest_unique("bridge");
    char mqtt_topic[300], filter[300];
    snprintf(mqtt_topic, sizeof(mqtt_topic), "itest/%s/backlog", topic);
    snprintf(filter, sizeof(filter), "itest/%s/+", topic);
    itest_create_topic(topic);
    char *cfg = make_config(client, version_names[_i], filter, topic);

    itest_bridge_t b;
    itest_bridge_start(&b, client, cfg); /* first run creates the session */
    ck_assert_msg(itest_bridge_wait_log(&b, "ready: forwarding", 30000), "not ready");
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);

    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, versions[_i], mqtt_topic, 1, "backlog-%d", n);

    itest_bridge_start(&b, client, cfg);
    ck_assert_msg(itest_bridge_wait_log(&b, "ready: forwarding", 30000), "not ready");
    char **vals;
    size_t count;
    itest_kafka_read_all(topic, (size_t)n, 30000, &vals, &count, NULL, NULL);
    int status = itest_bridge_stop(&b, SIGTERM, 30000);
    if (status != 0 || count != (size_t)n)
        itest_bridge_dump_log(&b);
    ck_assert_int_eq(status, 0);
    assert_exactly(vals, count, "backlog-", n);
    itest_free_strings(vals, count);
    free(pub);
    free(cfg);
    free(client);
    free(topic);
}
END_TEST

/* The rule engine in the running bridge: captures, fields and a timestamp
 * make normalized records; a payload that fails its rule reaches the
 * dead-letter topic with its original bytes and the reason. */
START_TEST(test_normalized_records_and_dead_letters)
{
    char *topic = itest_unique("itest.norm");
    char *dlq = itest_unique("itest.dlq");
    char *client = itest_unique("bridge");
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "itest/%s", topic);
    itest_create_topic(topic);
    itest_create_topic(dlq);
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "routes:\n"
                       "  - name: hvac\n"
                       "    mqtt: { filter: \"%s/{site}/{unit}\", qos: 1 }\n"
                       "    kafka: { topic: %s, key: \"{site}.{unit}\", headers: { q: \"{mqtt.qos}\" } }\n"
                       "    fields:\n"
                       "      temperature_c: { from: /temp_f, convert: fahrenheit_to_celsius }\n"
                       "      humidity_pct: { from: /rh, type: number, required: true }\n"
                       "    add: { site: \"{site}\" }\n"
                       "    timestamp: { from: /ts, format: epoch_ms }\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       prefix, topic) > 0);
    itest_bridge_t b;
    itest_bridge_start(&b, client, cfg);
    ck_assert_msg(itest_bridge_wait_log(&b, "ready: forwarding", 30000), "not ready");
    char t1[400], t2[400];
    snprintf(t1, sizeof(t1), "%s/s1/ahu-1", prefix);
    snprintf(t2, sizeof(t2), "%s/s2/ahu-9", prefix);
    char *pub = itest_unique("pub");
    itest_mqtt_publish_n(pub, MQTTVERSION_5, t1, 1,
                         "{\"temp_f\": 212, \"rh\": %d, \"ts\": 1795860000000}", 3);
    itest_mqtt_publish_n(pub, MQTTVERSION_5, t2, 1, "{\"temp_f\": %d}", 1); /* no rh */
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);

    char **vals, **keys, **hdrs;
    size_t count;
    itest_kafka_read_all(topic, 3, 30000, &vals, &count, &keys, NULL);
    ck_assert_uint_eq(count, 3);
    for (size_t i = 0; i < count; i++) {
        char want[200];
        snprintf(want, sizeof(want), "{\"temperature_c\":100.0,\"humidity_pct\":%zu,"
                 "\"site\":\"s1\",\"ts\":\"2026-11-28T10:00:00.000Z\"}", i);
        ck_assert_str_eq(vals[i], want);
        ck_assert_str_eq(keys[i], "s1.ahu-1");
    }
    itest_free_strings(vals, count);
    itest_free_strings(keys, count);
    itest_kafka_read_all(dlq, 1, 30000, &vals, &count, &keys, &hdrs);
    ck_assert_uint_eq(count, 1);
    ck_assert_str_eq(vals[0], "{\"temp_f\": 0}"); /* the original bytes */
    ck_assert_str_eq(keys[0], t2);
    ck_assert_msg(strstr(hdrs[0], "mkb.reason=required field 'humidity_pct' is missing (from "
                                  "/rh);mkb.route=hvac;"),
                  "%s", hdrs[0]);
    itest_free_strings(vals, count);
    itest_free_strings(keys, count);
    itest_free_strings(hdrs, count);
    free(pub);
    free(cfg);
    free(client);
    free(dlq);
    free(topic);
}
END_TEST

/* One topic, two routes chosen by content (when:), an empty payload made a
 * tombstone by one and skipped by the other, through the spool: Kafka holds
 * exactly the records map prints, the tombstone's value is null, nothing is
 * dead-lettered, and mkb_route_skipped_total counts each route's skips. */
START_TEST(test_when_and_empty_payloads)
{
    char *ta = itest_unique("itest.climate"), *tb = itest_unique("itest.energy");
    char *dlq = itest_unique("itest.dlq"), *client = itest_unique("bridge");
    char prefix[300], spool[600];
    snprintf(prefix, sizeof(prefix), "itest/%s", ta);
    snprintf(spool, sizeof(spool), "%s/%s.spool", itest_env("MKB_HARNESS_DIR"), client);
    itest_create_topic(ta);
    itest_create_topic(tb);
    itest_create_topic(dlq);
    int port = itest_free_port();
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s, dead_letter_topic: %s }\n"
                       "spool: { dir: \"%s\" }\n"
                       "metrics: { listen: \"127.0.0.1:%d\" }\n"
                       "routes:\n"
                       "  - name: climate\n"
                       "    mqtt: { filter: \"%s/{dev}/SENSOR\" }\n"
                       "    kafka: { topic: %s, key: \"{dev}\" }\n"
                       "    empty: skip\n"
                       "    when: [ { field: /ENERGY, exists: false } ]\n"
                       "  - name: energy\n"
                       "    mqtt: { filter: \"%s/{dev}/SENSOR\" }\n"
                       "    kafka: { topic: %s, key: \"{dev}\" }\n"
                       "    empty: tombstone\n"
                       "    when:\n"
                       "      - { field: /ENERGY, exists: true }\n"
                       "      - { capture: dev, one_of: [plug-1, plug-2] }\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), dlq,
                       spool, port, prefix, ta, prefix, tb) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    char t1[400], t9[400];
    snprintf(t1, sizeof(t1), "%s/plug-1/SENSOR", prefix);
    snprintf(t9, sizeof(t9), "%s/plug-9/SENSOR", prefix);
    const char *climate = "{\"Temp\": 21.5}", *energy = "{\"ENERGY\": {\"Power\": 3}}";
    itest_pub_t *p = itest_pub_open(NULL, 5);
    itest_pub_send(p, t1, climate, strlen(climate), 1); /* climate; energy skips */
    itest_pub_send(p, t1, energy, strlen(energy), 1);   /* energy; climate skips */
    itest_pub_send(p, t9, energy, strlen(energy), 1);   /* both skip (plug-9) */
    itest_pub_send(p, t1, "", 0, 1);                    /* energy: tombstone; climate skips */
    itest_pub_wait(p, 4);
    itest_pub_close(p);
    itest_wait_count(tb, 2, itest_scale_ms(30000));
    itest_wait_count(ta, 1, itest_scale_ms(30000));
    char body[16384];
    ck_assert_int_eq(itest_http_get(port, "/metrics", body, sizeof(body)), 200);
    ck_assert_msg(strstr(body, "mkb_route_skipped_total{route=\"climate\"} 3\n") &&
                      strstr(body, "mkb_route_skipped_total{route=\"energy\"} 2\n"),
                  "%.400s", strstr(body, "mkb_route_skipped") ? strstr(body, "mkb_route_skipped")
                                                             : body);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);

    itest_recs_t rs = itest_kafka_read(ta, 1, 30000);
    ck_assert_uint_eq(rs.n, 1);
    ck_assert_str_eq(rs.r[0].val, "{\"Temp\":21.5}");
    itest_recs_free(&rs);
    rs = itest_kafka_read(tb, 2, 30000);
    ck_assert_uint_eq(rs.n, 2);
    ck_assert_str_eq(rs.r[0].val, "{\"ENERGY\":{\"Power\":3}}");
    ck_assert(!rs.r[0].null_val);
    ck_assert_msg(rs.r[1].null_val, "value: '%s' (%zu bytes)", rs.r[1].val, rs.r[1].len);
    ck_assert_str_eq(rs.r[1].key, "plug-1");
    itest_recs_free(&rs);
    ck_assert_int_eq(itest_kafka_count(dlq), 0);
    free(cfg);
    free(client);
    free(dlq);
    free(tb);
    free(ta);
}
END_TEST

/* The mkb.id of a record ("name=value;..." headers) into OUT. */
static void header_id(const char *hdrs, char *out, size_t size)
{
    const char *p = strstr(hdrs, "mkb.id=");
    ck_assert_msg(p, "no mkb.id in '%s'", hdrs);
    p += strlen("mkb.id=");
    size_t n = strcspn(p, ";");
    ck_assert_uint_lt(n, size);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* With the spool the message is journaled as received and mapped by the
 * sender: one message two routes match makes two records, whose ids are
 * the entry's position and that position with "-1". */
START_TEST(test_spool_fanout_ids)
{
    char *topic = itest_unique("itest.fanout"), *client = itest_unique("bridge");
    char prefix[300], spool[600];
    snprintf(prefix, sizeof(prefix), "itest/%s", topic);
    snprintf(spool, sizeof(spool), "%s/%s.spool", itest_env("MKB_HARNESS_DIR"), client);
    itest_create_topic(topic);
    char *cfg = NULL;
    ck_assert(asprintf(&cfg,
                       "mqtt: { uri: %s, client_id: %s }\n"
                       "kafka: { bootstrap: %s }\n"
                       "spool: { dir: \"%s\" }\n"
                       "routes:\n"
                       "  - name: by-device\n"
                       "    mqtt: { filter: \"%s/{dev}/SENSOR\" }\n"
                       "    kafka: { topic: %s, key: \"{dev}\" }\n"
                       "  - name: by-site\n"
                       "    mqtt: { filter: \"%s/+/SENSOR\" }\n"
                       "    kafka: { topic: %s, key: site }\n",
                       itest_env("MKB_MQTT_URI"), client, itest_env("MKB_KAFKA_BOOTSTRAP"), spool,
                       prefix, topic, prefix, topic) > 0);
    itest_bridge_t b;
    itest_start_ready(&b, client, cfg);
    char t1[400];
    snprintf(t1, sizeof(t1), "%s/plug-1/SENSOR", prefix);
    const char *body = "{\"Temp\": 21.5}";
    itest_pub_t *p = itest_pub_open(NULL, 5);
    itest_pub_send(p, t1, body, strlen(body), 1);
    itest_pub_wait(p, 1);
    itest_pub_close(p);
    char **vals, **keys, **hdrs;
    size_t count;
    itest_kafka_read_all(topic, 2, itest_scale_ms(30000), &vals, &count, &keys, &hdrs);
    ck_assert_int_eq(itest_bridge_stop(&b, SIGTERM, 30000), 0);
    ck_assert_uint_eq(count, 2);
    char id0[128], id1[128], want[140];
    header_id(hdrs[0], id0, sizeof(id0));
    header_id(hdrs[1], id1, sizeof(id1));
    /* "<16 hex>-<segment>-<offset>", then the same with "-1" */
    ck_assert_msg(strlen(id0) > 17 && id0[16] == '-' && strchr(id0 + 17, '-'), "id '%s'", id0);
    snprintf(want, sizeof(want), "%s-1", id0);
    ck_assert_str_eq(id1, want);
    ck_assert_str_eq(keys[0], "plug-1");
    ck_assert_str_eq(keys[1], "site");
    itest_free_strings(vals, count);
    itest_free_strings(keys, count);
    itest_free_strings(hdrs, count);
    free(cfg);
    free(client);
    free(topic);
}
END_TEST

/* A configuration error names file:line:column and exits 2. */
START_TEST(test_config_error_exit_code)
{
    itest_bridge_t b;
    itest_bridge_start(&b, "bad-config",
                       "mqtt:\n  uri: tcp://127.0.0.1:1\n  clientid: x\n"
                       "kafka: { bootstrap: 127.0.0.1:1 }\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_int_eq(itest_bridge_stop(&b, 0, 10000), 2);
    char needle[600];
    snprintf(needle, sizeof(needle), "%s:3:3: error: unknown key 'mqtt.clientid'; did you mean "
             "'client_id'?", b.config_path);
    ck_assert_msg(itest_bridge_wait_log(&b, needle, 100), "log lacks: %s", needle);
}
END_TEST

/* Runs the bridge binary with ARGS (a shell fragment), stdin from STDIN_TEXT;
 * returns the exit status and the combined output (caller frees). */
static int run_cli(const char *args, const char *stdin_text, char **output)
{
    char *cmd = NULL;
    ck_assert(asprintf(&cmd, "printf '%%s' '%s' | '%s' %s 2>&1", stdin_text ? stdin_text : "",
                       itest_env("MKB_BRIDGE_BIN"), args) > 0);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    size_t cap = 65536, n = 0;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0)
        n += got;
    out[n] = '\0';
    int st = pclose(p);
    free(cmd);
    *output = out;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* check lists every error and exits 1; the shipped configuration passes. */
START_TEST(test_check_command)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/check.yaml", itest_env("MKB_HARNESS_DIR"));
    FILE *f = fopen(path, "w");
    fputs("mqtt: { uri: tcp://h:1, keepalive_s: 1 }\nkafka: { bootstrap: h:1 }\n"
          "routes:\n  - name: a\n    mqtt: { filter: \"a/{site}\" }\n"
          "    kafka: { topic: \"t.{sitte}\" }\n    fields: { x: { tpye: number } }\n", f);
    fclose(f);
    char *out, args[700];
    snprintf(args, sizeof(args), "check -c '%s'", path);
    ck_assert_int_eq(run_cli(args, NULL, &out), 1);
    ck_assert_msg(strstr(out, "check.yaml:1:38: error: mqtt.keepalive_s: 1 is out of range") &&
                      strstr(out, "check.yaml:7:20: error: unknown key "
                                  "'routes[0].fields.x.tpye'; did you mean 'type'?"),
                  "%s", out);
    free(out);
    /* With the file errors fixed, route compilation errors come next. */
    f = fopen(path, "w");
    fputs("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
          "routes:\n  - name: a\n    mqtt: { filter: \"a/{site}\" }\n"
          "    kafka: { topic: \"t.{sitte}\" }\n", f);
    fclose(f);
    ck_assert_int_eq(run_cli(args, NULL, &out), 1);
    ck_assert_msg(strstr(out, "check.yaml:6:21: error: route 'a': kafka.topic: unknown "
                              "placeholder {sitte}; did you mean {site}?"),
                  "%s", out);
    free(out);
    snprintf(args, sizeof(args), "check -c '%s/config/bridge.yaml'", MKB_SOURCE_DIR);
    ck_assert_int_eq(run_cli(args, NULL, &out), 0);
    /* the shipped configuration loads the mapping files of mappings/, not the
     * device families of mappings/devices/: no filters overlap, nothing widens */
    ck_assert_msg(strstr(out, "bridge.yaml: OK (") && !strstr(out, "error") &&
                      !strstr(out, "warning"),
                  "%s", out);
    free(out);
}
END_TEST

/* map prints the records a message becomes, from --payload or stdin. */
START_TEST(test_map_command)
{
    char *out, args[700];
    snprintf(args, sizeof(args),
             "map -c '%s/config/bridge.yaml' --topic sites/s1/hvac/ahu-2/telemetry",
             MKB_SOURCE_DIR);
    ck_assert_int_eq(run_cli(args, "{\"temp_f\": 50, \"rh\": 41, \"ts\": 1795780000000}", &out),
                     0);
    ck_assert_msg(strstr(out, "record 1 (route hvac-telemetry)\n  topic:     hvac.telemetry\n"
                              "  key:       s1.ahu-2\n  timestamp: 1795780000000 "
                              "(2026-11-27T11:46:40.000Z)\n") &&
                      strstr(out, "  value:     {\"temperature_c\":10.0,\"humidity_pct\":41,"),
                  "%s", out);
    free(out);
    ck_assert_int_eq(run_cli(args, "{\"temp_f\": 50}", &out), 1);
    ck_assert_msg(strstr(out, "dead letter 1 (route hvac-telemetry): required field "
                              "'humidity_pct' is missing (from /rh)\n  topic:     iot.deadletter"),
                  "%s", out);
    free(out);
    snprintf(args, sizeof(args), "map -c '%s/config/bridge.yaml' --topic no/route --payload x",
             MKB_SOURCE_DIR);
    ck_assert_int_eq(run_cli(args, NULL, &out), 1);
    ck_assert_msg(strstr(out, "no route matches topic 'no/route'"), "%s", out);
    free(out);
}
END_TEST

/* One route that skips a message without /ENERGY and makes an empty one a
 * tombstone: the map tests' configuration. */
static const char energy_when_yaml[] = "mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                                       "routes:\n"
                                       "  - name: energy\n"
                                       "    mqtt: { filter: \"tele/{dev}/SENSOR\" }\n"
                                       "    kafka: { topic: energy, key: \"{dev}\" }\n"
                                       "    empty: tombstone\n"
                                       "    when: [ { field: /ENERGY, exists: true } ]\n";

/* map prints a skipped route and why, and a tombstone's null value; a
 * message every matching route skips exits 1 (no record). */
START_TEST(test_map_when_and_tombstone)
{
    char *path = NULL, *out, args[900];
    ck_assert(asprintf(&path, "%s/map-when.yaml", itest_env("MKB_HARNESS_DIR")) > 0);
    itest_write_file(path, energy_when_yaml);
    snprintf(args, sizeof(args), "map -c '%s' --topic tele/p1/SENSOR", path);
    ck_assert_int_eq(run_cli(args, "{\"Temp\": 1}", &out), 1);
    ck_assert_msg(strstr(out, "route 'energy' skipped: when[0] field /ENERGY exists is false\n"),
                  "%s", out);
    free(out);
    ck_assert_int_eq(run_cli(args, "", &out), 0);
    ck_assert_msg(strstr(out, "record 1 (route energy)\n  topic:     energy\n  key:       p1\n") &&
                      strstr(out, "  value:     null (tombstone)\n"),
                  "%s", out);
    free(out);
    free(path);
}
END_TEST

/* Global options before, after and around the command; a word that is no
 * command, or an option that is none, exits 2 naming the nearest. */
START_TEST(test_option_order)
{
    char *out, args[900];
    const char *cfg = MKB_SOURCE_DIR "/config/bridge.yaml";
    static const char *const forms[] = {"-c '%s' check", "check -c '%s'", "--config='%s' check",
                                        "check --config='%s'", "-c '%s' -- check",
                                        "-l debug check -c '%s'"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(args, sizeof(args), forms[i], cfg);
        ck_assert_msg(run_cli(args, NULL, &out) == 0 && strstr(out, "bridge.yaml: OK ("),
                      "%s: %s", args, out);
        free(out);
    }
    /* map's options on either side of the command, the config first */
    static const char *const maps[] = {
        "-c '%s' map --topic sites/s1/hvac/ahu-2/telemetry",
        "--topic sites/s1/hvac/ahu-2/telemetry --config '%s' map",
        "--topic=sites/s1/hvac/ahu-2/telemetry map --config='%s' --output text"};
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        snprintf(args, sizeof(args), maps[i], cfg);
        ck_assert_msg(run_cli(args, "{\"temp_f\": 50, \"rh\": 41}", &out) == 0 &&
                          strstr(out, "record 1 (route hvac-telemetry)\n  topic:     "
                                      "hvac.telemetry\n"),
                      "%s: %s", args, out);
        free(out);
    }
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"chekc -c '%s'", "unknown command 'chekc'; did you mean 'check'?"},
        {"-c '%s' mapp --topic a", "unknown command 'mapp'; did you mean 'map'?"},
        {"-c '%s' check map", "unexpected argument 'map' after the command 'check'"},
        {"-c '%s' map --tpoic a", "unknown option '--tpoic'; did you mean '--topic'?"},
        {"--confgi '%s' check", "unknown option '--confgi'; did you mean '--config'?"},
        {"--confgi='%s'", "unknown option '--confgi'; did you mean '--config'?"},
        {"-c '%s' -x", "unknown option '-x'"},
        {"-c '%s' map --p x --topic a", "option '--p' is ambiguous (--payload, --payload-file"},
        {"-c '%s' map --topic", "option '--topic' needs a value"},
        {"-c '%s' map --output jsno --topic a", "--output takes text or json, not 'jsno'; did "
                                                "you mean 'json'?"},
        {"-c '%s' --output json check", "go with the map command"},
        {"-c '%s' -- --help", "unknown command '--help'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(args, sizeof(args), bad[i].args, cfg);
        ck_assert_msg(run_cli(args, NULL, &out) == 2 && strstr(out, bad[i].says), "%s: %s",
                      args, out);
        free(out);
    }
}
END_TEST

/* Runs `map ARGS --output json` (stdin from STDIN_TEXT; stdout to a file,
 * stderr apart), then python3's json module on the document: EXPR, a Python
 * expression of d (the document), printed. Returns map's exit status;
 * *FIELDS: what Python printed (caller frees), *STDOUT_LEN the document's
 * length. */
static int map_json(const char *args, const char *stdin_text, const char *expr, char **fields,
                    long *stdout_len)
{
    char *cmd = NULL, path[600];
    snprintf(path, sizeof(path), "%s/map.json", itest_env("MKB_HARNESS_DIR"));
    ck_assert(asprintf(&cmd, "printf '%%s' '%s' | '%s' map %s --output json >'%s' 2>/dev/null",
                       stdin_text ? stdin_text : "", itest_env("MKB_BRIDGE_BIN"), args,
                       path) > 0);
    int st = system(cmd);
    free(cmd);
    FILE *f = fopen(path, "r");
    ck_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    *stdout_len = ftell(f);
    fclose(f);
    *fields = NULL;
    if (*stdout_len > 0) {
        ck_assert(asprintf(&cmd, "python3 -c 'import json, sys\nd = json.load(open(sys.argv[1]))"
                                 "\nprint(%s)' '%s' 2>&1",
                           expr, path) > 0);
        FILE *p = popen(cmd, "r");
        ck_assert(p != NULL);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf) - 1, p);
        buf[n] = '\0';
        ck_assert_msg(pclose(p) == 0, "python3 could not read the document: %s", buf);
        *fields = strdup(buf);
        free(cmd);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* map --output json: records, dead letters, no route, skips, tombstones
 * and binary values, each as a JSON parser reads them. */
START_TEST(test_map_json)
{
    char *fields, args[900], path[600];
    long len;
    const char *cfg = MKB_SOURCE_DIR "/config/bridge.yaml";
    snprintf(args, sizeof(args), "-c '%s' --topic sites/s1/hvac/ahu-2/telemetry", cfg);
    const char *rec = "[d[\"version\"], d[\"mqtt_topic\"], d[\"exit_status\"], d[\"unmatched\"], "
                      "len(d[\"records\"])] + [d[\"records\"][0][k] for k in (\"route\", "
                      "\"profile\", \"topic\", \"key\", \"key_encoding\", \"value_type\", "
                      "\"timestamp_ms\", \"timestamp\", \"dead_letter\", \"reason\")] + "
                      "[d[\"records\"][0][\"value\"][\"temperature_c\"], "
                      "{h[\"name\"]: h[\"value\"] for h in d[\"records\"][0][\"headers\"]}]";
    ck_assert_int_eq(map_json(args, "{\"temp_f\": 50, \"rh\": 41, \"ts\": 1795780000000}", rec,
                              &fields, &len), 0);
    ck_assert_str_eq(fields, "[1, 'sites/s1/hvac/ahu-2/telemetry', 0, False, 1, 'hvac-telemetry', "
                             "'hot', 'hvac.telemetry', 's1.ahu-2', 'text', 'json', 1795780000000, "
                             "'2026-11-27T11:46:40.000Z', False, None, 10.0, {'source': "
                             "'sites/s1/hvac/ahu-2/telemetry', 'content-type': "
                             "'application/json'}]\n");
    free(fields);
    /* a dead letter: its reason, its value the message's JSON */
    const char *dl = "[d[\"exit_status\"]] + [d[\"records\"][0][k] for k in (\"topic\", "
                     "\"dead_letter\", \"reason\", \"value_type\", \"value\")]";
    ck_assert_int_eq(map_json(args, "{\"temp_f\": 50}", dl, &fields, &len), 1);
    ck_assert_str_eq(fields, "[1, 'iot.deadletter', True, \"required field 'humidity_pct' is "
                             "missing (from /rh)\", 'json', {'temp_f': 50}]\n");
    free(fields);
    /* bytes that are not UTF-8: base64 */
    snprintf(path, sizeof(path), "%s/map-binary.bin", itest_env("MKB_HARNESS_DIR"));
    itest_write_file(path, "\xff\xfe{");
    snprintf(args, sizeof(args), "-c '%s' --topic sites/s1/hvac/ahu-2/telemetry --payload-file "
                                 "'%s'", cfg, path);
    ck_assert_int_eq(map_json(args, NULL, "[d[\"records\"][0][\"value_type\"], "
                                          "__import__(\"base64\").b64decode(d[\"records\"][0]"
                                          "[\"value\"])]", &fields, &len), 1);
    ck_assert_str_eq(fields, "['base64', b'\\xff\\xfe{']\n");
    free(fields);
    /* no route */
    snprintf(args, sizeof(args), "-c '%s' --topic no/route --payload x", cfg);
    ck_assert_int_eq(map_json(args, NULL, "[d[k] for k in (\"records\", \"skipped\", "
                                          "\"unmatched\", \"outside\", \"exit_status\")]",
                              &fields, &len), 1);
    ck_assert_str_eq(fields, "[[], [], True, False, 1]\n");
    free(fields);
    /* an error: nothing on stdout, exit 2 */
    ck_assert_int_eq(map_json("-c /nonexistent.yaml --topic a --payload x", NULL, "d", &fields,
                              &len), 2);
    ck_assert_int_eq(len, 0);
}
END_TEST

/* map --output json: a skipped route and why, a tombstone; Sparkplug's
 * rebirth request without a birth, the names with one (--birth). */
START_TEST(test_map_json_skip_and_sparkplug)
{
    char *path = NULL, *fields, args[900];
    long len;
    ck_assert(asprintf(&path, "%s/map-when-json.yaml", itest_env("MKB_HARNESS_DIR")) > 0);
    itest_write_file(path, energy_when_yaml);
    snprintf(args, sizeof(args), "-c '%s' --topic tele/p1/SENSOR", path);
    ck_assert_int_eq(map_json(args, "{\"Temp\": 1}", "[d[\"records\"], d[\"skipped\"]]", &fields,
                              &len), 1);
    ck_assert_str_eq(fields, "[[], [{'route': 'energy', 'reason': 'when[0] field /ENERGY exists "
                             "is false'}]]\n");
    free(fields);
    ck_assert_int_eq(map_json(args, "", "[d[\"records\"][0][k] for k in (\"key\", \"value\", "
                                        "\"value_type\")]", &fields, &len), 0);
    ck_assert_str_eq(fields, "['p1', None, 'null']\n");
    free(fields);
    free(path);
    const char *fx = MKB_SOURCE_DIR "/tests/fixtures/sparkplug";
    const char *spb = "[d[\"sparkplug\"], [(b[\"topic\"], b[\"records\"], b[\"dead_letter\"]) "
                      "for b in d[\"births\"]], len(d[\"records\"]), "
                      "d[\"records\"][0][\"value\"][\"name\"]]";
    snprintf(args, sizeof(args), "-c '%s/config/bridge.yaml' --topic spBv1.0/g1/NDATA/e1 "
             "--payload-file '%s/pysparkplug_ndata_alias.bin'", MKB_SOURCE_DIR, fx);
    ck_assert_int_eq(map_json(args, NULL, spb, &fields, &len), 0);
    ck_assert_str_eq(fields, "[{'rebirths': [{'group': 'g1', 'node': 'e1'}], 'seq_gaps': 0, "
                             "'unresolved_metrics': 12}, [], 12, None]\n");
    free(fields);
    snprintf(args, sizeof(args), "-c '%s/config/bridge.yaml' --topic spBv1.0/g1/NDATA/e1 "
             "--payload-file '%s/pysparkplug_ndata_alias.bin' --birth '%s/pysparkplug_nbirth.bin'",
             MKB_SOURCE_DIR, fx, fx);
    ck_assert_int_eq(map_json(args, NULL, spb, &fields, &len), 0);
    ck_assert_str_eq(fields, "[{'rebirths': [], 'seq_gaps': 0, 'unresolved_metrics': 0}, "
                             "[('spBv1.0/g1/NBIRTH/e1', 42, False)], 12, 'int8']\n");
    free(fields);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uplink");
    TCase *tc = tcase_create("end_to_end");
    tcase_set_timeout(tc, 180);
    tcase_add_loop_test(tc, test_thousand_qos1_messages, 0, 2);
    tcase_add_loop_test(tc, test_persistent_session_delivers_backlog, 0, 2);
    tcase_add_test(tc, test_normalized_records_and_dead_letters);
    tcase_add_test(tc, test_when_and_empty_payloads);
    tcase_add_test(tc, test_spool_fanout_ids);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 30);
    tcase_add_test(cli, test_config_error_exit_code);
    tcase_add_test(cli, test_check_command);
    tcase_add_test(cli, test_map_command);
    tcase_add_test(cli, test_map_when_and_tombstone);
    tcase_add_test(cli, test_option_order);
    tcase_add_test(cli, test_map_json);
    tcase_add_test(cli, test_map_json_skip_and_sparkplug);
    suite_add_tcase(s, cli);
    return check_run(s);
}
