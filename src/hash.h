// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The one string hash of the bridge: 32-bit FNV-1a, for the open-addressing
 * tables of the topic trie, the per-route metrics and the producers' topic
 * handles. Not for anything an attacker could aim collisions at beyond
 * slowing a probe: every table compares the key after the hash. */
#ifndef MKB_HASH_H
#define MKB_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* FNV-1a of the N bytes at P. */
static inline uint32_t hash_fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    return h;
}

/* FNV-1a of the NUL-terminated string S (without the NUL). */
static inline uint32_t hash_fnv1a_str(const char *s)
{
    return hash_fnv1a(s, strlen(s));
}

#endif
