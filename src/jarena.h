// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Per-message allocation for jansson. Once installed (first thing in main,
 * before any jansson value exists), every jansson allocation carries a
 * small header; between jarena_begin() and jarena_end() on a thread, that
 * thread's allocations come from a bump arena and their frees cost nothing,
 * and jarena_end() makes the arena's memory reusable at once. Everything
 * allocated inside must be released inside (the mapper decrefs every value
 * of a message before it returns). Outside a begin/end pair, and on other
 * threads, allocations go to malloc as usual. Without jarena_install() the
 * begin/end calls do nothing; ASan builds never install it, so that a
 * value used after its message is still caught there. */
#ifndef MKB_JARENA_H
#define MKB_JARENA_H

/* Routes jansson's allocations through the arena-aware allocator. */
void jarena_install(void);

void jarena_begin(void);
void jarena_end(void);

#endif
