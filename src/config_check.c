// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "config_check.h"

#include "err.h"
#include "kafka_features.h"
#include "listen_addr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct {
    diag_t *errs;
    diag_t *warns;        /* reported, the load succeeds */
    const char *features; /* librdkafka's builtin.features */
} chk_t;

/* Reads a secret file into *out (one trailing newline removed). */
static int read_secret(const char *path, char **out, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
        return MKB_ERR_IO;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool more = fgetc(f) != EOF;
    (void)fclose(f); /* read only */
    if (more) {
        snprintf(why, why_size, "%s is larger than %zu bytes", path, sizeof(buf) - 1);
        return MKB_ERR_CONFIG;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *out = strdup(buf);
    return *out ? MKB_OK : MKB_ERR_NOMEM;
}

/* ---- secrets ------------------------------------------------------------ */

bool config_is_secret_property(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || strcmp(key, "ssl.key.pem") == 0 ||
           strcmp(key, "sasl.jaas.config") == 0 || strcmp(key, "sasl.oauthbearer.config") == 0;
}

/* librdkafka properties whose value names a file holding a secret. */
static bool secret_path_property(const char *key)
{
    return strcmp(key, "ssl.key.location") == 0 || strcmp(key, "ssl.keystore.location") == 0 ||
           strcmp(key, "sasl.kerberos.keytab") == 0;
}

/* Warns (at FIELD's position) when PATH, a file holding a secret, can be
 * read by every user. Group-readable is left alone: a service group is the
 * usual way to share a secret with the daemon. */
static void warn_readable(chk_t *c, const config_t *cfg, const void *field, const char *what,
                          const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0 || !(st.st_mode & S_IROTH))
        return;
    config_diag(c->warns, cfg, field,
                "%s: %s holds a secret and every user can read it (mode %04o); "
                "chmod o-r %s",
                what, path, (unsigned)(st.st_mode & 07777), path);
}

/* A secret written literally (not one ${VAR}) in a file every user can
 * read: the warning names the value's position, never the value. */
static void warn_literal(chk_t *c, const config_t *cfg, const void *field, const char *what)
{
    if (config_pos_literal(cfg, field))
        warn_readable(c, cfg, field, what, config_pos(cfg, field).file);
}

/* kafka.properties or a profile's properties: NAME_file is read from that
 * file and passed as NAME; secrets in files every user can read warned of. */
static void finalize_properties(chk_t *c, config_t *cfg, config_kv_t *kvs, size_t n,
                                const char *section)
{
    char why[600], what[300];
    for (size_t i = 0; i < n; i++) {
        config_kv_t *kv = &kvs[i];
        size_t kl = strlen(kv->key);
        snprintf(what, sizeof(what), "%s.%s", section, kv->key);
        if (kl > 5 && strcmp(kv->key + kl - 5, "_file") == 0) {
            char *secret = NULL;
            if (read_secret(kv->value, &secret, why, sizeof(why)) != MKB_OK) {
                config_diag(c->errs, cfg, &kv->value, "%s: %s", what, why);
                continue;
            }
            warn_readable(c, cfg, &kv->value, what, kv->value);
            kv->key[kl - 5] = '\0'; /* sasl.password_file -> sasl.password */
            free(kv->value);
            kv->value = secret;
        } else if (config_is_secret_property(kv->key)) {
            warn_literal(c, cfg, &kv->value, what);
        } else if (secret_path_property(kv->key)) {
            warn_readable(c, cfg, &kv->value, what, kv->value);
        }
    }
}

/* PASSWORD or PASSWORD_FILE (read into *PASSWORD), needing USERNAME. */
static void finalize_password(chk_t *c, config_t *cfg, char **password, char **password_file,
                              const char *username, const char *section)
{
    char what[64];
    if (*password_file) {
        char why[600];
        snprintf(what, sizeof(what), "%s.password_file", section);
        if (*password)
            config_diag(c->errs, cfg, password_file,
                        "%s: give either password or password_file, not both", what);
        else if (read_secret(*password_file, password, why, sizeof(why)))
            config_diag(c->errs, cfg, password_file, "%s: %s", what, why);
        else
            warn_readable(c, cfg, password_file, what, *password_file);
    } else if (*password) {
        snprintf(what, sizeof(what), "%s.password", section);
        warn_literal(c, cfg, password, what);
    }
    if (*password && !username)
        config_diag(c->errs, cfg, *password_file ? (void *)password_file : (void *)password,
                    "%s.password: needs %s.username", section, section);
}

/* Passwords, secret files and properties read from files, both sides. */
static void check_secrets(chk_t *c, config_t *cfg)
{
    finalize_password(c, cfg, &cfg->mqtt_password, &cfg->mqtt_password_file, cfg->mqtt_username,
                      "mqtt");
    warn_literal(c, cfg, &cfg->tls_key_password, "mqtt.tls.key_password");
    warn_readable(c, cfg, &cfg->tls_key_file, "mqtt.tls.key_file", cfg->tls_key_file);
    finalize_properties(c, cfg, cfg->kafka_properties, cfg->kafka_properties_n, "kafka.properties");
    for (size_t i = 0; i < cfg->kafka_profiles_n; i++) {
        char what[300];
        config_profile_t *p = &cfg->kafka_profiles[i];
        snprintf(what, sizeof(what), "kafka.profiles.%s.properties", p->name);
        finalize_properties(c, cfg, p->properties, p->properties_n, what);
    }
    finalize_password(c, cfg, &cfg->metrics_password, &cfg->metrics_password_file,
                      cfg->metrics_username, "metrics");
}

/* ---- Kafka authentication ---------------------------------------------- */

/* The property KEY (or ALIAS) of a profile's PROPS, else of BASE. */
static const config_kv_t *find_prop(const config_kv_t *props, size_t n, const config_kv_t *base,
                                    size_t base_n, const char *key, const char *alias)
{
    for (int pass = 0; pass < 2; pass++) {
        const config_kv_t *kvs = pass ? base : props;
        size_t kn = pass ? base_n : n;
        for (size_t i = kn; i-- > 0;)
            if (strcmp(kvs[i].key, key) == 0 || (alias && strcmp(kvs[i].key, alias) == 0))
                return &kvs[i];
    }
    return NULL;
}

static bool in_props(const config_kv_t *kv, const config_kv_t *props, size_t n)
{
    return kv && n && kv >= props && kv < props + n;
}

/* A SASL login this build of librdkafka cannot make fails only when the
 * bridge first connects; refuse it here, at the property that asks for it. */
static void check_sasl(chk_t *c, const config_t *cfg, const config_kv_t *props, size_t n,
                       const char *section)
{
    const config_kv_t *base = cfg->kafka_properties;
    size_t bn = props == base ? 0 : cfg->kafka_properties_n;
    const config_kv_t *proto = find_prop(props, n, base, bn, "security.protocol", NULL);
    if (!proto || strncasecmp(proto->value, "SASL_", 5) != 0)
        return; /* no SASL: sasl.* is not used */
    const config_kv_t *mech = find_prop(props, n, base, bn, "sasl.mechanism", "sasl.mechanisms");
    const config_kv_t *method = find_prop(props, n, base, bn, "sasl.oauthbearer.method", NULL);
    if (bn && !in_props(proto, props, n) && !in_props(mech, props, n) &&
        !in_props(method, props, n))
        return; /* all from kafka.properties: said once, there */
    char why[800];
    kafka_feat_t r = kafka_features_check(c->features, mech ? mech->value : NULL,
                                          method ? method->value : NULL, why, sizeof(why));
    if (r == KAFKA_FEAT_OK)
        return;
    const config_kv_t *at = r == KAFKA_FEAT_BAD_METHOD && method ? method : mech ? mech : proto;
    config_diag(c->errs, cfg, &at->value, "%s.%s: %s", section, at->key, why);
}

static void check_kafka_auth(chk_t *c, const config_t *cfg)
{
    check_sasl(c, cfg, cfg->kafka_properties, cfg->kafka_properties_n, "kafka.properties");
    for (size_t i = 0; i < cfg->kafka_profiles_n; i++) {
        const config_profile_t *p = &cfg->kafka_profiles[i];
        char what[300];
        snprintf(what, sizeof(what), "kafka.profiles.%s.properties", p->name);
        check_sasl(c, cfg, p->properties, p->properties_n, what);
    }
}

/* metrics.listen as metrics_start will read it: the syntax, and a name
 * resolved. */
static void check_listen(chk_t *c, config_t *cfg)
{
    listen_addr_t addrs[LISTEN_ADDR_MAX];
    size_t naddrs = 0;
    char why[400];
    if (cfg->metrics_listen &&
        listen_addr_resolve(cfg->metrics_listen, addrs, &naddrs, why, sizeof(why)) != MKB_OK)
        config_diag(c->errs, cfg, &cfg->metrics_listen, "metrics.listen %s", why);
}

/* The metrics endpoint's and the spool's settings against each other. */
static void check_endpoint_spool(chk_t *c, config_t *cfg)
{
    if (cfg->metrics_username && !cfg->metrics_password)
        config_diag(c->errs, cfg, &cfg->metrics_username,
                    "metrics.username: needs metrics.password or metrics.password_file");
    if (!cfg->metrics_tls_cert_file != !cfg->metrics_tls_key_file)
        config_diag(c->errs, cfg,
                    cfg->metrics_tls_cert_file ? (void *)&cfg->metrics_tls_cert_file
                                               : (void *)&cfg->metrics_tls_key_file,
                    "metrics.tls: give both cert_file and key_file");
    warn_readable(c, cfg, &cfg->metrics_tls_key_file, "metrics.tls.key_file",
                  cfg->metrics_tls_key_file);
    check_listen(c, cfg);
    if ((cfg->metrics_username || cfg->metrics_tls_cert_file) && !cfg->metrics_listen)
        config_diag(c->errs, cfg,
                    cfg->metrics_username ? (void *)&cfg->metrics_username
                                          : (void *)&cfg->metrics_tls_cert_file,
                    "metrics: authentication and TLS need metrics.listen");
    if (cfg->spool_dir && cfg->spool_max_bytes < 2 * cfg->spool_segment_bytes)
        config_diag(c->errs, cfg, &cfg->spool_max_bytes,
                    "spool.max_bytes: must be at least twice spool.segment_bytes (%lld)",
                    cfg->spool_segment_bytes);
    if (cfg->spool_dir && cfg->spool_dir[0] != '/' && cfg->path) {
        const char *slash = strrchr(cfg->path, '/');
        if (slash) {
            size_t dl = (size_t)(slash - cfg->path);
            char *abs = malloc(dl + 1 + strlen(cfg->spool_dir) + 1);
            if (abs) {
                sprintf(abs, "%.*s/%s", (int)dl, cfg->path, cfg->spool_dir);
                free(cfg->spool_dir);
                cfg->spool_dir = abs;
            }
        }
    }
}

/* A payload: sparkplug_b command is a protobuf NCMD/DCMD: no content type
 * of ours, and never retained (Sparkplug 3.0, tck-id-payloads-ncmd-retain). */
static void check_sparkplug_command(chk_t *c, const config_t *cfg, const config_command_t *r)
{
    if (r->payload != CONFIG_CMD_PAYLOAD_SPARKPLUG_B)
        return;
    if (r->mqtt_content_type)
        config_diag(c->errs, cfg, &r->mqtt_content_type,
                    "command '%s': payload: sparkplug_b sends a Sparkplug B protobuf; remove "
                    "mqtt.content_type",
                    r->name);
    if (r->mqtt_retain)
        config_diag(c->errs, cfg, &r->mqtt_retain,
                    "command '%s': payload: sparkplug_b commands are never retained (Sparkplug "
                    "B NCMD/DCMD); remove mqtt.retain: true",
                    r->name);
}

/* The sparkplug: section belongs to payload: sparkplug_b routes, which
 * explode their metrics themselves. */
static void check_sparkplug(chk_t *c, const config_t *cfg, const config_route_t *r)
{
    if (r->payload != NORM_PAYLOAD_SPARKPLUG_B) {
        static const char *const keys[] = {"records", "status_topic", "properties",
                                           "unresolved", "rebirth"};
        const void *fields[] = {&r->spb_records, &r->spb_status_topic, &r->spb_properties,
                                &r->spb_unresolved, &r->spb_rebirth};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (config_pos(cfg, fields[i]).line)
                config_diag(c->errs, cfg, fields[i],
                            "route '%s': sparkplug.%s is for payload: sparkplug_b routes", r->name,
                            keys[i]);
        return;
    }
    if (r->explode)
        config_diag(c->errs, cfg, &r->explode,
                    "route '%s': a sparkplug_b route makes one record per metric itself "
                    "(sparkplug.records: per_metric); explode is not used",
                    r->name);
}

/* Route and command rule names, profiles, payload kinds. */
static void check_rules(chk_t *c, const config_t *cfg)
{
    if (cfg->routes_n == 0)
        config_diag(c->errs, cfg, &cfg->pos, /* not a value: names the file as a whole */
                    "no routes: add a routes: list here or mapping files with mappings:");
    for (size_t i = 0; i < cfg->routes_n; i++) {
        const config_route_t *r = &cfg->routes[i];
        for (size_t j = 0; j < i; j++) {
            if (r->name && cfg->routes[j].name && strcmp(r->name, cfg->routes[j].name) == 0) {
                config_pos_t p = config_pos(cfg, &cfg->routes[j].name);
                const diag_via_t *v = p.via; /* through an alias: where that route took it */
                while (v && v->outer)
                    v = v->outer;
                char at[512];
                config_diag(c->errs, cfg, &r->name, "route name '%s' is already used at %s%s%s",
                            r->name,
                            v ? diag_where(at, sizeof(at), v->file, v->line, v->col)
                              : diag_where(at, sizeof(at), p.file, p.line, p.col),
                            v ? " through alias *" : "", v ? v->alias : "");
            }
        }
        if (r->kafka_profile && !config_profile(cfg, r->kafka_profile, NULL))
            config_diag(c->errs, cfg, &r->kafka_profile,
                        "route '%s': kafka.profile '%s' is not hot, cold or one of kafka.profiles",
                        r->name, r->kafka_profile);
        if (r->payload == NORM_PAYLOAD_RAW && (r->fields_n || r->add_n || r->explode || r->ts_from))
            config_diag(c->errs, cfg, &r->payload,
                        "route '%s': payload: raw forwards bytes untouched; fields, add, explode "
                        "and timestamp need json, number or text",
                        r->name);
        check_sparkplug(c, cfg, r);
    }
    for (size_t i = 0; i < cfg->commands_n; i++) {
        for (size_t j = 0; j < i; j++)
            if (cfg->commands[i].name && cfg->commands[j].name &&
                strcmp(cfg->commands[i].name, cfg->commands[j].name) == 0)
                config_diag(c->errs, cfg, &cfg->commands[i].name,
                            "command rule name '%s' is used twice", cfg->commands[i].name);
        check_sparkplug_command(c, cfg, &cfg->commands[i]);
    }
}

void config_check(config_t *cfg, diag_t *errs, diag_t *warns)
{
    chk_t c = {errs, warns, kafka_features_builtin()};
    check_secrets(&c, cfg);
    check_kafka_auth(&c, cfg);
    check_endpoint_spool(&c, cfg);
    check_rules(&c, cfg);
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_kvs(const config_kv_t *a, size_t an, const config_kv_t *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (!same_str(a[i].key, b[i].key) || !same_str(a[i].value, b[i].value))
            return false;
    return true;
}

static bool same_command(const config_command_t *a, const config_command_t *b)
{
    if (!same_str(a->name, b->name) || !same_str(a->kafka_topic, b->kafka_topic) ||
        !same_str(a->kafka_group, b->kafka_group) ||
        !same_str(a->kafka_result_topic, b->kafka_result_topic) ||
        !same_str(a->mqtt_topic, b->mqtt_topic) || a->mqtt_qos != b->mqtt_qos ||
        a->mqtt_retain != b->mqtt_retain || a->mqtt_fields_n != b->mqtt_fields_n ||
        a->mqtt_expiry_s != b->mqtt_expiry_s ||
        !same_str(a->mqtt_content_type, b->mqtt_content_type) ||
        !same_kvs(a->mqtt_props, a->mqtt_props_n, b->mqtt_props, b->mqtt_props_n) ||
        a->max_age_s != b->max_age_s || a->payload != b->payload)
        return false;
    for (size_t i = 0; i < a->mqtt_fields_n; i++)
        if (!same_str(a->mqtt_fields[i], b->mqtt_fields[i]))
            return false;
    return true;
}

bool config_commands_equal(const config_t *a, const config_t *b)
{
    if (a->commands_n != b->commands_n)
        return false;
    for (size_t i = 0; i < a->commands_n; i++)
        if (!same_command(&a->commands[i], &b->commands[i]))
            return false;
    return true;
}
