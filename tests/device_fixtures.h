// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* The device fixtures of tests/fixtures/devices/ (the worked examples of
 * mappings/devices/), read by the unit suite test_examples and the
 * integration suite test_examples. Header-only like check_run.h: both suites
 * include it.
 *
 * Layout: tests/fixtures/devices/<family>/ holds the messages of one device
 * family, mapped by mappings/devices/<family>.yaml:
 *   cases.tsv        one message per line: name TAB topic TAB retain(0|1)
 *                    TAB the public doc page the payload is copied from
 *   <name>.payload   the payload, byte for byte
 *   <name>.records   the records it becomes, in order, one per line:
 *                    topic TAB key TAB value ("(nokey)", "(null)" for none);
 *                    an empty file: the message makes no record (skipped)
 * Every family runs: a family whose messages do not map as its fixtures
 * say fails the suite. */
#ifndef MKB_DEVICE_FIXTURES_H
#define MKB_DEVICE_FIXTURES_H

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DFX_DIR MKB_SOURCE_DIR "/tests/fixtures/devices"
#define DFX_MAX_RECORDS 8

typedef struct {
    char name[64];
    char topic[256];
    bool retain;
    char *payload; /* NUL-terminated copy; payload_len bytes */
    size_t payload_len;
    char *want[DFX_MAX_RECORDS]; /* "topic\tkey\tvalue" */
    size_t nwant;
} dfx_case_t;

typedef struct {
    char family[64];
    char mapping[512]; /* absolute path of mappings/devices/<family>.yaml */
    dfx_case_t cases[16];
    size_t ncases;
} dfx_family_t;

/* The whole file at PATH (NUL-terminated; *LEN its size), or NULL. */
static char *dfx_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *p = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (cap ? cap * 2 : 8192);
            char *q = realloc(p, cap);
            ck_assert(q != NULL);
            p = q;
        }
        size_t got = fread(p + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    p[n] = '\0';
    if (len)
        *len = n;
    return p;
}

static void dfx_read_records(dfx_case_t *c, const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.records", dir, c->name);
    char *text = dfx_slurp(path, NULL);
    ck_assert_msg(text != NULL, "missing %s", path);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(c->nwant < DFX_MAX_RECORDS, "%s: too many records", path);
        c->want[c->nwant++] = strdup(line);
    }
    free(text);
}

static void dfx_read_family(dfx_family_t *f, const char *family)
{
    memset(f, 0, sizeof *f);
    snprintf(f->family, sizeof f->family, "%.63s", family);
    snprintf(f->mapping, sizeof f->mapping, "%s/mappings/devices/%.63s.yaml", MKB_SOURCE_DIR,
             family);
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%.63s", DFX_DIR, family);
    snprintf(path, sizeof path, "%s/cases.tsv", dir);
    char *text = dfx_slurp(path, NULL);
    ck_assert_msg(text != NULL, "missing %s", path);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        ck_assert_msg(f->ncases < 16, "%s: too many cases", path);
        dfx_case_t *c = &f->cases[f->ncases++];
        char retain[8] = "";
        ck_assert_msg(sscanf(line, "%63[^\t]\t%255[^\t]\t%7[^\t]", c->name, c->topic, retain) == 3,
                      "%s: bad line '%s'", path, line);
        c->retain = strcmp(retain, "1") == 0;
        snprintf(path, sizeof path, "%s/%s.payload", dir, c->name);
        c->payload = dfx_slurp(path, &c->payload_len);
        ck_assert_msg(c->payload != NULL, "missing %s", path);
        dfx_read_records(c, dir);
    }
    free(text);
    FILE *m = fopen(f->mapping, "r");
    ck_assert_msg(m != NULL, "family %s has no mapping file %s", family, f->mapping);
    fclose(m);
}

static int dfx_cmp(const void *a, const void *b)
{
    return strcmp(((const dfx_family_t *)a)->family, ((const dfx_family_t *)b)->family);
}

/* Every family under tests/fixtures/devices, by name. Caller frees with
 * dfx_free. */
static dfx_family_t *dfx_load(size_t *n)
{
    DIR *d = opendir(DFX_DIR);
    ck_assert_msg(d != NULL, "cannot open %s", DFX_DIR);
    dfx_family_t *fams = NULL;
    size_t nf = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%.255s", DFX_DIR, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        dfx_family_t *q = realloc(fams, (nf + 1) * sizeof *fams);
        ck_assert(q != NULL);
        fams = q;
        dfx_read_family(&fams[nf++], e->d_name);
    }
    closedir(d);
    ck_assert_msg(nf > 0, "no device families in %s", DFX_DIR);
    qsort(fams, nf, sizeof *fams, dfx_cmp);
    *n = nf;
    return fams;
}

static void dfx_free(dfx_family_t *fams, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < fams[i].ncases; j++) {
            free(fams[i].cases[j].payload);
            for (size_t k = 0; k < fams[i].cases[j].nwant; k++)
                free(fams[i].cases[j].want[k]);
        }
    free(fams);
}

#endif
