/* log_limit(): the rate limiter for lines that repeat while a failure lasts
 * (refused TLS handshakes, failed Kafka logins); log_every(): the one by
 * count, for lines per event (dead letters, failed deliveries). */
#include "log.h"

#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <time.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(test_first_then_once_per_interval)
{
    static log_limit_t l = LOG_LIMIT_INIT;
    unsigned long more = 99;
    ck_assert(log_limit(&l, "auth", 200, &more));
    ck_assert_uint_eq(more, 0);
    for (int i = 0; i < 5; i++) {
        ck_assert(!log_limit(&l, "auth", 200, &more));
        ck_assert_uint_eq(more, 0);
    }
    sleep_ms(250);
    ck_assert(log_limit(&l, "auth", 200, &more)); /* the interval passed */
    ck_assert_uint_eq(more, 5);                    /* with the count skipped */
    ck_assert(!log_limit(&l, "auth", 200, &more));
}
END_TEST

/* Keys alternating (Paho's reason, then the diagnosis) are limited each on
 * its own: a change of key does not reopen the other. */
START_TEST(test_keys_limited_separately)
{
    static log_limit_t l = LOG_LIMIT_INIT;
    unsigned long more;
    ck_assert(log_limit(&l, "a", 60000, &more));
    ck_assert(log_limit(&l, "b", 60000, &more));
    for (int i = 0; i < 3; i++) {
        ck_assert(!log_limit(&l, "a", 60000, &more));
        ck_assert(!log_limit(&l, "b", 60000, &more));
    }
    /* More keys than slots: the least recently used one is forgotten and
     * printed again when it comes back; the others stay limited. */
    char key[16];
    for (int i = 0; i < LOG_LIMIT_KEYS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ck_assert(log_limit(&l, key, 60000, &more));
    }
    ck_assert(log_limit(&l, "a", 60000, &more));
    ck_assert(!log_limit(&l, "k7", 60000, &more));
}
END_TEST

/* First 10, then every 1000th: 10 + 1 (1000) + 1 (2000) of the first 2,500. */
START_TEST(test_every_first_ten_then_every_thousandth)
{
    unsigned printed = 0;
    for (uint64_t n = 1; n <= 2500; n++)
        printed += log_every(n);
    ck_assert_uint_eq(printed, 12);
    for (uint64_t n = 1; n <= 10; n++)
        ck_assert(log_every(n));
    ck_assert(!log_every(11));
    ck_assert(!log_every(999));
    ck_assert(log_every(1000));
    ck_assert(!log_every(1001));
    ck_assert(log_every(3000000));
    ck_assert(log_every(UINT64_MAX - UINT64_MAX % 1000)); /* no overflow at the top */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("limit");
    tcase_add_test(tc, test_first_then_once_per_interval);
    tcase_add_test(tc, test_keys_limited_separately);
    suite_add_tcase(s, tc);
    TCase *every = tcase_create("every");
    tcase_add_test(every, test_every_first_ten_then_every_thousandth);
    suite_add_tcase(s, every);
    return check_run(s);
}
