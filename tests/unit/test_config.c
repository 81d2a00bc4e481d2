// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* asprintf */
#include "config.h"
#include "err.h"

#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const good =
    "mqtt:\n"
    "  uri: tcp://127.0.0.1:1883\n"
    "  version: 3.1.1\n"
    "kafka:\n"
    "  bootstrap: 127.0.0.1:9092\n"
    "  properties: { linger.ms: 20, compression.type: lz4 }\n"
    "routes:\n"
    "  - name: hot\n"
    "    mqtt: { filter: \"sites/+/temp\", qos: 2 }\n"
    "    kafka: { topic: hvac.telemetry }\n"
    "  - name: rest\n"
    "    mqtt: { filter: \"sites/#\" }\n"
    "    kafka: { topic: raw }\n";

static char *load_err(const char *text)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    int rc = config_load_string("c.yaml", text, &cfg, &errors);
    ck_assert_int_eq(rc, MKB_ERR_CONFIG);
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_nonnull(errors);
    return errors;
}

START_TEST(test_good_config_and_defaults)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("c.yaml", good, &cfg, &errors), MKB_OK);
    ck_assert_str_eq(cfg->mqtt_uri, "tcp://127.0.0.1:1883");
    ck_assert_int_eq(cfg->mqtt_version, CONFIG_MQTT_3_1_1);
    ck_assert_str_eq(cfg->mqtt_client_id, "mqtt-kafka-bridge"); /* default */
    ck_assert(!cfg->mqtt_clean_start);
    ck_assert_int_eq(cfg->mqtt_keepalive_s, 30);
    ck_assert_uint_eq(cfg->kafka_properties_n, 2);
    ck_assert_str_eq(cfg->kafka_properties[0].key, "linger.ms");
    ck_assert_str_eq(cfg->kafka_properties[0].value, "20");
    ck_assert_uint_eq(cfg->routes_n, 2);
    ck_assert_str_eq(cfg->routes[0].mqtt_filter, "sites/+/temp");
    ck_assert_int_eq(cfg->routes[0].mqtt_qos, 2);
    ck_assert_int_eq(cfg->routes[1].mqtt_qos, 1); /* default */
    ck_assert_str_eq(cfg->routes[1].kafka_topic, "raw");
    ck_assert_int_eq(cfg->log_level, LOG_LVL_INFO);
    config_destroy(cfg);
    config_destroy(NULL);
}
END_TEST

START_TEST(test_unknown_key_suggests)
{
    char *e = load_err("mqtt:\n  uri: tcp://h:1\n  clinet_id: x\nkafka: { bootstrap: h:1 }\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:3:3: error: unknown key 'mqtt.clinet_id'; did you mean "
                            "'client_id'?"),
                  "%s", e);
    free(e);
    e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\nzzz: 1\n"
                 "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:3:1: error: unknown key 'zzz'; expected one of: mqtt, kafka"),
                  "%s", e);
    free(e);
}
END_TEST

START_TEST(test_every_error_listed)
{
    char *e = load_err("mqtt:\n  keepalive_s: 2\n  version: 4\n  clean_start: maybe\n"
                       "kafka: { bootstrap: h:1 }\n"
                       "routes:\n  - name: a\n    mqtt: { filter: \"a/#/b\", qos: 3 }\n"
                       "    kafka: { topic: \"bad topic\" }\n");
    ck_assert_msg(strstr(e, "c.yaml:2:3: error: mqtt.uri: required key missing"), "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:2:16: error: mqtt.keepalive_s: 2 is out of range [5, 3600]"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:3:12: error: mqtt.version: '4' is not valid; expected one "
                            "of: 3.1.1, 5"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:4:16: error: mqtt.clean_start: expected true or false"),
                  "%s", e);
    ck_assert_msg(strstr(e, "routes[0].mqtt.qos: 3 is out of range [0, 2]"), "%s", e);
    free(e);
}
END_TEST

START_TEST(test_finalize_checks)
{
    char *e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\nroutes:\n"
                       "  - { name: a, mqtt: { filter: \"a/#/b\" }, kafka: { topic: x } }\n"
                       "  - { name: a, mqtt: { filter: b }, kafka: { topic: b }, payload: raw,\n"
                       "      fields: { x: {} } }\n");
    ck_assert_msg(strstr(e, "c.yaml:5:13: error: route name 'a' is already used at c.yaml:4:13"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:5:67: error: route 'a': payload: raw forwards bytes "
                            "untouched"),
                  "%s", e);
    free(e);
}
END_TEST

START_TEST(test_spool_keys)
{
    char *e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                       "spool:\n  dir: sp\n  max_bytes: 3000000\n  fsnyc: always\n"
                       "  on_full: drop_newest\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:6:3: error: unknown key 'spool.fsnyc'; did you mean "
                            "'fsync'?"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:7:12: error: spool.on_full: 'drop_newest' is not valid; "
                            "expected one of: block, drop_oldest"),
                  "%s", e);
    free(e);
    e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                 "spool:\n  dir: sp\n  max_bytes: 3000000\n"
                 "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:5:14: error: spool.max_bytes: must be at least twice "
                            "spool.segment_bytes (16777216)"),
                  "%s", e);
    free(e);
    /* Defaults, and a relative dir resolved against the file's directory. */
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("/etc/mkb/c.yaml",
                                        "mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                                        "spool: { dir: sp }\nroutes: [ { name: a, mqtt: { "
                                        "filter: a }, kafka: { topic: a } } ]\n",
                                        &cfg, &errors),
                     MKB_OK);
    ck_assert_str_eq(cfg->spool_dir, "/etc/mkb/sp");
    ck_assert_int_eq(cfg->spool_fsync, CONFIG_FSYNC_INTERVAL);
    ck_assert_int_eq(cfg->spool_on_full, CONFIG_FULL_BLOCK);
    ck_assert_int_eq(cfg->spool_max_bytes, 1073741824LL);
    ck_assert_int_eq(cfg->spool_segment_bytes, 16777216LL);
    config_destroy(cfg);
}
END_TEST

START_TEST(test_wrong_shapes)
{
    char *e = load_err("mqtt: [1]\nkafka: { bootstrap: h:1 }\nroutes: { a: 1 }\n");
    ck_assert_msg(strstr(e, "c.yaml:1:7: error: mqtt: expected a mapping"), "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:3:9: error: routes: expected a list"), "%s", e);
    free(e);
    e = load_err("");
    ck_assert_msg(strstr(e, "the configuration is empty"), "%s", e);
    free(e);
    e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\nroutes: []\n");
    ck_assert_msg(strstr(e, "c.yaml: error: no routes: add a routes: list"), "%s", e);
    free(e);
}
END_TEST

/* Found by fuzzing: a list key given twice overflowed the route array
 * (sized by the first occurrence, filled from the last). */
START_TEST(test_list_key_twice)
{
    char *e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\nroutes: {}\n"
                       "routes:\n  - { name: a, mqtt: { filter: a }, kafka: { topic: a } }\n"
                       "  - { name: b, mqtt: { filter: b }, kafka: { topic: b } }\n");
    ck_assert_msg(strstr(e, "c.yaml:4:1: error: routes: key given twice"), "%s", e);
    free(e);
}
END_TEST

START_TEST(test_secret_files)
{
    char path[] = "/tmp/mkb-secret-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    ck_assert(write(fd, "s3cret\n", 7) == 7);
    close(fd);
    char *text = NULL;
    ck_assert(asprintf(&text,
                       "mqtt: { uri: tcp://h:1, username: u, password_file: %s }\n"
                       "kafka: { bootstrap: h:1, properties: { sasl.password_file: %s } }\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n",
                       path, path) > 0);
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("c.yaml", text, &cfg, &errors), MKB_OK);
    ck_assert_str_eq(cfg->mqtt_password, "s3cret"); /* trailing newline removed */
    ck_assert_str_eq(cfg->kafka_properties[0].key, "sasl.password");
    ck_assert_str_eq(cfg->kafka_properties[0].value, "s3cret");
    config_destroy(cfg);
    free(text);
    unlink(path);
    char *e = load_err("mqtt: { uri: tcp://h:1, username: u, password_file: /nonexistent/pw }\n"
                       "kafka: { bootstrap: h:1 }\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:1:53: error: mqtt.password_file: cannot read /nonexistent/pw: "
                            "No such file or directory"),
                  "%s", e);
    free(e);
}
END_TEST

/* Writes TEXT to a new file under /tmp with MODE; returns its path (freed by
 * the caller). */
static char *write_mode(const char *text, mode_t mode)
{
    char *path = strdup("/tmp/mkb-cfg-XXXXXX");
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    ck_assert(fchmod(fd, mode) == 0);
    close(fd);
    return path;
}

/* Loads PATH, which must be valid; returns its warnings ("" if none). */
static char *warnings_of(const char *path)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    int rc = config_load(path, &cfg, &errors);
    ck_assert_msg(rc == MKB_OK, "%s", errors ? errors : "?");
    char *w = strdup(cfg->warnings ? cfg->warnings : "");
    config_destroy(cfg);
    return w;
}

START_TEST(test_secret_readable_warning)
{
    setenv("MKB_TEST_SECRET", "from-env-pw", 1);
    char *pw = write_mode("file-pw\n", 0644);
    char *text = NULL;
    ck_assert(asprintf(&text,
                       "mqtt:\n"
                       "  uri: tcp://h:1\n"
                       "  username: u\n"
                       "  password: literal-mqtt-pw\n"
                       "kafka:\n"
                       "  bootstrap: h:1\n"
                       "  properties:\n"
                       "    sasl.password: ${MKB_TEST_SECRET}\n"
                       "    ssl.key.password: \"literal-key-pw\"\n"
                       "metrics:\n"
                       "  listen: 9464\n"
                       "  username: prom\n"
                       "  password_file: %s\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n",
                       pw) > 0);
    /* Every user can read the file: each secret written in it, and the
     * password file, are named with their position; values never shown. */
    char *cfgpath = write_mode(text, 0644);
    char *w = warnings_of(cfgpath);
    char want[600];
    snprintf(want, sizeof(want), "%s:4:13: warning: mqtt.password: %s holds a secret and every "
             "user can read it (mode 0644); chmod o-r %s\n", cfgpath, cfgpath, cfgpath);
    ck_assert_msg(strstr(w, want), "%s", w);
    snprintf(want, sizeof(want), "%s:9:23: warning: kafka.properties.ssl.key.password: %s holds",
             cfgpath, cfgpath);
    ck_assert_msg(strstr(w, want), "%s", w);
    snprintf(want, sizeof(want), "%s:13:18: warning: metrics.password_file: %s holds a secret",
             cfgpath, pw);
    ck_assert_msg(strstr(w, want), "%s", w);
    /* ${ENV}: the file does not hold it. */
    ck_assert_msg(!strstr(w, "sasl.password"), "%s", w);
    ck_assert_msg(!strstr(w, "literal") && !strstr(w, "file-pw") && !strstr(w, "from-env"), "%s",
                  w);
    free(w);
    /* Readable by owner and group only: no warning at all. */
    ck_assert(chmod(cfgpath, 0640) == 0 && chmod(pw, 0600) == 0);
    w = warnings_of(cfgpath);
    ck_assert_str_eq(w, "");
    free(w);
    unlink(cfgpath);
    unlink(pw);
    free(cfgpath);
    free(pw);
    free(text);
    unsetenv("MKB_TEST_SECRET");
}
END_TEST

/* metrics.listen: check names the bad address where it is written; the
 * good forms pass (listen_addr.c, tests/unit/test_listen_addr.c). */
START_TEST(test_metrics_listen_checked)
{
    static const struct {
        const char *listen, *want;
    } bad[] = {
        {"\"::1:9464\"", "c.yaml:3:20: error: metrics.listen '::1:9464': an IPv6 address goes in "
                         "brackets, e.g. [::1]:9464"},
        {"\"[::1]\"", "c.yaml:3:20: error: metrics.listen '[::1]': expected HOST:PORT"},
        {"\"300.1.1.1:9464\"", "c.yaml:3:20: error: metrics.listen '300.1.1.1:9464': '300.1.1.1' is "
                               "not an IPv4 address"},
        {"\"nosuchhost.invalid:9464\"", "c.yaml:3:20: error: metrics.listen "
                                        "'nosuchhost.invalid:9464': cannot resolve"},
    };
    char text[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text),
                 "mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                 "metrics: { listen: %s }\n"
                 "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n",
                 bad[i].listen);
        char *e = load_err(text);
        ck_assert_msg(strstr(e, bad[i].want), "%s: %s", bad[i].listen, e);
        free(e);
    }
    static const char *const listens[] = {"\"[::]:9464\"", "\"[::1]:9464\"", "\"0.0.0.0:9464\"",
                                       "\"localhost:9464\"", "9464"};
    for (size_t i = 0; i < sizeof(listens) / sizeof(listens[0]); i++) {
        snprintf(text, sizeof(text),
                 "mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                 "metrics: { listen: %s }\n"
                 "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n",
                 listens[i]);
        config_t *cfg = NULL;
        char *errors = NULL;
        ck_assert_msg(config_load_string("c.yaml", text, &cfg, &errors) == MKB_OK, "%s: %s",
                      listens[i], errors ? errors : "");
        config_destroy(cfg);
        free(errors);
    }
}
END_TEST

START_TEST(test_metrics_auth_keys)
{
    char *e = load_err("mqtt: { uri: tcp://h:1 }\n"
                       "kafka: { bootstrap: h:1 }\n"
                       "metrics: { listen: 9464, username: prom, tls: { cert_file: c.pem } }\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:3:36: error: metrics.username: needs metrics.password or "
                            "metrics.password_file"),
                  "%s", e);
    ck_assert_msg(strstr(e, "error: metrics.tls: give both cert_file and key_file"), "%s", e);
    free(e);
    e = load_err("mqtt: { uri: tcp://h:1 }\n"
                 "kafka: { bootstrap: h:1 }\n"
                 "metrics: { password: x }\n"
                 "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:3:22: error: metrics.password: needs metrics.username"), "%s",
                  e);
    free(e);
}
END_TEST

/* check refuses a SASL login librdkafka cannot make, at the property that
 * asks for it (tests/unit/test_kafka_features.c runs the feature lists). */
START_TEST(test_sasl_mechanism_checked)
{
    char *e = load_err("mqtt: { uri: tcp://h:1 }\n"
                       "kafka:\n"
                       "  bootstrap: h:1\n"
                       "  properties: { security.protocol: SASL_SSL, sasl.mechanism: KERBEROS }\n"
                       "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:4:62: error: kafka.properties.sasl.mechanism: "
                            "'KERBEROS' is not a SASL mechanism librdkafka knows"),
                  "%s", e);
    free(e);
    e = load_err("mqtt: { uri: tcp://h:1 }\n"
                 "kafka:\n"
                 "  bootstrap: h:1\n"
                 "  properties: { security.protocol: SASL_SSL, sasl.mechanism: OAUTHBEARER }\n"
                 "  profiles:\n"
                 "    idp: { properties: { sasl.oauthbearer.method: jwks } }\n"
                 "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:6:51: error: kafka.profiles.idp.properties."
                            "sasl.oauthbearer.method: 'jwks' is not an OAUTHBEARER method"),
                  "%s", e);
    free(e);
    /* no SASL: sasl.mechanism is not used, not checked */
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("c.yaml",
                                        "mqtt: { uri: tcp://h:1 }\n"
                                        "kafka: { bootstrap: h:1, properties: "
                                        "{ sasl.mechanism: KERBEROS } }\n"
                                        "routes: [ { name: a, mqtt: { filter: a }, "
                                        "kafka: { topic: a } } ]\n",
                                        &cfg, &errors),
                     MKB_OK);
    config_destroy(cfg);
}
END_TEST

START_TEST(test_edit_distance)
{
    ck_assert_uint_eq(config_edit_distance("kitten", "sitting"), 3);
    ck_assert_uint_eq(config_edit_distance("", "abc"), 3);
    ck_assert_uint_eq(config_edit_distance("same", "same"), 0);
    ck_assert_uint_eq(config_edit_distance("tpye", "type"), 1); /* a swap counts once */
}
END_TEST

/* docs/CONFIGURATION.md documents every key of the loader's table. */
START_TEST(test_docs_cover_every_key)
{
    char *keys = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&keys, &len);
    config_print_keys(mem);
    fclose(mem);
    FILE *f = fopen(MKB_SOURCE_DIR "/docs/CONFIGURATION.md", "r");
    ck_assert_msg(f != NULL, "cannot open docs/CONFIGURATION.md");
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    char *save = NULL;
    for (char *line = strtok_r(keys, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ' ')
            continue; /* a description line */
        char key[128];
        ck_assert(sscanf(line, "%127s", key) == 1);
        char needle[140];
        snprintf(needle, sizeof(needle), "`%s`", key);
        ck_assert_msg(strstr(doc, needle), "docs/CONFIGURATION.md does not document %s", needle);
    }
    free(keys);
}
END_TEST

/* Values with a fixed set of choices are decided at load: enums, and the
 * conversion itself from normalize's one list. */
START_TEST(test_typed_values)
{
    char *text = NULL;
    ck_assert(asprintf(&text,
                       "%s"
                       "    payload: number\n"
                       "    fields: { v: { from: /value, convert: kwh_to_wh, type: number } }\n"
                       "    timestamp: { from: /t, format: epoch_ms }\n"
                       "spool: { dir: /tmp/s, fsync: never, on_full: drop_oldest }\n"
                       "log_level: debug\n",
                       good) > 0);
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("c.yaml", text, &cfg, &errors), MKB_OK);
    const config_route_t *r = &cfg->routes[1];
    ck_assert_int_eq(r->payload, NORM_PAYLOAD_NUMBER);
    ck_assert_int_eq(r->fields[0].type, NORM_TYPE_NUMBER);
    ck_assert_ptr_nonnull(r->fields[0].convert);
    ck_assert_str_eq(r->fields[0].convert->name, "kwh_to_wh");
    ck_assert(r->fields[0].convert->scale == 1000.0);
    ck_assert_int_eq(r->ts_format, NORM_TS_EPOCH_MS);
    ck_assert_int_eq(cfg->routes[0].payload, NORM_PAYLOAD_JSON); /* default */
    ck_assert_int_eq(cfg->routes[0].ts_format, NORM_TS_AUTO);    /* no timestamp section */
    ck_assert_int_eq(cfg->spool_fsync, CONFIG_FSYNC_NEVER);
    ck_assert_int_eq(cfg->spool_on_full, CONFIG_FULL_DROP_OLDEST);
    ck_assert_int_eq(cfg->log_level, LOG_LVL_DEBUG);
    ck_assert_int_eq(cfg->mqtt_version, CONFIG_MQTT_3_1_1);
    config_destroy(cfg);
    free(text);
    char *e = load_err("mqtt: { uri: \"tcp://h:1\", version: \"4\" }\n"
                       "kafka: { bootstrap: \"k:1\" }\n"
                       "routes: [ { name: r, mqtt: { filter: a }, kafka: { topic: t },\n"
                       "            fields: { v: { convert: kwh_to_whh } } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:1:36: error: mqtt.version: '4' is not valid; expected one "
                            "of: 3.1.1, 5 (did you mean '5'?)"),
                  "%s", e);
    ck_assert_msg(strstr(e, "routes[0].fields.v.convert: 'kwh_to_whh' is not valid; expected one "
                            "of: fahrenheit_to_celsius, "),
                  "%s", e);
    ck_assert_msg(strstr(e, "(did you mean 'kwh_to_wh'?)"), "%s", e);
    free(e);
    /* acks as librdkafka's number: -1 for all (the default). */
    ck_assert_int_eq(config_load_string("c.yaml",
                                        "mqtt: { uri: \"tcp://h:1\" }\n"
                                        "kafka: { bootstrap: \"k:1\", profiles: { fast: { acks: "
                                        "\"1\" }, safe: {} } }\n"
                                        "routes: [ { name: r, mqtt: { filter: a }, kafka: { topic: "
                                        "t, profile: fast } } ]\n",
                                        &cfg, &errors),
                     MKB_OK);
    ck_assert_str_eq(cfg->kafka_profiles[0].name, "fast");
    ck_assert_int_eq(cfg->kafka_profiles[0].acks, 1);
    ck_assert_int_eq(cfg->kafka_profiles[1].acks, -1);
    ck_assert_str_eq(cfg->kafka_profiles[1].compression, "lz4");
    config_destroy(cfg);
}
END_TEST

/* The field options of issue 17: on_error and round, loaded into enums and
 * numbers, their mistakes pointed at. */
START_TEST(test_field_options)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    ck_assert_int_eq(
        config_load_string("c.yaml",
                           "mqtt: { uri: \"tcp://h:1\" }\n"
                           "kafka: { bootstrap: \"k:1\" }\n"
                           "routes: [ { name: r, mqtt: { filter: a }, kafka: { topic: "
                           "t },\n"
                           "  fields: { v: { round: 3, on_error: omit, default: null },"
                           " w: {} } } ]\n",
                           &cfg, &errors),
        MKB_OK);
    const config_field_t *f = cfg->routes[0].fields;
    ck_assert_int_eq(f[0].on_error, CONFIG_ON_ERROR_OMIT);
    ck_assert_int_eq(f[0].round, 3);
    ck_assert_str_eq(f[0].dflt.text, "null");
    ck_assert(!f[0].dflt.quoted);
    ck_assert_int_eq(f[1].on_error, CONFIG_ON_ERROR_DEAD_LETTER); /* the default */
    config_destroy(cfg);
    char *e = load_err("mqtt: { uri: \"tcp://h:1\" }\n"
                       "kafka: { bootstrap: \"k:1\" }\n"
                       "routes: [ { name: r, mqtt: { filter: a }, kafka: { topic: t },\n"
                       "  fields: { v: { on_error: nul, round: 16 }, w: { round: -1 },\n"
                       "            x: { on_error: skip, round: two } } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:4:28: error: routes[0].fields.v.on_error: 'nul' is not valid; "
                            "expected one of: dead_letter, null, omit, default (did you mean "
                            "'null'?)"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:4:40: error: routes[0].fields.v.round: 16 is out of range "
                            "[0, 15]"),
                  "%s", e);
    ck_assert_msg(strstr(e, "routes[0].fields.w.round: -1 is out of range [0, 15]"), "%s", e);
    ck_assert_msg(strstr(e, "routes[0].fields.x.on_error: 'skip' is not valid; expected one of: "
                            "dead_letter, null, omit, default"),
                  "%s", e);
    ck_assert_msg(strstr(e, "routes[0].fields.x.round: expected an integer, found 'two'"), "%s", e);
    free(e);
}
END_TEST

/* One load shared by holders (config_ref); command rules compared for a
 * reload. */
/* when: a list of conditions, each kept with its position and quoting;
 * empty: an enum, absent meaning the payload kind's default. */
START_TEST(test_when_and_empty_load)
{
    config_t *cfg = NULL;
    char *errors = NULL;
    const char *text = "mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                       "routes:\n"
                       "  - name: a\n"
                       "    mqtt: { filter: \"t/{dev}\" }\n"
                       "    kafka: { topic: a }\n"
                       "    empty: tombstone\n"
                       "    when:\n"
                       "      - { field: /ENERGY, exists: true }\n"
                       "      - capture: dev\n"
                       "        one_of: [1, \"2\", x]\n"
                       "      - { mqtt: qos, at_least: 1, below: 2 }\n"
                       "  - name: b\n"
                       "    mqtt: { filter: b }\n"
                       "    kafka: { topic: b }\n";
    ck_assert_msg(config_load_string("c.yaml", text, &cfg, &errors) == MKB_OK, "%s", errors);
    const config_route_t *a = &cfg->routes[0], *b = &cfg->routes[1];
    ck_assert_int_eq(a->empty, CONFIG_EMPTY_TOMBSTONE);
    ck_assert_int_eq(b->empty, CONFIG_EMPTY_DEFAULT);
    ck_assert_uint_eq(a->when_n, 3);
    ck_assert_uint_eq(b->when_n, 0);
    ck_assert_ptr_null(b->when);
    ck_assert_str_eq(a->when[0].field, "/ENERGY");
    ck_assert_str_eq(a->when[0].exists.text, "true");
    ck_assert_ptr_null(a->when[0].equals.text);
    ck_assert_str_eq(a->when[1].capture, "dev");
    ck_assert_uint_eq(a->when[1].one_of_n, 3);
    ck_assert(!a->when[1].one_of[0].quoted);
    ck_assert(a->when[1].one_of[1].quoted);
    ck_assert_str_eq(a->when[1].one_of[2].text, "x");
    ck_assert_int_eq(a->when[2].mqtt, CONFIG_COND_MQTT_QOS);
    ck_assert_str_eq(a->when[2].at_least.text, "1");
    ck_assert_str_eq(a->when[2].below.text, "2");
    config_pos_t p = config_pos(cfg, &a->when[1].one_of[1]);
    ck_assert_int_eq(p.line, 11);
    ck_assert_int_eq(p.col, 21);
    p = config_pos(cfg, &a->when[2]);
    ck_assert_int_eq(p.line, 12);
    config_destroy(cfg);
}
END_TEST

/* The loader's errors for when: and empty: (the compiler's are in test_mapper). */
START_TEST(test_when_shape_errors)
{
    char *e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                       "routes:\n"
                       "  - name: a\n"
                       "    mqtt: { filter: a }\n"
                       "    kafka: { topic: a }\n"
                       "    empty: tombstom\n"
                       "    when:\n"
                       "      - { feild: /a, exists: true }\n"
                       "      - { field: /a, one_of: x }\n"
                       "      - { mqtt: retained, equals: true }\n"
                       "      - { field: /a, equals: { x: 1 } }\n");
    ck_assert_msg(strstr(e, "c.yaml:7:12: error: routes[0].empty: 'tombstom' is not valid; "
                            "expected one of: dead_letter, skip, tombstone (did you mean "
                            "'tombstone'?)"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:9:11: error: unknown key 'routes[0].when[0].feild'; did you "
                            "mean 'field'?"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:10:30: error: routes[0].when[1].one_of: expected a list"), "%s",
                  e);
    ck_assert_msg(strstr(e, "c.yaml:11:17: error: routes[0].when[2].mqtt: 'retained' is not "
                            "valid; expected one of: content_type, topic, qos, retain (did you "
                            "mean 'retain'?)"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:12:30: error: routes[0].when[3].equals: expected a single "
                            "value"),
                  "%s", e);
    free(e);
    e = load_err(
        "mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
        "routes:\n"
        "  - { name: a, mqtt: { filter: a }, kafka: { topic: a }, when: { field: /a } }\n");
    ck_assert_msg(strstr(e, "c.yaml:4:64: error: routes[0].when: expected a list"), "%s", e);
    free(e);
}
END_TEST

START_TEST(test_ref_and_commands_equal)
{
    const char *cmd = "commands:\n"
                      "  - name: c\n"
                      "    kafka: { topic: cmds }\n"
                      "    mqtt: { topic: \"dev/{key}/set\", user_properties: { a: b } }\n";
    char *t1 = NULL, *t2 = NULL;
    ck_assert(asprintf(&t1, "%s%s", good, cmd) > 0);
    ck_assert(asprintf(&t2, "%s%s", good, cmd) > 0);
    memcpy(strstr(t2, "/set"), "/put", 4);
    config_t *a = NULL, *b = NULL, *c = NULL, *none = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("c.yaml", t1, &a, &errors), MKB_OK);
    ck_assert_int_eq(config_load_string("c.yaml", t2, &b, &errors), MKB_OK);
    ck_assert_int_eq(config_load_string("c.yaml", t1, &c, &errors), MKB_OK);
    ck_assert_int_eq(config_load_string("c.yaml", good, &none, &errors), MKB_OK);
    ck_assert(config_commands_equal(a, c));
    ck_assert(!config_commands_equal(a, b));
    ck_assert(!config_commands_equal(a, none));
    ck_assert(config_commands_equal(none, none));
    ck_assert_ptr_eq(config_ref(a), a);
    config_destroy(a); /* one holder left */
    ck_assert_str_eq(a->commands[0].mqtt_topic, "dev/{key}/set");
    config_destroy(a);
    config_destroy(b);
    config_destroy(c);
    config_destroy(none);
    free(t1);
    free(t2);
}
END_TEST

/* payload: sparkplug_b on a command rule: loaded as the enum; content_type
 * and retain: true refused where they are written. */
/* ---- anchors, aliases and merge keys -------------------------------------- */

/* The fixture (a mapping file whose routes share defaults through anchors
 * and merge keys; test_ytree checks its reading against PyYAML) loads as the
 * routes written out would. */
START_TEST(test_anchors_mapping_file)
{
    char dir[] = "/tmp/mkb-cfg-XXXXXX", path[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/bridge.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
          "x-note: top-level x- keys are ignored\n"
          "mappings: [ " MKB_SOURCE_DIR "/tests/fixtures/yaml/anchors.yaml ]\n",
          f);
    fclose(f);
    config_t *cfg = NULL;
    char *errors = NULL;
    int rc = config_load(path, &cfg, &errors);
    unlink(path);
    rmdir(dir);
    ck_assert_msg(rc == MKB_OK, "%s", errors ? errors : "?");
    ck_assert_uint_eq(cfg->routes_n, 3);
    const config_route_t *r = cfg->routes;
    ck_assert_str_eq(r[0].name, "temperature");
    ck_assert_str_eq(r[0].mqtt_filter, "plant/{line}/temp");
    ck_assert_int_eq(r[0].mqtt_qos, 1);                    /* merged */
    ck_assert_str_eq(r[0].kafka_topic, "plant.temperature"); /* written over the default */
    ck_assert_str_eq(r[0].kafka_key, "{line}");
    ck_assert_int_eq(r[0].payload, NORM_PAYLOAD_JSON);
    ck_assert_str_eq(r[1].name, "pressure");
    ck_assert_int_eq(r[1].mqtt_qos, 0);
    ck_assert_uint_eq(r[1].kafka_headers_n, 3);
    for (size_t i = 0; i < r[1].kafka_headers_n; i++)
        if (strcmp(r[1].kafka_headers[i].key, "source") == 0)
            ck_assert_str_eq(r[1].kafka_headers[i].value, "{mqtt.topic}"); /* first wins */
    ck_assert_str_eq(r[2].name, "humidity");
    ck_assert_int_eq(r[2].payload, NORM_PAYLOAD_TEXT); /* the earlier mapping wins */
    ck_assert_str_eq(r[2].kafka_topic, "plant.default");
    ck_assert_int_eq(r[2].mqtt_qos, 2);
    /* a merged value's position is the anchored text */
    config_pos_t p = config_pos(cfg, &r[2].kafka_topic);
    ck_assert_int_eq(p.line, 14);
    ck_assert_ptr_nonnull(p.via);
    ck_assert_str_eq(p.via->alias, "route_defaults");
    ck_assert_int_eq(p.via->line, 35);
    config_destroy(cfg);
}
END_TEST

#define ANCHOR_HEAD "mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"

START_TEST(test_alias_errors_point_at_text)
{
    /* unknown key in the anchored text: did-you-mean, and where it was used */
    char *e = load_err("x-m: &m { qso: 1 }\n" ANCHOR_HEAD "routes:\n"
                       "  - { name: a, mqtt: { <<: *m, filter: a }, kafka: { topic: a } }\n");
    ck_assert_msg(strstr(e, "c.yaml:1:11: error: unknown key 'routes[0].mqtt.qso'; did you mean "
                            "'qos'? (used through alias *m at c.yaml:5:28)"),
                  "%s", e);
    free(e);
    /* a bad value, used by two routes: one error for each use */
    e = load_err("x-m: &m { qos: 7 }\n" ANCHOR_HEAD "routes:\n"
                 "  - { name: a, mqtt: { <<: *m, filter: a }, kafka: { topic: a } }\n"
                 "  - { name: b, mqtt: { <<: *m, filter: b }, kafka: { topic: b } }\n");
    ck_assert_msg(strstr(e, "c.yaml:1:16: error: routes[0].mqtt.qos: 7 is out of range [0, 2] "
                            "(used through alias *m at c.yaml:5:28)\n"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:1:16: error: routes[1].mqtt.qos: 7 is out of range [0, 2] "
                            "(used through alias *m at c.yaml:6:28)\n"),
                  "%s", e);
    free(e);
    /* the checks across fields, after the tree is gone, still name the alias */
    e = load_err("x-d: &d { name: dup, payload: raw, add: { x: y } }\n" ANCHOR_HEAD "routes:\n"
                 "  - { <<: *d, mqtt: { filter: a }, kafka: { topic: a } }\n"
                 "  - { <<: *d, mqtt: { filter: b }, kafka: { topic: b } }\n");
    ck_assert_msg(strstr(e, "c.yaml:1:31: error: route 'dup': payload: raw forwards bytes "
                            "untouched; fields, add, explode and timestamp need json, number or "
                            "text (used through alias *d at c.yaml:5:11)"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:1:31: error: route 'dup': payload: raw forwards bytes "
                            "untouched; fields, add, explode and timestamp need json, number or "
                            "text (used through alias *d at c.yaml:6:11)"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:1:17: error: route name 'dup' is already used at "
                            "c.yaml:5:11 through alias *d (used through alias *d at "
                            "c.yaml:6:11)"),
                  "%s", e);
    free(e);
    /* x- keys are ignored at the top only */
    e = load_err("mqtt: { uri: tcp://h:1, x-m: 1 }\nkafka: { bootstrap: h:1 }\n"
                 "routes: [ { name: a, mqtt: { filter: a }, kafka: { topic: a } } ]\n");
    ck_assert_msg(strstr(e, "c.yaml:1:25: error: unknown key 'mqtt.x-m'"), "%s", e);
    free(e);
}
END_TEST

START_TEST(test_sparkplug_command)
{
    const char *ok = "commands:\n"
                     "  - name: c\n"
                     "    kafka: { topic: cmds }\n"
                     "    mqtt: { topic: \"spBv1.0/G/DCMD/{/edge_node}/{/device}\" }\n"
                     "    payload: sparkplug_b\n";
    char *t = NULL;
    ck_assert(asprintf(&t, "%s%s", good, ok) > 0);
    config_t *a = NULL, *j = NULL;
    char *errors = NULL;
    ck_assert_int_eq(config_load_string("c.yaml", t, &a, &errors), MKB_OK);
    ck_assert_int_eq(a->commands[0].payload, CONFIG_CMD_PAYLOAD_SPARKPLUG_B);
    *strstr(t, "    payload: sparkplug_b") = '\0'; /* the default */
    ck_assert_int_eq(config_load_string("c.yaml", t, &j, &errors), MKB_OK);
    ck_assert_int_eq(j->commands[0].payload, CONFIG_CMD_PAYLOAD_JSON);
    ck_assert(!config_commands_equal(a, j)); /* a reload restarts the command side */
    config_destroy(a);
    config_destroy(j);
    free(t);
    const char *bad = "commands:\n"
                      "  - name: c\n"
                      "    kafka: { topic: cmds }\n"
                      "    mqtt:\n"
                      "      topic: \"spBv1.0/G/NCMD/E\"\n"
                      "      retain: true\n"
                      "      content_type: application/json\n"
                      "    payload: sparkplug_b\n";
    ck_assert(asprintf(&t, "%s%s", good, bad) > 0);
    char *e = load_err(t);
    ck_assert_msg(strstr(e, "c.yaml:19:15: error: command 'c': payload: sparkplug_b commands are "
                            "never retained"),
                  "%s", e);
    ck_assert_msg(strstr(e, "c.yaml:20:21: error: command 'c': payload: sparkplug_b sends a "
                            "Sparkplug B protobuf; remove mqtt.content_type"),
                  "%s", e);
    free(e);
    free(t);
    e = load_err("mqtt: { uri: tcp://h:1 }\nkafka: { bootstrap: h:1 }\n"
                 "routes: [{ name: a, mqtt: { filter: a }, kafka: { topic: a } }]\n"
                 "commands: [{ name: c, kafka: { topic: c }, mqtt: { topic: t }, "
                 "payload: sparkplug }]\n");
    ck_assert_msg(strstr(e, "'sparkplug' is not valid; expected one of: json, sparkplug_b"), "%s",
                  e);
    free(e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_good_config_and_defaults);
    tcase_add_test(tc, test_unknown_key_suggests);
    tcase_add_test(tc, test_every_error_listed);
    tcase_add_test(tc, test_finalize_checks);
    tcase_add_test(tc, test_wrong_shapes);
    tcase_add_test(tc, test_sasl_mechanism_checked);
    tcase_add_test(tc, test_spool_keys);
    tcase_add_test(tc, test_edit_distance);
    tcase_add_test(tc, test_list_key_twice);
    tcase_add_test(tc, test_secret_files);
    tcase_add_test(tc, test_secret_readable_warning);
    tcase_add_test(tc, test_metrics_auth_keys);
    tcase_add_test(tc, test_metrics_listen_checked);
    tcase_add_test(tc, test_docs_cover_every_key);
    tcase_add_test(tc, test_typed_values);
    tcase_add_test(tc, test_field_options);
    tcase_add_test(tc, test_ref_and_commands_equal);
    tcase_add_test(tc, test_when_and_empty_load);
    tcase_add_test(tc, test_when_shape_errors);
    tcase_add_test(tc, test_sparkplug_command);
    tcase_add_test(tc, test_anchors_mapping_file);
    tcase_add_test(tc, test_alias_errors_point_at_text);
    suite_add_tcase(s, tc);
    return check_run(s);
}
