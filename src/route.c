#include "route.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct route {
    char *name;
    char *filter;
    char *kafka_topic;
    int qos;
    size_t index;
};

struct route_table {
    route_t *routes;
    size_t n;
};

bool route_filter_valid(const char *filter, char *why, size_t why_size)
{
    size_t n = strlen(filter);
    if (n == 0) {
        snprintf(why, why_size, "empty filter");
        return false;
    }
    if (n > 65535) {
        snprintf(why, why_size, "longer than 65535 bytes");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool level_start = i == 0 || filter[i - 1] == '/';
        bool level_end = i + 1 == n || filter[i + 1] == '/';
        if (filter[i] == '+' && !(level_start && level_end)) {
            snprintf(why, why_size, "'+' must fill a whole level (column %zu)", i + 1);
            return false;
        }
        if (filter[i] == '#' && !(level_start && i + 1 == n)) {
            snprintf(why, why_size, "'#' must be the whole last level (column %zu)", i + 1);
            return false;
        }
    }
    return true;
}

bool route_topic_matches(const char *filter, const char *topic, size_t topic_len)
{
    const char *f = filter;
    size_t t = 0;
    if (topic_len > 0 && topic[0] == '$' && (f[0] == '+' || f[0] == '#'))
        return false;
    for (;;) {
        if (f[0] == '#')
            return true; /* matches the rest, also the parent level ("a/#" ~ "a") */
        /* Length of the current filter level and topic level. */
        const char *fend = strchr(f, '/');
        size_t flen = fend ? (size_t)(fend - f) : strlen(f);
        const char *tp = topic + t;
        const char *tend = memchr(tp, '/', topic_len - t);
        size_t tlen = tend ? (size_t)(tend - tp) : topic_len - t;
        if (!(flen == 1 && f[0] == '+') && (flen != tlen || memcmp(f, tp, flen) != 0))
            return false;
        if (!fend && !tend)
            return true;
        if (!tend) /* topic ended; only "/#" may follow in the filter */
            return fend && strcmp(fend, "/#") == 0;
        if (!fend)
            return false;
        f = fend + 1;
        t = (size_t)(tend - topic) + 1;
    }
}

int route_table_new(const config_route_t *routes, size_t n, route_table_t **out, char *errstr,
                    size_t errstr_size)
{
    route_table_t *t = calloc(1, sizeof(*t));
    if (!t)
        goto nomem;
    t->routes = calloc(n ? n : 1, sizeof(*t->routes));
    if (!t->routes)
        goto free_table;
    for (size_t i = 0; i < n; i++) {
        route_t *r = &t->routes[i];
        t->n++;
        if (!route_filter_valid(routes[i].mqtt_filter, errstr, errstr_size)) {
            route_table_destroy(t);
            return MKB_ERR_CONFIG;
        }
        r->name = strdup(routes[i].name);
        r->filter = strdup(routes[i].mqtt_filter);
        r->kafka_topic = strdup(routes[i].kafka_topic);
        r->qos = (int)routes[i].mqtt_qos;
        r->index = i;
        if (!r->name || !r->filter || !r->kafka_topic)
            goto free_table;
    }
    *out = t;
    return MKB_OK;

free_table:
    route_table_destroy(t);
nomem:
    snprintf(errstr, errstr_size, "out of memory");
    return MKB_ERR_NOMEM;
}

void route_table_destroy(route_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->routes[i].name);
        free(t->routes[i].filter);
        free(t->routes[i].kafka_topic);
    }
    free(t->routes);
    free(t);
}

const route_t *route_table_match(const route_table_t *t, const char *topic, size_t topic_len)
{
    for (size_t i = 0; i < t->n; i++)
        if (route_topic_matches(t->routes[i].filter, topic, topic_len))
            return &t->routes[i];
    return NULL;
}

size_t route_table_count(const route_table_t *t) { return t->n; }
const route_t *route_table_get(const route_table_t *t, size_t i)
{
    return i < t->n ? &t->routes[i] : NULL;
}
const char *route_name(const route_t *r) { return r->name; }
const char *route_filter(const route_t *r) { return r->filter; }
const char *route_kafka_topic(const route_t *r) { return r->kafka_topic; }
int route_qos(const route_t *r) { return r->qos; }
size_t route_index(const route_t *r) { return r->index; }
