#include "config.h"

#include "err.h"
#include "route.h"
#include "ytree.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the key table ---------------------------------------------------- */

typedef enum { CT_STR, CT_INT, CT_BOOL, CT_ENUM, CT_SECTION, CT_STRMAP, CT_LIST } ctype_t;

typedef struct section section_t;

typedef struct {
    const char *name;
    ctype_t type;
    size_t off;       /* offset of the field from the section's base */
    size_t count_off; /* CT_LIST, CT_STRMAP: offset of the size_t count */
    long long min, max;
    const char *def; /* default as YAML text; NULL: none */
    bool required;
    const char *const *choices; /* CT_ENUM, NULL-terminated */
    const section_t *sub;       /* CT_SECTION, CT_LIST items */
    const char *desc;
} ckey_t;

struct section {
    const ckey_t *keys;
    size_t nkeys;
    size_t item_size; /* for list items */
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define C_OFF(f) offsetof(config_t, f)
#define R_OFF(f) offsetof(config_route_t, f)

static const char *const mqtt_versions[] = {"3.1.1", "5", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

static const ckey_t mqtt_keys[] = {
    {"uri", CT_STR, C_OFF(mqtt_uri), 0, 0, 0, NULL, true, NULL, NULL,
     "Broker address: tcp://host:port (ssl:// comes with TLS support)."},
    {"client_id", CT_STR, C_OFF(mqtt_client_id), 0, 0, 0, "mqtt-kafka-bridge", false, NULL, NULL,
     "Stable MQTT client id; the broker keeps the persistent session under it."},
    {"version", CT_ENUM, C_OFF(mqtt_version), 0, 0, 0, "5", false, mqtt_versions, NULL,
     "MQTT protocol version: 3.1.1 or 5."},
    {"clean_start", CT_BOOL, C_OFF(mqtt_clean_start), 0, 0, 0, "false", false, NULL, NULL,
     "Start a new session on connect. false keeps the broker's persistent session, so "
     "QoS 1/2 messages queued while the bridge was away are delivered."},
    {"keepalive_s", CT_INT, C_OFF(mqtt_keepalive_s), 0, 5, 3600, "30", false, NULL, NULL,
     "MQTT keepalive interval in seconds."},
    {"session_expiry_s", CT_INT, C_OFF(mqtt_session_expiry_s), 0, 0, 4294967295LL, "4294967295",
     false, NULL, NULL,
     "MQTT 5 only: how long the broker keeps the session after a disconnect "
     "(4294967295 = never expires)."},
};
static const section_t mqtt_section = {mqtt_keys, NKEYS(mqtt_keys), 0};

static const ckey_t kafka_keys[] = {
    {"bootstrap", CT_STR, C_OFF(kafka_bootstrap), 0, 0, 0, NULL, true, NULL, NULL,
     "Kafka bootstrap servers, host:port[,host:port...]."},
    {"properties", CT_STRMAP, C_OFF(kafka_properties), C_OFF(kafka_properties_n), 0, 0, NULL, false,
     NULL, NULL,
     "librdkafka producer properties, passed as is (a bad one fails start-up with "
     "librdkafka's message). Defaults set by the bridge: enable.idempotence=true, acks=all."},
    {"flush_timeout_ms", CT_INT, C_OFF(kafka_flush_timeout_ms), 0, 0, 3600000, "30000", false,
     NULL, NULL, "At shutdown, how long to wait for outstanding deliveries."},
    {"queue_wait_ms", CT_INT, C_OFF(kafka_queue_wait_ms), 0, 0, 600000, "10000", false, NULL,
     NULL,
     "When the producer queue is full, how long the MQTT callback waits for room before "
     "logging a warning and waiting again (the message is never dropped)."},
};
static const section_t kafka_section = {kafka_keys, NKEYS(kafka_keys), 0};

static const ckey_t route_mqtt_keys[] = {
    {"filter", CT_STR, R_OFF(mqtt_filter), 0, 0, 0, NULL, true, NULL, NULL,
     "MQTT topic filter to subscribe to; + and # wildcards allowed."},
    {"qos", CT_INT, R_OFF(mqtt_qos), 0, 0, 2, "1", false, NULL, NULL,
     "Subscription QoS: 0, 1 or 2."},
};
static const section_t route_mqtt_section = {route_mqtt_keys, NKEYS(route_mqtt_keys), 0};

static const ckey_t route_kafka_keys[] = {
    {"topic", CT_STR, R_OFF(kafka_topic), 0, 0, 0, NULL, true, NULL, NULL,
     "Kafka topic the messages go to. The record key is the MQTT topic."},
};
static const section_t route_kafka_section = {route_kafka_keys, NKEYS(route_kafka_keys), 0};

static const ckey_t route_keys[] = {
    {"name", CT_STR, R_OFF(name), 0, 0, 0, NULL, true, NULL, NULL,
     "Unique name of the route (used in logs and metrics)."},
    {"mqtt", CT_SECTION, 0, 0, 0, 0, NULL, true, NULL, &route_mqtt_section,
     "Where the messages come from."},
    {"kafka", CT_SECTION, 0, 0, 0, 0, NULL, true, NULL, &route_kafka_section,
     "Where the messages go."},
};
static const section_t route_section = {route_keys, NKEYS(route_keys), sizeof(config_route_t)};

static const ckey_t top_keys[] = {
    {"mqtt", CT_SECTION, 0, 0, 0, 0, NULL, true, NULL, &mqtt_section, "MQTT broker connection."},
    {"kafka", CT_SECTION, 0, 0, 0, 0, NULL, true, NULL, &kafka_section, "Kafka producer."},
    {"routes", CT_LIST, C_OFF(routes), C_OFF(routes_n), 0, 0, NULL, true, NULL, &route_section,
     "Rules from an MQTT topic filter to a Kafka topic. A message goes to the first route "
     "(in file order) whose filter matches its topic."},
    {"log_level", CT_ENUM, C_OFF(log_level), 0, 0, 0, "info", false, log_levels, NULL,
     "Most verbose log level printed: error, warn, info or debug (-l overrides)."},
};
static const section_t top_section = {top_keys, NKEYS(top_keys), sizeof(config_t)};

/* ---- error collection --------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    int count;
    bool nomem;
} errlist_t;

__attribute__((format(printf, 3, 4))) static void err_add(errlist_t *e, const ynode_t *at,
                                                           const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char line[1400];
    int n = at ? snprintf(line, sizeof(line), "%s:%d:%d: error: %s\n", ynode_file(at),
                          ynode_line(at), ynode_col(at), msg)
               : snprintf(line, sizeof(line), "error: %s\n", msg);
    if (n < 0)
        return;
    size_t need = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (e->len + need + 1 > e->cap) {
        size_t cap = (e->len + need + 1) * 2;
        char *b = realloc(e->buf, cap);
        if (!b) {
            e->nomem = true;
            return;
        }
        e->buf = b;
        e->cap = cap;
    }
    memcpy(e->buf + e->len, line, need);
    e->len += need;
    e->buf[e->len] = '\0';
    e->count++;
}

/* ---- helpers ----------------------------------------------------------- */

size_t config_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

/* The nearest of NAMES to WORD when it is close enough to be a typo. */
static const char *nearest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = config_edit_distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    size_t wl = strlen(word);
    size_t limit = wl <= 4 ? 1 : (wl <= 8 ? 2 : 3);
    return best_d <= limit ? best : NULL;
}

static const char *suggest_key(const section_t *sec, const char *word)
{
    const char *names[32];
    size_t n = 0;
    for (size_t i = 0; i < sec->nkeys && n < NKEYS(names); i++)
        names[n++] = sec->keys[i].name;
    return nearest(word, names, n);
}

static void *field(void *base, size_t off) { return (char *)base + off; }

static const char *type_name(ctype_t t)
{
    switch (t) {
    case CT_STR: return "string";
    case CT_INT: return "integer";
    case CT_BOOL: return "boolean";
    case CT_ENUM: return "one of";
    case CT_SECTION: return "mapping";
    case CT_STRMAP: return "mapping of strings";
    case CT_LIST: return "list";
    }
    return "?";
}

/* ---- applying the tree to the struct ------------------------------------ */

typedef struct {
    errlist_t errs;
} ctx_t;

static void apply_section(ctx_t *c, const section_t *sec, const ynode_t *node, void *base,
                          const char *path, const ynode_t *parent_at);

static bool scalar_or_err(ctx_t *c, const ynode_t *v, const char *path)
{
    if (ynode_type(v) == YNODE_SCALAR)
        return true;
    err_add(&c->errs, v, "%s: expected a single value, found %s", path,
            ynode_type_name(ynode_type(v)));
    return false;
}

static int set_scalar(ctx_t *c, const ckey_t *k, const ynode_t *v, const char *text, void *base,
                      const char *path)
{
    switch (k->type) {
    case CT_STR:
    case CT_ENUM: {
        if (k->type == CT_ENUM) {
            bool ok = false;
            for (size_t i = 0; k->choices[i]; i++)
                ok = ok || strcmp(text, k->choices[i]) == 0;
            if (!ok) {
                char list[256] = "";
                size_t n = 0;
                for (size_t i = 0; k->choices[i]; i++)
                    n++;
                for (size_t i = 0; k->choices[i]; i++) {
                    strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
                    strncat(list, k->choices[i], sizeof(list) - strlen(list) - 1);
                }
                const char *near = nearest(text, k->choices, n);
                err_add(&c->errs, v, "%s: '%s' is not valid; expected one of: %s%s%s%s", path,
                        text, list, near ? " (did you mean '" : "", near ? near : "",
                        near ? "'?)" : "");
                return MKB_ERR_CONFIG;
            }
        }
        char **dst = field(base, k->off);
        free(*dst);
        *dst = strdup(text);
        return *dst ? MKB_OK : MKB_ERR_NOMEM;
    }
    case CT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (errno || end == text || *end != '\0') {
            err_add(&c->errs, v, "%s: expected an integer, found '%s'", path, text);
            return MKB_ERR_CONFIG;
        }
        if (x < k->min || x > k->max) {
            err_add(&c->errs, v, "%s: %lld is out of range [%lld, %lld]", path, x, k->min,
                    k->max);
            return MKB_ERR_CONFIG;
        }
        *(long long *)field(base, k->off) = x; /* every CT_INT field is a long long */
        return MKB_OK;
    }
    case CT_BOOL: {
        static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(text, t[i]) == 0 || strcasecmp(text, f[i]) == 0) {
                *(bool *)field(base, k->off) = strcasecmp(text, t[i]) == 0;
                return MKB_OK;
            }
        }
        err_add(&c->errs, v, "%s: expected true or false, found '%s'", path, text);
        return MKB_ERR_CONFIG;
    }
    default:
        return MKB_ERR_INVAL;
    }
}

static void apply_strmap(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base,
                         const char *path)
{
    if (ynode_type(v) != YNODE_MAP) {
        err_add(&c->errs, v, "%s: expected a mapping of name: value, found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    size_t n = ynode_len(v);
    config_kv_t *kv = calloc(n ? n : 1, sizeof(*kv));
    if (!kv) {
        c->errs.nomem = true;
        return;
    }
    *(config_kv_t **)field(base, k->off) = kv;
    size_t *count = field(base, k->count_off);
    for (size_t i = 0; i < n; i++) {
        const ynode_t *key = ynode_map_key(v, i), *val = ynode_map_value(v, i);
        if (!scalar_or_err(c, key, path) || !scalar_or_err(c, val, path))
            continue;
        kv[*count].key = strdup(ynode_scalar(key));
        kv[*count].value = strdup(ynode_scalar(val));
        (*count)++;
        if (!kv[*count - 1].key || !kv[*count - 1].value)
            c->errs.nomem = true;
    }
}

static void apply_list(ctx_t *c, const ckey_t *k, const ynode_t *v, void *base, const char *path)
{
    if (ynode_type(v) != YNODE_SEQ) {
        err_add(&c->errs, v, "%s: expected a list (items starting with '- '), found %s", path,
                ynode_type_name(ynode_type(v)));
        return;
    }
    size_t n = ynode_len(v);
    char *items = calloc(n ? n : 1, k->sub->item_size);
    if (!items) {
        c->errs.nomem = true;
        return;
    }
    *(void **)field(base, k->off) = items;
    *(size_t *)field(base, k->count_off) = n;
    for (size_t i = 0; i < n; i++) {
        char p[256];
        if (snprintf(p, sizeof(p), "%s[%zu]", path, i) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0'; /* key paths are short; truncation only shortens a message */
        apply_section(c, k->sub, ynode_seq_item(v, i), items + i * k->sub->item_size, p, v);
    }
}

static void apply_default(ctx_t *c, const ckey_t *k, void *base, const char *path)
{
    if (k->def && set_scalar(c, k, NULL, k->def, base, path) == MKB_ERR_NOMEM)
        c->errs.nomem = true;
}

/* Applies map NODE (NULL: section absent) to BASE through SEC. */
static void apply_section(ctx_t *c, const section_t *sec, const ynode_t *node, void *base,
                          const char *path, const ynode_t *parent_at)
{
    if (node && ynode_type(node) != YNODE_MAP) {
        err_add(&c->errs, node, "%s: expected a mapping (key: value lines), found %s",
                path[0] ? path : "top level", ynode_type_name(ynode_type(node)));
        return;
    }
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        char p[256];
        if (snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", k->name) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        const ynode_t *v = NULL;
        size_t seen = 0;
        for (size_t j = 0; node && j < ynode_len(node); j++) {
            const ynode_t *key = ynode_map_key(node, j);
            if (ynode_type(key) == YNODE_SCALAR && strcmp(ynode_scalar(key), k->name) == 0) {
                if (seen++)
                    err_add(&c->errs, key, "%s: key given twice", p);
                v = ynode_map_value(node, j);
            }
        }
        if (!v || (ynode_type(v) == YNODE_SCALAR && !ynode_scalar_quoted(v) &&
                   ynode_scalar_len(v) == 0 && k->type != CT_STR)) {
            if (k->type == CT_SECTION) {
                if (k->required && !v)
                    err_add(&c->errs, node ? node : parent_at, "%s: required section missing", p);
                apply_section(c, k->sub, NULL, base, p, node ? node : parent_at);
            } else if (k->required) {
                err_add(&c->errs, node ? node : parent_at, "%s: required key missing (%s)", p,
                        k->desc);
            } else {
                apply_default(c, k, base, p);
            }
            continue;
        }
        switch (k->type) {
        case CT_SECTION:
            apply_section(c, k->sub, v, base, p, v);
            break;
        case CT_STRMAP:
            apply_strmap(c, k, v, base, p);
            break;
        case CT_LIST:
            apply_list(c, k, v, base, p);
            break;
        default:
            if (scalar_or_err(c, v, p)) {
                if (k->type == CT_STR && ynode_scalar_len(v) == 0 && k->required)
                    err_add(&c->errs, v, "%s: must not be empty", p);
                else if (set_scalar(c, k, v, ynode_scalar(v), base, p) == MKB_ERR_NOMEM)
                    c->errs.nomem = true;
            } else {
                apply_default(c, k, base, p);
            }
        }
    }
    /* Unknown keys. */
    for (size_t j = 0; node && j < ynode_len(node); j++) {
        const ynode_t *key = ynode_map_key(node, j);
        if (ynode_type(key) != YNODE_SCALAR) {
            err_add(&c->errs, key, "%s: keys must be plain names", path[0] ? path : "top level");
            continue;
        }
        bool known = false;
        for (size_t i = 0; i < sec->nkeys && !known; i++)
            known = strcmp(ynode_scalar(key), sec->keys[i].name) == 0;
        if (known)
            continue;
        const char *near = suggest_key(sec, ynode_scalar(key));
        char valid[512] = "";
        for (size_t i = 0; i < sec->nkeys; i++) {
            strncat(valid, i ? ", " : "", sizeof(valid) - strlen(valid) - 1);
            strncat(valid, sec->keys[i].name, sizeof(valid) - strlen(valid) - 1);
        }
        if (near)
            err_add(&c->errs, key, "unknown key '%s%s%s'; did you mean '%s'?", path,
                    path[0] ? "." : "", ynode_scalar(key), near);
        else
            err_add(&c->errs, key, "unknown key '%s%s%s'; expected one of: %s", path,
                    path[0] ? "." : "", ynode_scalar(key), valid);
    }
}

/* ---- finalize: checks across fields ------------------------------------ */

static bool kafka_topic_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static void finalize(ctx_t *c, config_t *cfg, const ynode_t *root)
{
    const ynode_t *routes = root ? ynode_map_get(root, "routes") : NULL;
    if (routes && ynode_type(routes) == YNODE_SEQ && cfg->routes_n == 0)
        err_add(&c->errs, routes, "routes: at least one route is needed");
    for (size_t i = 0; i < cfg->routes_n; i++) {
        config_route_t *r = &cfg->routes[i];
        const ynode_t *at = routes ? ynode_seq_item(routes, i) : root;
        char why[256];
        if (r->mqtt_filter && !route_filter_valid(r->mqtt_filter, why, sizeof(why)))
            err_add(&c->errs, at, "routes[%zu].mqtt.filter: '%s' is not a valid MQTT filter: %s",
                    i, r->mqtt_filter, why);
        if (r->kafka_topic && !kafka_topic_valid(r->kafka_topic))
            err_add(&c->errs, at,
                    "routes[%zu].kafka.topic: '%s' is not a valid Kafka topic name "
                    "(1-249 characters of a-z A-Z 0-9 . _ -)",
                    i, r->kafka_topic);
        for (size_t j = 0; j < i; j++) {
            if (r->name && cfg->routes[j].name && strcmp(r->name, cfg->routes[j].name) == 0)
                err_add(&c->errs, at, "routes[%zu].name: '%s' is already the name of routes[%zu]",
                        i, r->name, j);
        }
    }
}

/* ---- public ------------------------------------------------------------ */

static int load_tree(ytree_t *tree, config_t **out, char **errors)
{
    ctx_t c = {{0}};
    config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return MKB_ERR_NOMEM;
    const ynode_t *root = ytree_root(tree);
    if (!root)
        err_add(&c.errs, NULL, "the configuration is empty");
    apply_section(&c, &top_section, root, cfg, "", root);
    if (c.errs.count == 0)
        finalize(&c, cfg, root);
    if (c.errs.nomem) {
        free(c.errs.buf);
        config_destroy(cfg);
        return MKB_ERR_NOMEM;
    }
    if (c.errs.count) {
        *errors = c.errs.buf;
        config_destroy(cfg);
        return MKB_ERR_CONFIG;
    }
    free(c.errs.buf);
    *out = cfg;
    return MKB_OK;
}

static int load(const char *name, const char *text, config_t **out, char **errors)
{
    char err[1024];
    ytree_t *tree = NULL;
    *errors = NULL;
    int rc = text ? ytree_load_string(name, text, strlen(text), &tree, err, sizeof(err))
                  : ytree_load_file(name, &tree, err, sizeof(err));
    if (rc != MKB_OK) {
        size_t n = strlen(err) + 16;
        *errors = malloc(n);
        if (*errors)
            snprintf(*errors, n, "%s\n", err);
        return rc;
    }
    rc = load_tree(tree, out, errors);
    ytree_destroy(tree);
    return rc;
}

int config_load(const char *path, config_t **out, char **errors)
{
    return load(path, NULL, out, errors);
}

int config_load_string(const char *name, const char *text, config_t **out, char **errors)
{
    return load(name, text, out, errors);
}

static void free_section(const section_t *sec, void *base)
{
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        switch (k->type) {
        case CT_STR:
        case CT_ENUM:
            free(*(char **)field(base, k->off));
            break;
        case CT_SECTION:
            free_section(k->sub, base);
            break;
        case CT_STRMAP: {
            config_kv_t *kv = *(config_kv_t **)field(base, k->off);
            size_t n = *(size_t *)field(base, k->count_off);
            for (size_t j = 0; j < n; j++) {
                free(kv[j].key);
                free(kv[j].value);
            }
            free(kv);
            break;
        }
        case CT_LIST: {
            char *items = *(char **)field(base, k->off);
            size_t n = *(size_t *)field(base, k->count_off);
            for (size_t j = 0; j < n; j++)
                free_section(k->sub, items + j * k->sub->item_size);
            free(items);
            break;
        }
        default:
            break;
        }
    }
}

void config_destroy(config_t *cfg)
{
    if (!cfg)
        return;
    free_section(&top_section, cfg);
    free(cfg);
}

static void print_section(FILE *out, const section_t *sec, const char *path)
{
    for (size_t i = 0; i < sec->nkeys; i++) {
        const ckey_t *k = &sec->keys[i];
        char p[256];
        if (snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", k->name) >= (int)sizeof(p))
            p[sizeof(p) - 1] = '\0';
        if (k->type == CT_LIST) {
            char lp[256];
            if (snprintf(lp, sizeof(lp), "%s[]", p) >= (int)sizeof(lp))
                lp[sizeof(lp) - 1] = '\0';
            fprintf(out, "%-28s %-18s %s%s\n", p, "list", k->required ? "(required) " : "",
                    k->desc);
            print_section(out, k->sub, lp);
            continue;
        }
        char type[128];
        if (k->type == CT_ENUM) {
            snprintf(type, sizeof(type), "%s", "");
            for (size_t j = 0; k->choices[j]; j++) {
                strncat(type, j ? "|" : "", sizeof(type) - strlen(type) - 1);
                strncat(type, k->choices[j], sizeof(type) - strlen(type) - 1);
            }
        } else if (k->type == CT_INT) {
            snprintf(type, sizeof(type), "integer %lld..%lld", k->min, k->max);
        } else {
            snprintf(type, sizeof(type), "%s", type_name(k->type));
        }
        fprintf(out, "%-28s %-18s %s%s%s%s\n", p, type, k->required ? "(required) " : "",
                k->def ? "[default: " : "", k->def ? k->def : "", k->def ? "] " : "");
        fprintf(out, "%-28s   %s\n", "", k->desc);
        if (k->type == CT_SECTION)
            print_section(out, k->sub, p);
    }
}

void config_print_keys(FILE *out) { print_section(out, &top_section, ""); }
