// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* tzinfo against glibc: for every instant of a walk from 1900 to 2100 (and
 * each second around every change of offset glibc shows), the offset must
 * be glibc's tm_gmtoff, and the local time read back must give the instant
 * (or, in a fold, the earlier one that glibc also shows as that local time).
 * Years past the files' last transitions exercise the POSIX TZ footers.
 * Then the documented gap and fold choices, bad names, unknown zones,
 * TZDIR, and damaged files. */
#include "err.h"
#include "tzinfo.h"

#include <check.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static tz_t *load(const char *name)
{
    char why[256] = "";
    tz_t *tz = tz_load(name, why, sizeof(why));
    ck_assert_msg(tz != NULL, "%s: %s", name, why);
    return tz;
}

/* glibc's offset at T in the zone TZ is set to. */
static long glibc_off(time_t t)
{
    struct tm tm;
    if (!localtime_r(&t, &tm))
        ck_abort_msg("localtime_r(%lld) failed", (long long)t);
    return tm.tm_gmtoff;
}

static int64_t checked;

/* One instant U: offset and the round trip through local time. Plain ifs,
 * not ck_assert: libcheck sends a message per assertion (a write(2) each),
 * which for a million instants made this suite crawl under valgrind. */
static void check_instant(const char *zone, const tz_t *tz, int64_t u)
{
    long off = glibc_off((time_t)u);
    if (tz_offset_at(tz, u) != off)
        ck_abort_msg("%s at %lld: %d, glibc %ld", zone, (long long)u, tz_offset_at(tz, u), off);
    int64_t local = u + off, r = 0;
    if (tz_local_to_utc(tz, local, &r) != MKB_OK)
        ck_abort_msg("%s: local %lld not converted", zone, (long long)local);
    /* r shows the same local time, and is no later than u (fold: the earlier) */
    if (!(r <= u && r + glibc_off((time_t)r) == local))
        ck_abort_msg("%s: local %lld gave %lld, not %lld", zone, (long long)local, (long long)r,
                     (long long)u);
    /* and when earlier, no instant before r shows it either: r is the first */
    if (r < u && r - 1 + glibc_off((time_t)(r - 1)) == local)
        ck_abort_msg("%s: local %lld also shown at %lld, before %lld", zone, (long long)local,
                     (long long)(r - 1), (long long)r);
    checked++;
}

/* Every second around the change of offset glibc shows within (A, B]. */
static void check_change(const char *zone, const tz_t *tz, int64_t a, int64_t b)
{
    long oa = glibc_off((time_t)a);
    while (b - a > 1) { /* bisect to the first second of the new offset */
        int64_t mid = a + (b - a) / 2;
        if (glibc_off((time_t)mid) == oa)
            a = mid;
        else
            b = mid;
    }
    for (int64_t u = b - 3; u <= b + 3; u++)
        check_instant(zone, tz, u);
    /* and every local second across it (the whole gap or fold) */
    for (int64_t u = b - 7200; u <= b + 7200; u += 59)
        check_instant(zone, tz, u);
}

static void compare_zone(const char *zone)
{
    tz_t *tz = load(zone);
    char env[64];
    snprintf(env, sizeof(env), ":%s", zone);
    setenv("TZ", env, 1);
    tzset();
    const int64_t from = -2208988800LL, to = 4102444800LL; /* 1900 .. 2100 */
    long prev = glibc_off((time_t)from);
    /* A day and 7 min 13 s: every time of day comes up over the years, and
     * two changes of offset are always further apart (found by bisection,
     * then checked second by second around the change). */
    const int64_t step = 86400 + 7 * 60 + 13;
    for (int64_t u = from; u < to; u += step) {
        long off = glibc_off((time_t)u);
        if (off != prev)
            check_change(zone, tz, u - step, u);
        prev = off;
        check_instant(zone, tz, u);
    }
    tz_destroy(tz);
    unsetenv("TZ");
    tzset();
}

START_TEST(test_against_glibc)
{
    static const char *const zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                        "Asia/Kolkata", "UTC"};
    checked = 0;
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
        compare_zone(zones[i]);
    ck_assert_int_gt(checked, INT64_C(5) * 70000);
}
END_TEST

/* Seconds since the epoch of a UTC date-time, for the expectations. */
static int64_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm);
}

static int64_t to_utc(const tz_t *tz, int64_t local)
{
    int64_t u = 0;
    ck_assert_int_eq(tz_local_to_utc(tz, local, &u), MKB_OK);
    return u;
}

/* The gap takes the offset before the transition; the fold the earlier instant. */
START_TEST(test_gap_and_fold)
{
    tz_t *tz = load("Europe/Berlin");
    ck_assert_int_eq(to_utc(tz, at(2026, 3, 29, 2, 30)), at(2026, 3, 29, 1, 30)); /* gap: CET */
    ck_assert_int_eq(to_utc(tz, at(2026, 3, 29, 3, 0)), at(2026, 3, 29, 1, 0));
    ck_assert_int_eq(to_utc(tz, at(2026, 10, 25, 2, 30)), at(2026, 10, 25, 0, 30)); /* CEST */
    ck_assert_int_eq(to_utc(tz, at(2026, 10, 25, 3, 0)), at(2026, 10, 25, 2, 0));
    ck_assert_int_eq(to_utc(tz, at(2090, 3, 26, 2, 30)), at(2090, 3, 26, 1, 30)); /* footer */
    ck_assert_int_eq(to_utc(tz, at(2090, 10, 29, 2, 30)), at(2090, 10, 29, 0, 30));
    tz_destroy(tz);
    tz = load("America/New_York");
    ck_assert_int_eq(to_utc(tz, at(2026, 3, 8, 2, 30)), at(2026, 3, 8, 7, 30));  /* EST */
    ck_assert_int_eq(to_utc(tz, at(2026, 11, 1, 1, 30)), at(2026, 11, 1, 5, 30)); /* EDT */
    tz_destroy(tz);
    tz = load("Australia/Lord_Howe"); /* half-hour DST, southern hemisphere */
    ck_assert_int_eq(to_utc(tz, at(2026, 10, 4, 2, 15)), at(2026, 10, 3, 15, 45));
    ck_assert_int_eq(to_utc(tz, at(2026, 4, 5, 1, 45)), at(2026, 4, 4, 14, 45));
    ck_assert_int_eq(to_utc(tz, at(2095, 7, 1, 12, 0)), at(2095, 7, 1, 1, 30));
    ck_assert_int_eq(to_utc(tz, at(2095, 1, 1, 12, 0)), at(2095, 1, 1, 1, 0));
    tz_destroy(tz);
    tz = load("Asia/Kolkata");
    ck_assert_int_eq(to_utc(tz, at(2026, 6, 1, 12, 0)), at(2026, 6, 1, 6, 30));
    int64_t u;
    ck_assert_int_eq(tz_local_to_utc(tz, INT64_C(1) << 41, &u), MKB_ERR_INVAL);
    tz_destroy(tz);
}
END_TEST

static const char *load_error(const char *name)
{
    static char why[512];
    snprintf(why, sizeof(why), "(none)");
    tz_t *tz = tz_load(name, why, sizeof(why));
    ck_assert_msg(tz == NULL, "%s loaded", name);
    return why;
}

START_TEST(test_names)
{
    ck_assert_str_eq(load_error("Europe/Berlinn"),
                     "unknown time zone 'Europe/Berlinn' (no /usr/share/zoneinfo/Europe/Berlinn)");
    ck_assert_str_eq(load_error("../../etc/passwd"),
                     "'../../etc/passwd' is not a time zone name (like Europe/Berlin)");
    ck_assert_str_eq(load_error("/etc/localtime"),
                     "'/etc/localtime' is not a time zone name (like Europe/Berlin)");
    ck_assert_str_eq(load_error("Europe/../../x"),
                     "'Europe/../../x' is not a time zone name (like Europe/Berlin)");
    ck_assert_str_eq(load_error(""), "'' is not a time zone name (like Europe/Berlin)");
    ck_assert_str_eq(load_error("Europe/Ber lin"),
                     "'Europe/Ber lin' is not a time zone name (like Europe/Berlin)");
    ck_assert_str_eq(load_error("zone.tab"),
                     "time zone 'zone.tab' (/usr/share/zoneinfo/zone.tab): not a TZif file");
    ck_assert_str_eq(load_error("Europe"),
                     "time zone 'Europe' (/usr/share/zoneinfo/Europe): not a TZif file");
}
END_TEST

/* TZDIR is where zones are looked up. */
START_TEST(test_tzdir)
{
    char dir[] = "/tmp/mkb-tzdir-XXXXXX";
    ck_assert(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/Test && cp /usr/share/zoneinfo/Asia/Kolkata %s/Test/Zone",
             dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    setenv("TZDIR", dir, 1);
    tz_t *tz = load("Test/Zone");
    ck_assert_int_eq(tz_offset_at(tz, at(2026, 1, 1, 0, 0)), 19800);
    tz_destroy(tz);
    char want[512];
    snprintf(want, sizeof(want), "unknown time zone 'Europe/Berlin' (no %s/Europe/Berlin)", dir);
    ck_assert_str_eq(load_error("Europe/Berlin"), want);
    unsetenv("TZDIR");
    snprintf(cmd, sizeof(cmd), "rm -r %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Damaged images: every truncation of a real file fails cleanly or parses;
 * a changed footer is refused. */
START_TEST(test_damaged)
{
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    ck_assert(f);
    static unsigned char data[8192];
    size_t len = fread(data, 1, sizeof(data), f);
    fclose(f);
    char why[128];
    for (size_t n = 0; n < len; n++) {
        tz_t *tz = tz_parse(data, n, why, sizeof(why));
        ck_assert_msg(tz == NULL, "Berlin cut at %zu parsed", n);
    }
    tz_t *tz = tz_parse(data, len, why, sizeof(why));
    ck_assert(tz);
    tz_destroy(tz);
    ck_assert(len > 20 && memcmp(data + len - 10, "M10.5.0/3\n", 10) == 0); /* the footer */
    memcpy(data + len - 10, "M13.5.0/3", 9);
    ck_assert(tz_parse(data, len, why, sizeof(why)) == NULL);
    ck_assert_str_eq(why, "bad POSIX TZ footer");
    ck_assert(tz_parse("TZif", 4, why, sizeof(why)) == NULL);
    ck_assert_str_eq(why, "not a TZif file");
}
END_TEST

/* A TZif image of no transitions, one type (UTOFF, NAME) and FOOTER: only
 * the footer speaks. Written into B; returns its length. */
static size_t footer_only(unsigned char *b, int32_t utoff, const char *name, const char *footer)
{
    size_t n = 0, nl = strlen(name) + 1;
    for (int v = 0; v < 2; v++) { /* the version 1 block, then version 2's */
        static const unsigned char magic[5] = {'T', 'Z', 'i', 'f', '2'};
        memset(b + n, 0, 44);
        memcpy(b + n, magic, sizeof(magic));
        b[n + 39] = 1;                 /* typecnt */
        b[n + 43] = (unsigned char)nl; /* charcnt */
        n += 44;
        uint32_t u = (uint32_t)utoff;
        unsigned char type[6] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16),
                                 (unsigned char)(u >> 8), (unsigned char)u, 0, 0};
        memcpy(b + n, type, 6);
        n += 6;
        memcpy(b + n, name, nl);
        n += nl;
    }
    n += (size_t)sprintf((char *)b + n, "\n%s\n", footer);
    return n;
}

/* Footers of every rule kind (Jn, n, Mm.w.d with times past 24 h and
 * negative ones, no DST, a southern one) against glibc reading the same
 * POSIX TZ string. */
START_TEST(test_footer_rules)
{
    static const struct {
        int32_t utoff;
        const char *name, *tz;
    } cases[] = {
        {-18000, "EST", "EST5EDT,J60/2,J300/2"},
        {-18000, "EST", "EST5EDT,59/2,299/2"},
        {3600, "CET", "CET-1CEST,M3.5.0,M10.5.0/3"},
        {-10800, "-03", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"}, /* America/Nuuk */
        {7200, "IST", "IST-2IDT,M3.4.4/26,M10.5.0"},         /* Asia/Jerusalem */
        {37800, "+1030", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"},
        {19800, "IST", "IST-5:30"},
    };
    static unsigned char img[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[128];
        size_t len = footer_only(img, cases[i].utoff, cases[i].name, cases[i].tz);
        tz_t *tz = tz_parse(img, len, why, sizeof(why));
        ck_assert_msg(tz != NULL, "%s: %s", cases[i].tz, why);
        setenv("TZ", cases[i].tz, 1);
        tzset();
        long prev = glibc_off((time_t)at(2019, 12, 31, 0, 0));
        const int64_t step = INT64_C(3) * 3600 + 7;
        for (int64_t u = at(2020, 1, 1, 0, 0); u < at(2032, 1, 1, 0, 0); u += step) {
            long off = glibc_off((time_t)u);
            if (off != prev)
                check_change(cases[i].tz, tz, u - step, u);
            prev = off;
            check_instant(cases[i].tz, tz, u);
        }
        tz_destroy(tz);
    }
    unsetenv("TZ");
    tzset();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tzinfo");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_against_glibc);
    tcase_add_test(tc, test_gap_and_fold);
    tcase_add_test(tc, test_footer_rules);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_tzdir);
    tcase_add_test(tc, test_damaged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(suite()); }
