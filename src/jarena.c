// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "jarena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define HEADER 16 /* keeps the 16-byte alignment malloc gives */
#define ARENA_TAG 0x41524e41u
#define HEAP_TAG 0x48454150u
#define CHUNK ((size_t)256 * 1024)

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    _Alignas(16) char data[];
} chunk_t;

static bool installed;
static pthread_key_t chunk_key; /* frees a thread's arena when the thread exits */
static _Thread_local bool active;
static _Thread_local chunk_t *head; /* the chunk allocated from */
static _Thread_local chunk_t *spare; /* chunks filled earlier in this message */

static void *with_tag(char *p, uint32_t tag)
{
    *(uint32_t *)p = tag;
    return p + HEADER;
}

static void *arena_malloc(size_t n)
{
    size_t need = (n + HEADER + 15) & ~(size_t)15;
    if (active) {
        if (!head || head->used + need > head->cap) {
            size_t cap = need > CHUNK ? need : CHUNK;
            chunk_t *c = malloc(sizeof(chunk_t) + cap);
            if (!c)
                return NULL;
            c->cap = cap;
            c->used = 0;
            c->next = NULL;
            if (head) { /* keep it until jarena_end: its memory is in use */
                head->next = spare;
                spare = head;
            }
            head = c;
            pthread_setspecific(chunk_key, head);
        }
        char *p = head->data + head->used;
        head->used += need;
        return with_tag(p, ARENA_TAG);
    }
    char *p = malloc(n + HEADER);
    return p ? with_tag(p, HEAP_TAG) : NULL;
}

static void arena_free(void *ptr)
{
    if (!ptr)
        return;
    char *p = (char *)ptr - HEADER;
    if (*(uint32_t *)p == HEAP_TAG)
        free(p);
    /* ARENA_TAG: reclaimed as a whole by jarena_end */
}

static void release_thread_chunk(void *chunk) { free(chunk); }

void jarena_install(void)
{
#ifdef __SANITIZE_ADDRESS__
    /* Under ASan every allocation stays a malloc, so a jansson value used
     * after its message would still be caught. */
    return;
#endif
    if (pthread_key_create(&chunk_key, release_thread_chunk) != 0)
        return; /* no arena then: jansson keeps using malloc */
    json_set_alloc_funcs(arena_malloc, arena_free);
    installed = true;
}

void jarena_begin(void)
{
    if (installed)
        active = true;
}

void jarena_end(void)
{
    if (!installed)
        return;
    active = false;
    /* Keep the largest chunk for the next message, free the others. */
    while (spare) {
        chunk_t *c = spare;
        spare = c->next;
        if (head && c->cap > head->cap) {
            chunk_t *t = head;
            head = c;
            c = t;
        }
        free(c);
    }
    if (head) {
        head->used = 0;
        pthread_setspecific(chunk_key, head);
    }
}
