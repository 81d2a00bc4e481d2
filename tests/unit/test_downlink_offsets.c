// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The downlink's offset bookkeeping (downlink_offsets.h), without Kafka: the
 * commit position moves only past records that are all settled, whatever
 * the order of their acknowledgements; rewinds forget and skip; the ring
 * grows and wraps without losing order. */
#include "downlink_offsets.h"

#include <check.h>

#include "check_run.h"
#include <stdint.h>

static downlink_offsets_t *push_range(int64_t from, int64_t to)
{
    downlink_offsets_t *o = downlink_offsets_new();
    ck_assert_ptr_nonnull(o);
    for (int64_t off = from; off < to; off++)
        ck_assert_int_eq(downlink_offsets_push(o, off), DOWNLINK_OFFSETS_TAKEN);
    return o;
}

START_TEST(test_in_order)
{
    downlink_offsets_t *o = push_range(10, 13);
    ck_assert_uint_eq(downlink_offsets_pending(o), 3);
    ck_assert_int_eq(downlink_offsets_settle(o, 10), 11);
    ck_assert_int_eq(downlink_offsets_settle(o, 11), 12);
    ck_assert_int_eq(downlink_offsets_settle(o, 12), 13);
    ck_assert_uint_eq(downlink_offsets_pending(o), 0);
    downlink_offsets_destroy(o);
    downlink_offsets_destroy(NULL);
}
END_TEST

/* A later PUBACK before an earlier one: nothing stored until the gap closes,
 * then the position jumps past both. */
START_TEST(test_out_of_order)
{
    downlink_offsets_t *o = push_range(0, 4);
    ck_assert_int_eq(downlink_offsets_settle(o, 2), -1);
    ck_assert_int_eq(downlink_offsets_settle(o, 1), -1);
    ck_assert_uint_eq(downlink_offsets_pending(o), 4);
    ck_assert_int_eq(downlink_offsets_settle(o, 0), 3);
    ck_assert_uint_eq(downlink_offsets_pending(o), 1);
    ck_assert_int_eq(downlink_offsets_settle(o, 3), 4);
    /* settled twice, or never pushed: nothing moves */
    ck_assert_int_eq(downlink_offsets_settle(o, 3), -1);
    ck_assert_int_eq(downlink_offsets_settle(o, 99), -1);
    downlink_offsets_destroy(o);
}
END_TEST

/* Expired and invalid records are settled without a publish; offsets need
 * not be contiguous (compacted topics, transaction markers). */
START_TEST(test_settle_skip)
{
    downlink_offsets_t *o = downlink_offsets_new();
    ck_assert_int_eq(downlink_offsets_push(o, 5), DOWNLINK_OFFSETS_TAKEN);
    ck_assert_int_eq(downlink_offsets_push(o, 9), DOWNLINK_OFFSETS_TAKEN);
    ck_assert_int_eq(downlink_offsets_push(o, 20), DOWNLINK_OFFSETS_TAKEN);
    ck_assert_int_eq(downlink_offsets_settle(o, 9), -1); /* invalid: reported, skipped */
    ck_assert_int_eq(downlink_offsets_settle(o, 5), 10);
    ck_assert_int_eq(downlink_offsets_settle(o, 20), 21);
    downlink_offsets_destroy(o);
}
END_TEST

/* A publish of 12 fails: 12 and later are forgotten, records fetched past it
 * before the seek are skipped until 12 comes again. */
START_TEST(test_rewind)
{
    downlink_offsets_t *o = push_range(10, 15);
    ck_assert_int_eq(downlink_offsets_take_rewind(o), -1);
    downlink_offsets_ask_rewind(o, 13);
    downlink_offsets_ask_rewind(o, 12);
    downlink_offsets_ask_rewind(o, 14); /* the earliest asked wins */
    ck_assert_int_eq(downlink_offsets_take_rewind(o), 12);
    ck_assert_int_eq(downlink_offsets_take_rewind(o), -1);
    downlink_offsets_rewind(o, 12);
    ck_assert_uint_eq(downlink_offsets_pending(o), 2); /* 10 and 11 */
    ck_assert_int_eq(downlink_offsets_push(o, 15), DOWNLINK_OFFSETS_SKIPPED);
    ck_assert_int_eq(downlink_offsets_push(o, 16), DOWNLINK_OFFSETS_SKIPPED);
    ck_assert_int_eq(downlink_offsets_push(o, 12), DOWNLINK_OFFSETS_TAKEN);
    ck_assert_int_eq(downlink_offsets_push(o, 13), DOWNLINK_OFFSETS_TAKEN);
    /* a late PUBACK of the forgotten 14 moves nothing */
    ck_assert_int_eq(downlink_offsets_settle(o, 14), -1);
    ck_assert_int_eq(downlink_offsets_settle(o, 10), 11);
    ck_assert_int_eq(downlink_offsets_settle(o, 12), -1);
    ck_assert_int_eq(downlink_offsets_settle(o, 11), 13);
    ck_assert_int_eq(downlink_offsets_settle(o, 13), 14);
    ck_assert_uint_eq(downlink_offsets_pending(o), 0);
    downlink_offsets_destroy(o);
}
END_TEST

/* Rewinding past everything pending (the paused case: a record fetched
 * before the pause took effect) forgets nothing earlier. */
START_TEST(test_rewind_empty)
{
    downlink_offsets_t *o = downlink_offsets_new();
    downlink_offsets_rewind(o, 7);
    ck_assert_uint_eq(downlink_offsets_pending(o), 0);
    ck_assert_int_eq(downlink_offsets_push(o, 8), DOWNLINK_OFFSETS_SKIPPED);
    ck_assert_int_eq(downlink_offsets_push(o, 7), DOWNLINK_OFFSETS_TAKEN);
    ck_assert_int_eq(downlink_offsets_settle(o, 7), 8);
    downlink_offsets_destroy(o);
}
END_TEST

/* The ring (64 at first) fills, grows while its head is in the middle, and
 * wraps many times; order and the commit position hold throughout. */
START_TEST(test_ring_wrap_grow)
{
    downlink_offsets_t *o = downlink_offsets_new();
    int64_t next = 0, oldest = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 40; i++)
            ck_assert_int_eq(downlink_offsets_push(o, next++), DOWNLINK_OFFSETS_TAKEN);
        /* the 30 oldest, newest first: only the oldest one moves the position */
        for (int64_t off = oldest + 29; off > oldest; off--)
            ck_assert_int_eq(downlink_offsets_settle(o, off), -1);
        ck_assert_int_eq(downlink_offsets_settle(o, oldest), oldest + 30);
        oldest += 30;
        ck_assert_uint_eq(downlink_offsets_pending(o), (size_t)(next - oldest));
    }
    ck_assert_uint_eq(downlink_offsets_pending(o), 500);
    for (; oldest < next; oldest++)
        ck_assert_int_eq(downlink_offsets_settle(o, oldest), oldest + 1);
    ck_assert_uint_eq(downlink_offsets_pending(o), 0);
    downlink_offsets_destroy(o);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("downlink_offsets");
    TCase *tc = tcase_create("downlink_offsets");
    tcase_add_test(tc, test_in_order);
    tcase_add_test(tc, test_out_of_order);
    tcase_add_test(tc, test_settle_skip);
    tcase_add_test(tc, test_rewind);
    tcase_add_test(tc, test_rewind_empty);
    tcase_add_test(tc, test_ring_wrap_grow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(suite()); }
