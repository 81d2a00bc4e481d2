/* Sparkplug B: topics, datatypes, and payloads decoded into JSON (the
 * layout is spb.h's). The protobuf is read by protobuf-c's generated
 * code (build/gen/sparkplug_b.pb-c.c); this file only maps its structs. */
#include "sparkplug_b.pb-c.h"

#include "spb.h"

#include "err.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const type_names[] = {
    [SPB_NBIRTH] = "NBIRTH", [SPB_NDEATH] = "NDEATH", [SPB_DBIRTH] = "DBIRTH",
    [SPB_DDEATH] = "DDEATH", [SPB_NDATA] = "NDATA",   [SPB_DDATA] = "DDATA",
    [SPB_NCMD] = "NCMD",     [SPB_DCMD] = "DCMD",     [SPB_STATE] = "STATE",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

/* Indexed by the Sparkplug DataType enum (specification, section 6.4.16). */
static const char *const dt_names[] = {
    "Unknown",       "Int8",
    "Int16",         "Int32",
    "Int64",         "UInt8",
    "UInt16",        "UInt32",
    "UInt64",        "Float",
    "Double",        "Boolean",
    "String",        "DateTime",
    "Text",          "UUID",
    "DataSet",       "Bytes",
    "File",          "Template",
    "PropertySet",   "PropertySetList",
    "Int8Array",     "Int16Array",
    "Int32Array",    "Int64Array",
    "UInt8Array",    "UInt16Array",
    "UInt32Array",   "UInt64Array",
    "FloatArray",    "DoubleArray",
    "BooleanArray",  "StringArray",
    "DateTimeArray",
};
#define N_DT (sizeof(dt_names) / sizeof(dt_names[0]))

const char *spb_type_name(spb_type_t t)
{
    return (unsigned)t < N_TYPES ? type_names[t] : NULL;
}

const char *spb_datatype_name(uint32_t dt)
{
    return dt < N_DT ? dt_names[dt] : NULL;
}

int spb_datatype_of(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < N_DT; i++)
        if (strcmp(dt_names[i], name) == 0)
            return (int)i;
    return -1;
}

static void why_set(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t size, const char *fmt, ...)
{
    if (!why || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

/* The topic's levels ('/'-separated, at most MAX; more is reported as MAX+1). */
#define TOPIC_MAX_LEVELS 5
typedef struct {
    const char *p[TOPIC_MAX_LEVELS];
    size_t len[TOPIC_MAX_LEVELS];
    size_t n;
} levels_t;

static void split_levels(const char *topic, size_t len, levels_t *lv)
{
    size_t start = 0;
    lv->n = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && topic[i] != '/')
            continue;
        if (lv->n < TOPIC_MAX_LEVELS) {
            lv->p[lv->n] = topic + start;
            lv->len[lv->n] = i - start;
        }
        lv->n++;
        start = i + 1;
    }
}

static bool level_is(const levels_t *lv, size_t i, const char *s)
{
    return lv->len[i] == strlen(s) && memcmp(lv->p[i], s, lv->len[i]) == 0;
}

/* An identifier level: not empty, no wildcard (specification 4.1.1). */
static bool level_ok(const levels_t *lv, size_t i)
{
    return lv->len[i] > 0 && !memchr(lv->p[i], '+', lv->len[i]) &&
           !memchr(lv->p[i], '#', lv->len[i]);
}

static bool parse_state(const levels_t *lv, spb_topic_t *out, char *why, size_t why_size)
{
    if (lv->n != 3 || !level_ok(lv, 2)) {
        why_set(why, why_size, "a STATE topic is spBv1.0/STATE/<host id>");
        return false;
    }
    *out = (spb_topic_t){.type = SPB_STATE,
                         .group = lv->p[1],
                         .group_len = 0,
                         .node = lv->p[2],
                         .node_len = lv->len[2]};
    return true;
}

bool spb_topic_parse(const char *topic, size_t len, spb_topic_t *out, char *why, size_t why_size)
{
    levels_t lv;
    split_levels(topic, len, &lv);
    if (lv.n < 3 || !level_is(&lv, 0, "spBv1.0")) {
        why_set(why, why_size, "not a Sparkplug B topic (spBv1.0/<group>/<type>/<edge node>...)");
        return false;
    }
    if (level_is(&lv, 1, "STATE"))
        return parse_state(&lv, out, why, why_size);
    size_t t = 0;
    while (t < SPB_STATE && !level_is(&lv, 2, type_names[t]))
        t++;
    if (t == SPB_STATE) {
        why_set(why, why_size, "'%.*s' is not a Sparkplug B message type", (int)lv.len[2], lv.p[2]);
        return false;
    }
    bool device = t == SPB_DBIRTH || t == SPB_DDEATH || t == SPB_DDATA || t == SPB_DCMD;
    if (lv.n != (device ? 5u : 4u)) {
        why_set(why, why_size, "a %s topic is spBv1.0/<group>/%s/<edge node>%s", type_names[t],
                type_names[t], device ? "/<device>" : "");
        return false;
    }
    if (!level_ok(&lv, 1) || !level_ok(&lv, 3) || (device && !level_ok(&lv, 4))) {
        why_set(why, why_size, "empty or wildcard group, edge node or device in a Sparkplug topic");
        return false;
    }
    *out = (spb_topic_t){.type = (spb_type_t)t,
                         .group = lv.p[1],
                         .group_len = lv.len[1],
                         .node = lv.p[3],
                         .node_len = lv.len[3]};
    if (device) {
        out->device = lv.p[4];
        out->device_len = lv.len[4];
    }
    return true;
}
