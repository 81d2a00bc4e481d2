// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* PROC/NAME into BUF (NUL-terminated); false if it cannot be read. */
static bool read_small(const char *proc, const char *name, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", proc, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, size - 1, f);
    (void)fclose(f); /* read only */
    buf[n] = '\0';
    return n > 0;
}

/* The boot time, seconds since the Unix epoch (PROC/stat's btime line). */
static double boot_time(const char *proc)
{
    /* PROC/stat has a line per CPU before btime: read it by lines. */
    char path[512], line[4096];
    snprintf(path, sizeof(path), "%s/stat", proc);
    FILE *f = fopen(path, "re");
    double bt = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    if (f)
        (void)fclose(f); /* read only */
    /* Without PROC/stat (systemd's ProcSubset=pid hides it), the same
     * figure from the clocks: the kernel's btime is realtime - boottime. */
    struct timespec rt, bt_clk;
    if (bt <= 0 && clock_gettime(CLOCK_REALTIME, &rt) == 0 &&
        clock_gettime(CLOCK_BOOTTIME, &bt_clk) == 0)
        bt = (double)(rt.tv_sec - bt_clk.tv_sec) + (double)(rt.tv_nsec - bt_clk.tv_nsec) / 1e9;
    return bt;
}

/* PROC/self/stat: CPU time, start time, virtual and resident size. The
 * fields are counted after the last ')' (the command name may hold spaces
 * and parentheses); proc(5) numbers them from 1, the state being field 3. */
static void read_stat(const char *proc, procstat_t *ps)
{
    char buf[2048];
    double btime = boot_time(proc);
    const char *p = read_small(proc, "self/stat", buf, sizeof(buf)) ? strrchr(buf, ')') : NULL;
    if (!p || btime <= 0)
        return;
    p++;
    p += strspn(p, " ");
    p += strcspn(p, " "); /* field 3, the state: a letter */
    unsigned long long f[25] = {0};
    for (int field = 4; field <= 24; field++) {
        char *end = NULL;
        f[field] = strtoull(p, &end, 10);
        if (end == p)
            return;
        p = end;
    }
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (tck <= 0 || page <= 0)
        return;
    ps->cpu_seconds = (double)(f[14] + f[15]) / (double)tck;
    ps->start_time_seconds = btime + (double)f[22] / (double)tck;
    ps->vsize_bytes = f[23];
    ps->rss_bytes = f[24] * (unsigned long long)page;
    ps->have_stat = true;
}

/* The soft limit of the PROC/self/limits line starting with NAME. */
static bool soft_limit(const char *limits, const char *name, double *out)
{
    size_t nl = strlen(name);
    const char *line = limits;
    while (line && strncmp(line, name, nl) != 0) {
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    if (line) {
        const char *v = line + nl;
        while (*v == ' ')
            v++;
        if (strncmp(v, "unlimited", 9) == 0) {
            *out = (double)UINT64_MAX; /* as client_golang's procfs reads it */
            return true;
        }
        char *end = NULL;
        *out = strtod(v, &end);
        return end != v;
    }
    return false;
}

static void read_limits(const char *proc, procstat_t *ps)
{
    char buf[4096];
    if (read_small(proc, "self/limits", buf, sizeof(buf)))
        ps->have_limits = soft_limit(buf, "Max open files", &ps->max_fds) &&
                          soft_limit(buf, "Max address space", &ps->max_vsize);
}

static void count_fds(const char *proc, procstat_t *ps)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/self/fd", proc);
    DIR *d = opendir(path);
    if (!d)
        return;
    uint64_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.'; /* the listing's own fd counts, as in the client libraries */
    closedir(d);
    ps->open_fds = n;
    ps->have_fds = true;
}

void procstat_read(const char *proc, procstat_t *out)
{
    memset(out, 0, sizeof(*out));
    read_stat(proc, out);
    read_limits(proc, out);
    count_fds(proc, out);
}

/* NAME's HELP, TYPE and one sample, V with the fewest digits that read
 * back as V (a start time needs more than metrics_f64's 6). */
static void sample(buf_t *out, const char *name, const char *type, const char *help, double v)
{
    char num[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(num, sizeof(num), "%.*g", prec, v);
        if (strtod(num, NULL) == v)
            break;
    }
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, type, name, num);
}

void procstat_render(const procstat_t *ps, buf_t *out)
{
    /* Names, HELP texts and types: client_golang's process_collector.go. */
    if (ps->have_stat) {
        sample(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", ps->cpu_seconds);
        sample(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               (double)ps->vsize_bytes);
        sample(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               (double)ps->rss_bytes);
        sample(out, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.", ps->start_time_seconds);
    }
    if (ps->have_fds)
        sample(out, "process_open_fds", "gauge", "Number of open file descriptors.",
               (double)ps->open_fds);
    if (ps->have_limits) {
        sample(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
               ps->max_fds);
        sample(out, "process_virtual_memory_max_bytes", "gauge",
               "Maximum amount of virtual memory available in bytes.", ps->max_vsize);
    }
}
