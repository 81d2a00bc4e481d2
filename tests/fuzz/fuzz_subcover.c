// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target, differential: the subscription cover against the trie.
 * Input: lines "Q filter" (Q a QoS digit). For the valid filters, the cover
 * must hold each of them in one filter at the highest QoS under it, and a
 * topic made from any filter ('+' -> a level, '#' -> none or two levels)
 * that the trie matches to a route filter must match exactly one cover
 * filter. */
#include "subcover.h"
#include "trie.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 12

/* An MQTT filter: '+' and '#' only as whole levels, '#' last. */
static bool valid(const char *f)
{
    for (const char *l = f;;) {
        const char *slash = strchr(l, '/');
        size_t n = slash ? (size_t)(slash - l) : strlen(l);
        bool wild = memchr(l, '+', n) || memchr(l, '#', n);
        if (wild && (n != 1 || (l[0] == '#' && slash)))
            return false;
        if (!slash)
            return true;
        l = slash + 1;
    }
}

/* Topics from FILTER: each '+' -> V, a '#' -> nothing (the parent) or V/V. */
static void topics_of(const char *filter, const char *v, char out[3][512], size_t *n)
{
    *n = 0;
    for (int hash_mode = 0; hash_mode < 2; hash_mode++) {
        char *t = out[*n];
        size_t len = 0;
        for (const char *p = filter; *p && len < 500; p++) {
            if (*p == '+' || *p == '#') {
                if (*p == '#' && hash_mode == 0) {
                    if (len > 0 && t[len - 1] == '/')
                        len--; /* "a/#" matches "a" */
                    break;
                }
                len += (size_t)snprintf(t + len, 512 - len, *p == '#' ? "%s/%s" : "%s", v, v);
            } else {
                t[len++] = *p;
            }
        }
        t[len < 511 ? len : 511] = '\0';
        (*n)++;
    }
}

static size_t match_count(const trie_t *t, const char *topic)
{
    uint32_t ids[TRIE_MAX_MATCHES];
    bool trunc;
    return trie_match(t, topic, strlen(topic), ids, &trunc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *filters[MAX_FILTERS];
    int qos[MAX_FILTERS];
    size_t nf = 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && nf < MAX_FILTERS;
         line = strtok_r(NULL, "\n", &save))
        if (line[0] >= '0' && line[0] <= '2' && line[1] == ' ' && line[2] && strlen(line) < 200 &&
            valid(line + 2)) {
            qos[nf] = line[0] - '0';
            filters[nf++] = line + 2;
        }
    subcover_t *c = subcover_new();
    trie_t *routes = trie_new(), *cover = trie_new();
    for (size_t i = 0; i < nf; i++)
        if (subcover_add(c, filters[i], qos[i]) || trie_insert(routes, filters[i], (uint32_t)i))
            abort();
    for (size_t k = 0; k < subcover_count(c); k++) {
        if (trie_insert(cover, subcover_filter(c, k), (uint32_t)k))
            abort();
        int want = -1;
        for (size_t i = 0; i < nf; i++)
            if (subcover_contains(subcover_filter(c, k), filters[i]) && qos[i] > want)
                want = qos[i];
        if (want != subcover_qos(c, k)) {
            fprintf(stderr, "cover filter '%s' at QoS %d, want %d\n", subcover_filter(c, k),
                    subcover_qos(c, k), want);
            abort();
        }
    }
    static const char *const fill[] = {"x", "$x", ""};
    for (size_t i = 0; i < nf; i++)
        for (size_t v = 0; v < 3; v++) {
            char t[3][512];
            size_t nt;
            topics_of(filters[i], fill[v], t, &nt);
            for (size_t j = 0; j < nt; j++) {
                size_t nr = match_count(routes, t[j]), nc = match_count(cover, t[j]);
                if (nc > 1 || (nr > 0 && nc != 1)) {
                    fprintf(stderr, "topic '%s': %zu route filters, %zu cover filters\n", t[j], nr,
                            nc);
                    abort();
                }
            }
        }
    subcover_destroy(c);
    trie_destroy(routes);
    trie_destroy(cover);
    free(text);
    return 0;
}
