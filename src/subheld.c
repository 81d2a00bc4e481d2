// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* What a broker session holds (see subheld.h). */
#include "subheld.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"

#define MAGIC "mkb-subscriptions 1"

struct subheld {
    char *path; /* NULL: memory only */
    char *uri, *client_id;
    char **filters;
    int *qos;
    size_t n, cap;
};

static size_t find(const subheld_t *h, const char *filter)
{
    size_t i = 0;
    while (i < h->n && strcmp(h->filters[i], filter) != 0)
        i++;
    return i;
}

/* Adds or updates FILTER in memory only. */
static int put(subheld_t *h, const char *filter, int qos)
{
    size_t i = find(h, filter);
    if (i < h->n) {
        h->qos[i] = qos;
        return MKB_OK;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        char **f = realloc(h->filters, cap * sizeof(*f));
        if (f)
            h->filters = f;
        int *q = f ? realloc(h->qos, cap * sizeof(*q)) : NULL;
        if (!q)
            return MKB_ERR_NOMEM;
        h->qos = q;
        h->cap = cap;
    }
    if (!(h->filters[h->n] = strdup(filter)))
        return MKB_ERR_NOMEM;
    h->qos[h->n++] = qos;
    return MKB_OK;
}

/* Reads the file; anything unexpected leaves the set empty. */
static void load(subheld_t *h)
{
    FILE *f = fopen(h->path, "r");
    if (!f) {
        if (errno != ENOENT)
            log_warn("mqtt", "cannot read %s: %s; subscribing everything", h->path,
                     strerror(errno));
        return;
    }
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    int lineno = 0;
    bool ok = true;
    while (ok && (len = getline(&line, &size, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        lineno++;
        if (lineno == 1)
            ok = strcmp(line, MAGIC) == 0;
        else if (lineno == 2)
            ok = strncmp(line, "uri ", 4) == 0 && strcmp(line + 4, h->uri) == 0;
        else if (lineno == 3)
            ok = strncmp(line, "client ", 7) == 0 && strcmp(line + 7, h->client_id) == 0;
        else
            ok = len >= 3 && line[0] >= '0' && line[0] <= '2' && line[1] == ' ' &&
                 put(h, line + 2, line[0] - '0') == MKB_OK;
    }
    free(line);
    (void)fclose(f); /* read only: nothing to lose */
    if (!ok || lineno < 3) {
        log_info("mqtt", "%s is not for %s as '%s' (or unreadable); subscribing everything",
                 h->path, h->uri, h->client_id);
        while (h->n)
            free(h->filters[--h->n]);
    }
}

int subheld_new(const char *path, const char *uri, const char *client_id, subheld_t **out)
{
    subheld_t *h = calloc(1, sizeof(*h));
    if (!h || (path && !(h->path = strdup(path))) || !(h->uri = strdup(uri)) ||
        !(h->client_id = strdup(client_id))) {
        subheld_destroy(h);
        return MKB_ERR_NOMEM;
    }
    if (h->path)
        load(h);
    *out = h;
    return MKB_OK;
}

void subheld_destroy(subheld_t *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        free(h->filters[i]);
    free(h->filters);
    free(h->qos);
    free(h->path);
    free(h->uri);
    free(h->client_id);
    free(h);
}

/* The file's text; MKB_ERR_INVAL for a filter that cannot be a line. */
static int render(const subheld_t *h, buf_t *out)
{
    int rc = buf_append_str(out, MAGIC "\nuri ");
    if (rc == MKB_OK)
        rc = buf_append_str(out, h->uri);
    if (rc == MKB_OK)
        rc = buf_append_str(out, "\nclient ");
    if (rc == MKB_OK)
        rc = buf_append_str(out, h->client_id);
    if (rc == MKB_OK)
        rc = buf_append(out, "\n", 1);
    for (size_t i = 0; i < h->n && rc == MKB_OK; i++) {
        char q[3] = {(char)('0' + h->qos[i]), ' ', '\0'};
        if (strchr(h->filters[i], '\n'))
            return MKB_ERR_INVAL;
        if ((rc = buf_append_str(out, q)) == MKB_OK &&
            (rc = buf_append_str(out, h->filters[i])) == MKB_OK)
            rc = buf_append(out, "\n", 1);
    }
    return rc;
}

/* Writes TEXT to PATH.tmp, syncs it and renames it over PATH. */
static int write_atomically(const char *path, const buf_t *text)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return MKB_ERR_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return MKB_ERR_IO;
    size_t done = 0;
    while (done < text->len) {
        ssize_t w = write(fd, text->p + done, text->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    bool ok = done == text->len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return MKB_OK;
    unlink(tmp);
    return MKB_ERR_IO;
}

/* Saves the set. A failure removes the file: an old list could name a
 * subscription the session no longer has (the bridge would not subscribe
 * it: deaf), whereas no list only costs a resubscription. */
static int save(subheld_t *h)
{
    if (!h->path)
        return MKB_OK;
    buf_t text = {0};
    int rc = render(h, &text);
    if (rc == MKB_OK)
        rc = write_atomically(h->path, &text);
    buf_free(&text);
    if (rc != MKB_OK) {
        log_warn("mqtt", "cannot write %s (%s); a restart will subscribe everything again", h->path,
                 rc == MKB_ERR_INVAL ? "a filter holds a newline" : strerror(errno));
        unlink(h->path);
    }
    return rc;
}

bool subheld_has(const subheld_t *h, const char *filter, int qos)
{
    size_t i = find(h, filter);
    return i < h->n && h->qos[i] == qos;
}

int subheld_add(subheld_t *h, const char *filter, int qos)
{
    int rc = put(h, filter, qos);
    return rc == MKB_OK ? save(h) : rc;
}

int subheld_remove(subheld_t *h, const char *filter)
{
    size_t i = find(h, filter);
    if (i == h->n)
        return MKB_OK;
    free(h->filters[i]);
    memmove(&h->filters[i], &h->filters[i + 1], (h->n - i - 1) * sizeof(*h->filters));
    memmove(&h->qos[i], &h->qos[i + 1], (h->n - i - 1) * sizeof(*h->qos));
    h->n--;
    return save(h);
}

int subheld_clear(subheld_t *h)
{
    while (h->n)
        free(h->filters[--h->n]);
    return save(h);
}

size_t subheld_count(const subheld_t *h)
{
    return h->n;
}
const char *subheld_filter(const subheld_t *h, size_t i)
{
    return h->filters[i];
}
