// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* procstat.c: the process_* metrics. A made-up /proc with known figures
 * (the exact values, unlimited limits, a command name with ") " in it, a
 * hidden /proc/stat), then the live /proc/self against /proc/self/status
 * and getrlimit, and CPU time that grows while the test spins. The text
 * format itself is checked by promtool in tests/integration/test_metrics.c. */
#define _GNU_SOURCE /* mkdtemp */
#include "procstat.h"

#include "buf.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The value of the sample NAME in TEXT (NAN if absent). */
static double value(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return NAN;
}

static char fake[256];

/* A /proc: btime 1700000000, the process started 1234.56 s after boot
 * (at 100 ticks a second), 250 + 50 ticks of CPU, 3 open fds. */
static void make_fake(bool with_btime, const char *nofile, const char *as)
{
    snprintf(fake, sizeof(fake), "/tmp/mkb-procstat-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fake));
    char d[300];
    snprintf(d, sizeof(d), "%s/self", fake);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    snprintf(d, sizeof(d), "%s/self/fd", fake);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "self/fd/%d", i);
        write_file(fake, name, "");
    }
    if (with_btime)
        write_file(fake, "stat", "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 5\nbtime 1700000000\n");
    /* fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime cutime cstime priority nice threads itrealvalue
     * starttime vsize rss */
    write_file(fake, "self/stat",
               "4242 (odd) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 9 -2 -5 "
               "6 0 123456 987654321 2500 18446744073709551615 1 1 0 0 0 0 0 0 0\n");
    char limits[1024];
    snprintf(limits, sizeof(limits),
             "Limit                     Soft Limit           Hard Limit           Units     \n"
             "Max cpu time              unlimited            unlimited            seconds   \n"
             "Max open files            %-20s 524288               files     \n"
             "Max address space         %-20s unlimited            bytes     \n",
             nofile, as);
    write_file(fake, "self/limits", limits);
}

static void remove_fake(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_fake_proc_exact_values)
{
    ck_assert_int_eq(sysconf(_SC_CLK_TCK), 100); /* Linux's USER_HZ */
    long page = sysconf(_SC_PAGESIZE);
    make_fake(true, "1024", "unlimited");
    procstat_t ps;
    procstat_read(fake, &ps);
    ck_assert(ps.have_stat && ps.have_fds && ps.have_limits);
    buf_t out = {0};
    procstat_render(&ps, &out);
    buf_terminate(&out);
    const char *t = out.p;
    ck_assert_double_eq_tol(value(t, "process_cpu_seconds_total"), 3.0, 1e-9);
    ck_assert_double_eq(value(t, "process_start_time_seconds"), 1700001234.56);
    ck_assert_double_eq(value(t, "process_virtual_memory_bytes"), 987654321.0);
    ck_assert_double_eq(value(t, "process_resident_memory_bytes"), 2500.0 * (double)page);
    ck_assert_double_eq(value(t, "process_open_fds"), 3.0);
    ck_assert_double_eq(value(t, "process_max_fds"), 1024.0);
    ck_assert_double_eq(value(t, "process_virtual_memory_max_bytes"), 18446744073709551615.0);
    /* The start time with all its digits, not 1.70000e+09. */
    ck_assert_msg(strstr(t, "\nprocess_start_time_seconds 1700001234.56\n"), "%s", t);
    ck_assert_msg(strstr(t, "# HELP process_cpu_seconds_total Total user and system CPU time "
                            "spent in seconds.\n# TYPE process_cpu_seconds_total counter\n"),
                  "%s", t);
    ck_assert_msg(strstr(t, "# TYPE process_resident_memory_bytes gauge\n"), "%s", t);
    buf_free(&out);
    remove_fake();
}
END_TEST

/* /proc/stat hidden (ProcSubset=pid): the boot time from the clocks. */
START_TEST(test_without_proc_stat)
{
    make_fake(false, "4096", "8589934592");
    procstat_t ps;
    procstat_read(fake, &ps);
    ck_assert(ps.have_stat);
    struct timespec rt, bt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_BOOTTIME, &bt);
    double boot = (double)(rt.tv_sec - bt.tv_sec);
    ck_assert_double_eq_tol(ps.start_time_seconds, boot + 1234.56, 2.0);
    ck_assert_double_eq(ps.max_fds, 4096.0);
    ck_assert_double_eq(ps.max_vsize, 8589934592.0);
    remove_fake();
}
END_TEST

/* A missing file leaves its metrics out; nothing else goes. */
START_TEST(test_missing_files)
{
    procstat_t ps;
    procstat_read("/nonexistent-proc", &ps);
    ck_assert(!ps.have_stat && !ps.have_fds && !ps.have_limits);
    buf_t out = {0};
    procstat_render(&ps, &out);
    ck_assert_uint_eq(out.len, 0);
    buf_free(&out);
}
END_TEST

/* VmRSS of /proc/self/status, in bytes. */
static double vmrss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    double kib = NAN;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtod(line + 6, NULL);
    fclose(f);
    return kib * 1024;
}

static char *volatile keep; /* the touched memory escapes: not optimized away */

/* The live process: RSS as /proc/self/status says it, the limits as
 * getrlimit says them, a start time in the last minute, CPU that grows. */
START_TEST(test_live_self)
{
    size_t big = 64u << 20; /* 64 MiB touched: RSS must show it */
    char *mem = malloc(big);
    ck_assert_ptr_nonnull(mem);
    memset(mem, 1, big);
    keep = mem;
    procstat_t a;
    procstat_read("/proc", &a);
    double rss = vmrss_bytes();
    ck_assert(a.have_stat && a.have_fds && a.have_limits);
    ck_assert_msg(fabs((double)a.rss_bytes - rss) < 4.0 * 1024 * 1024,
                  "RSS %llu, VmRSS %.0f", (unsigned long long)a.rss_bytes, rss);
    ck_assert_uint_ge(a.rss_bytes, big);
    ck_assert_uint_ge(a.vsize_bytes, a.rss_bytes);
    struct rlimit nofile;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &nofile), 0);
    /* The kernel's limit; under valgrind getrlimit says a few less (it keeps
     * some descriptors for itself). */
    ck_assert_msg(a.max_fds >= (double)nofile.rlim_cur && a.max_fds <= (double)nofile.rlim_cur + 64,
                  "max fds %.0f, getrlimit %llu", a.max_fds, (unsigned long long)nofile.rlim_cur);
    ck_assert_uint_ge(a.open_fds, 3); /* stdin, stdout, stderr at least */
    time_t now = time(NULL);
    ck_assert_msg(a.start_time_seconds <= (double)now + 1 && a.start_time_seconds > (double)now - 60,
                  "start %.2f, now %lld", a.start_time_seconds, (long long)now);
    volatile double x = 0; /* 0.3 s of CPU */
    clock_t until = clock() + CLOCKS_PER_SEC * 3 / 10;
    while (clock() < until)
        x += 1.0;
    procstat_t b;
    procstat_read("/proc", &b);
    ck_assert_msg(b.cpu_seconds >= a.cpu_seconds + 0.2, "CPU %.2f then %.2f", a.cpu_seconds,
                  b.cpu_seconds);
    ck_assert_double_eq(b.start_time_seconds, a.start_time_seconds);
    keep = NULL;
    free(mem);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("procstat");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, test_fake_proc_exact_values);
    tcase_add_test(tc, test_without_proc_stat);
    tcase_add_test(tc, test_missing_files);
    tcase_add_test(tc, test_live_self);
    suite_add_tcase(s, tc);
    return check_run(s);
}
