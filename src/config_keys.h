// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The table of configuration keys (private to config*.c): for every key its
 * name, type, where it is stored, limits, default and description. The
 * loader (config.c) applies YAML through it, --help-config and
 * docs/CONFIGURATION.md print it. */
#ifndef MKB_CONFIG_KEYS_H
#define MKB_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CT_STR,
    CT_INT,
    CT_DOUBLE,
    CT_BOOL,
    CT_ENUM,    /* an int (an enum) from `choices` */
    CT_CHOICE,  /* a string, one of `choices` (passed on to librdkafka as it is) */
    CT_CONV,    /* const norm_conversion_t *: one of norm_conversions */
    CT_SCALAR,  /* config_scalar_t: text + quoted */
    CT_SECTION, /* nested keys of the same struct */
    CT_STRMAP,  /* config_kv_t array */
    CT_LIST,    /* list of sections; appends (mapping files add routes) */
    CT_NAMED,   /* mapping name -> section; item's first member is the name */
    CT_STRLIST, /* list of strings (a single string is a list of one) */
    CT_SCALARLIST, /* list of config_scalar_t (a list only) */
} ctype_t;

typedef struct section section_t;

typedef struct {
    const char *name;
    int value;
} choice_t;

typedef struct {
    const char *name;
    ctype_t type;
    size_t off;       /* offset of the field from the section's base */
    size_t count_off; /* CT_LIST, CT_NAMED, CT_STRMAP, CT_*LIST: the size_t count */
    long long min, max;
    const char *def; /* default as YAML text; NULL: none */
    bool required;
    const choice_t *choices; /* CT_ENUM, CT_CHOICE: ends with a NULL name */
    const section_t *sub;    /* CT_SECTION, CT_LIST and CT_NAMED items */
    bool off_when_absent;    /* CT_SECTION: absent means off, no defaults applied */
    const char *desc;
} ckey_t;

struct section {
    const ckey_t *keys;
    size_t nkeys;
    size_t item_size; /* for list items */
};

/* Every key of bridge.yaml; and of a mapping file (routes and commands). */
extern const section_t config_top_section;
extern const section_t config_mapping_section;

/* The names K accepts (CT_ENUM, CT_CHOICE, CT_CONV) into NAMES; their count. */
size_t config_key_choices(const ckey_t *k, const char **names, size_t max);

/* Those names joined by SEP into OUT. */
void config_key_join_choices(char *out, size_t size, const ckey_t *k, const char *sep);

#endif
