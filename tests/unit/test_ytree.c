// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "err.h"
#include "ytree.h"

#include <check.h>
#include <jansson.h>

#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ytree_t *load(const char *text, char *err, size_t errsz, int *rc)
{
    ytree_t *t = NULL;
    *rc = ytree_load_string("t.yaml", text, strlen(text), &t, err, errsz);
    return t;
}

START_TEST(test_positions)
{
    char err[256];
    int rc;
    ytree_t *t = load("a: 1\nb:\n  c: \"x\"\n  d: [1, 2]\n", err, sizeof(err), &rc);
    ck_assert_int_eq(rc, MKB_OK);
    const ynode_t *root = ytree_root(t);
    ck_assert_int_eq(ynode_type(root), YNODE_MAP);
    ck_assert_uint_eq(ynode_len(root), 2);
    const ynode_t *b = ynode_map_get(root, "b");
    const ynode_t *c = ynode_map_get(b, "c");
    ck_assert_str_eq(ynode_scalar(c), "x");
    ck_assert(ynode_scalar_quoted(c));
    ck_assert_int_eq(ynode_line(c), 3);
    ck_assert_int_eq(ynode_col(c), 6);
    const ynode_t *d = ynode_map_get(b, "d");
    ck_assert_int_eq(ynode_type(d), YNODE_SEQ);
    ck_assert_str_eq(ynode_scalar(ynode_seq_item(d, 1)), "2");
    ck_assert_int_eq(ynode_col(ynode_seq_item(d, 1)), 10);
    ck_assert(!ynode_scalar_quoted(ynode_map_get(root, "a")));
    ytree_destroy(t);
}
END_TEST

START_TEST(test_syntax_error_location)
{
    char err[256];
    int rc;
    ytree_t *t = load("a: 1\nb: [1, 2\nc: 3\n", err, sizeof(err), &rc);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(rc, MKB_ERR_CONFIG);
    ck_assert_msg(strncmp(err, "t.yaml:", 7) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "invalid YAML"));
}
END_TEST

START_TEST(test_env_expansion)
{
    char err[256];
    int rc;
    setenv("MKB_T_HOST", "broker.example", 1);
    unsetenv("MKB_T_UNSET");
    ytree_t *t = load("a: tcp://${MKB_T_HOST}:1883\nb: ${MKB_T_UNSET:-dflt}\nc: \"$${lit}\"\n",
                      err, sizeof(err), &rc);
    ck_assert_int_eq(rc, MKB_OK);
    ck_assert_str_eq(ynode_scalar(ynode_map_get(ytree_root(t), "a")), "tcp://broker.example:1883");
    ck_assert_str_eq(ynode_scalar(ynode_map_get(ytree_root(t), "b")), "dflt");
    ck_assert_str_eq(ynode_scalar(ynode_map_get(ytree_root(t), "c")), "${lit}");
    ytree_destroy(t);

    t = load("x: 1\ny: ${MKB_T_UNSET}\n", err, sizeof(err), &rc);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "t.yaml:2:4:") && strstr(err, "MKB_T_UNSET is not set"), "%s", err);
}
END_TEST

/* ---- anchors, aliases and merge keys, against PyYAML ------------------- */

#define FIXTURE MKB_SOURCE_DIR "/tests/fixtures/yaml/anchors.yaml"

/* Debian's python3 with python3-yaml (MKB_YAML_PYTHON overrides). */
static const char *python(void)
{
    const char *p = getenv("MKB_YAML_PYTHON");
    return p ? p : "/usr/bin/python3";
}

/* The tree as JSON, every scalar as its text (as yaml_to_json.py prints). */
static json_t *tree_json(const ynode_t *n)
{
    json_t *j;
    switch (ynode_type(n)) {
    case YNODE_SCALAR: return json_stringn(ynode_scalar(n), ynode_scalar_len(n));
    case YNODE_SEQ:
        j = json_array();
        for (size_t i = 0; i < ynode_len(n); i++)
            json_array_append_new(j, tree_json(ynode_seq_item(n, i)));
        return j;
    case YNODE_MAP:
        j = json_object();
        for (size_t i = 0; i < ynode_len(n); i++) {
            const ynode_t *k = ynode_map_key(n, i);
            ck_assert_int_eq(ynode_type(k), YNODE_SCALAR);
            ck_assert_msg(!json_object_get(j, ynode_scalar(k)), "key %s twice after merging",
                          ynode_scalar(k));
            json_object_set_new(j, ynode_scalar(k), tree_json(ynode_map_value(n, i)));
        }
        return j;
    }
    return NULL;
}

/* PyYAML's reading of file PATH, as JSON. */
static json_t *pyyaml(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s " MKB_SOURCE_DIR "/tests/fixtures/yaml/yaml_to_json.py %s",
             python(), path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    json_error_t jerr;
    json_t *doc = json_loadf(f, 0, &jerr);
    int st = pclose(f);
    ck_assert_msg(doc && st == 0, "PyYAML did not read %s (%s): %s", path, cmd, jerr.text);
    return doc;
}

/* Reads PATH with ytree and with PyYAML and requires the same document. */
static void assert_agrees(const char *path)
{
    char err[512];
    ytree_t *t = NULL;
    int rc = ytree_load_file(path, &t, err, sizeof(err));
    ck_assert_msg(rc == MKB_OK, "%s", err);
    json_t *ours = tree_json(ytree_root(t)), *theirs = pyyaml(path);
    char *a = json_dumps(ours, JSON_SORT_KEYS), *b = json_dumps(theirs, JSON_SORT_KEYS);
    ck_assert_msg(json_equal(ours, theirs), "%s:\n ytree:  %s\n PyYAML: %s", path, a, b);
    free(a);
    free(b);
    json_decref(ours);
    json_decref(theirs);
    ytree_destroy(t);
}

static void assert_agrees_text(const char *text)
{
    char path[] = "/tmp/mkb-ytree-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_agrees(path);
    unlink(path);
}

START_TEST(test_merge_agrees_with_pyyaml)
{
    assert_agrees(FIXTURE); /* routes sharing defaults */
    /* explicit keys win over merged ones, wherever << stands */
    assert_agrees_text("a: &x {k: 1, j: 2}\nb: {k: 3, <<: *x}\nc: {<<: *x, k: 3}\n");
    /* in a list, earlier mappings win over later ones */
    assert_agrees_text("a: &a {k: a1, m: a}\nb: &b {k: b1, n: b, o: b}\n"
                       "c: {<<: [*a, *b], n: c}\n");
    /* merges of merges, and scalars and lists through aliases */
    assert_agrees_text("base: &base {a: 1, b: 2}\nmid: &mid {<<: *base, b: 3, c: 4}\n"
                       "top:\n  <<: *mid\n  d: [*base, *mid]\n");
    assert_agrees_text("v: &v hello\nl: [*v, *v, {x: *v}]\ne: &e {}\nf: *e\ng: {<<: *e}\n");
    /* a quoted "<<" is an ordinary key */
    assert_agrees_text("a: &a {k: 1}\nb: {\"<<\": *a, k: 2}\n");
    /* an anchored mapping merged in place is still whole for a later alias;
     * an anchor in an overridden entry still names its value */
    assert_agrees_text("m: {<<: &in {k: 1, j: 2}, k: 0}\nn: *in\n"
                       "o: {<<: [{k: &z 5}], k: 0}\np: *z\n"
                       "q: {<<: &l [{a: 1}, {a: 2, b: 3}]}\nr: *l\n");
    /* more anchors and merged keys than the first sizes of their hash tables */
    char many[8192];
    int n = 0;
    for (int i = 0; i < 40; i++)
        n += snprintf(many + n, sizeof(many) - (size_t)n, "a%d: &a%d {k%d: %d, k: %d}\n", i, i, i,
                      i, i);
    n += snprintf(many + n, sizeof(many) - (size_t)n, "m: {<<: [");
    for (int i = 39; i >= 0; i--)
        n += snprintf(many + n, sizeof(many) - (size_t)n, "*a%d%s", i, i ? ", " : "]}\n");
    ck_assert_int_lt(n, (int)sizeof(many));
    assert_agrees_text(many);
}
END_TEST

/* Route R (0-based) of the fixture. */
static const ynode_t *route(const ytree_t *t, size_t r)
{
    return ynode_seq_item(ynode_map_get(ytree_root(t), "routes"), r);
}

START_TEST(test_alias_positions)
{
    char err[512];
    ytree_t *t = NULL;
    ck_assert_msg(ytree_load_file(FIXTURE, &t, err, sizeof(err)) == MKB_OK, "%s", err);
    /* merged from *mqtt_defaults: written at 5:8, used at 21:17 */
    const ynode_t *qos = ynode_map_get(ynode_map_get(route(t, 0), "mqtt"), "qos");
    ck_assert_str_eq(ynode_scalar(qos), "1");
    ck_assert_int_eq(ynode_line(qos), 5);
    ck_assert_int_eq(ynode_col(qos), 8);
    const diag_via_t *via = ynode_via(qos);
    ck_assert_ptr_nonnull(via);
    ck_assert_str_eq(via->alias, "mqtt_defaults");
    ck_assert_int_eq(via->line, 21);
    ck_assert_int_eq(via->col, 17);
    ck_assert_ptr_null(via->outer);
    /* written in the route: no alias */
    const ynode_t *filter = ynode_map_get(ynode_map_get(route(t, 0), "mqtt"), "filter");
    ck_assert_int_eq(ynode_line(filter), 21);
    ck_assert_ptr_null(ynode_via(filter));
    /* through *headers inside x-route (15:14), itself through *route_defaults (35:45) */
    const ynode_t *kafka = ynode_map_get(route(t, 2), "kafka");
    const ynode_t *src = ynode_map_get(ynode_map_get(kafka, "headers"), "source");
    ck_assert_int_eq(ynode_line(src), 8);
    ck_assert_int_eq(ynode_col(src), 11);
    via = ynode_via(src);
    ck_assert_str_eq(via->alias, "headers");
    ck_assert_int_eq(via->line, 15);
    ck_assert_int_eq(via->col, 14);
    ck_assert_str_eq(via->outer->alias, "route_defaults");
    ck_assert_int_eq(via->outer->line, 35);
    ck_assert_int_eq(via->outer->col, 45);
    ck_assert_ptr_null(via->outer->outer);
    /* the alias records outlive the tree once taken */
    yvias_t *vias = ytree_take_vias(t);
    ck_assert_ptr_nonnull(vias);
    ytree_destroy(t);
    ck_assert_str_eq(via->outer->alias, "route_defaults");
    yvias_destroy(vias);
}
END_TEST

/* The error TEXT gets, which must contain WANT. */
static void assert_refused(const char *text, const char *want)
{
    char err[512];
    int rc;
    ytree_t *t = load(text, err, sizeof(err), &rc);
    ck_assert_msg(!t && rc == MKB_ERR_CONFIG, "accepted: %s", text);
    ck_assert_msg(strstr(err, want), "%s\n  got:  %s\n  want: %s", text, err, want);
}

START_TEST(test_alias_errors)
{
    assert_refused("a: 1\nb: *nope\n",
                   "t.yaml:2:4: error: alias *nope names no anchor: write &nope on a value "
                   "before the alias");
    assert_refused("a: *x\nb: &x 1\n", "t.yaml:1:4: error: alias *x names no anchor");
    assert_refused("a: &x [1, *x]\n",
                   "t.yaml:1:11: error: alias *x is inside the value it names (&x at "
                   "t.yaml:1:4): a cycle");
    assert_refused("a: &x {b: {c: *x}}\n", "t.yaml:1:15: error: alias *x is inside the value");
    assert_refused("a: &x 1\nb: &x 2\n",
                   "t.yaml:2:4: error: anchor &x is defined twice (first at t.yaml:1:4)");
    assert_refused("p: &p 1883\nm:\n  <<: *p\n",
                   "t.yaml:3:7: error: merge key: *p is a scalar (&p at t.yaml:1:4); << takes "
                   "a mapping");
    assert_refused("m:\n  <<: plain\n", "t.yaml:2:7: error: merge key: found a scalar; << takes");
    assert_refused("a: &a {k: 1}\nl: &l [1]\nm: {<<: [*a, *l]}\n",
                   "t.yaml:3:14: error: merge key: *l is a list (&l at t.yaml:2:4) in the list");
    assert_refused("a: &a {k: 1}\nm: {<<: *a, j: 2, <<: *a}\n",
                   "t.yaml:2:19: error: merge key << given twice in one mapping");
}
END_TEST

START_TEST(test_alias_bomb)
{
    /* billion laughs: nine levels of ten, 10^9 nodes if expanded */
    char text[2048];
    int n = snprintf(text, sizeof(text), "a0: &a0 [lol]\n");
    for (int i = 1; i <= 9; i++) {
        int p = i - 1;
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i, p, p,
                      p, p, p, p, p, p, p, p);
    }
    ck_assert_int_lt(n, (int)sizeof(text));
    assert_refused(text, "aliases expand to more than 250000 nodes at *a");
    /* merged into one mapping rather than nested */
    assert_refused("a: &a {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7}\n"
                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b]\n"
                   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d]\n"
                   "f: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
                   "aliases expand to more than 250000 nodes");
    /* an alias deepening the tree past the nesting limit: 40 levels under
     * the anchor, used 27 levels down */
    char deep[2048];
    n = snprintf(deep, sizeof(deep), "a: &d %.40s1%.40s\nb: {c: {d: {e: %.24s*d%.24s}}}\n",
                 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "[[[[[[[[[[[[[[[[[[[[[[[[",
                 "]]]]]]]]]]]]]]]]]]]]]]]]");
    ck_assert_int_lt(n, (int)sizeof(deep));
    assert_refused(deep, "alias *d nests its value deeper than 64 levels");
}
END_TEST

START_TEST(test_empty_document)
{
    char err[256];
    int rc;
    ytree_t *t = load("", err, sizeof(err), &rc);
    ck_assert_int_eq(rc, MKB_OK);
    ck_assert_ptr_null(ytree_root(t));
    ytree_destroy(t);
    ytree_destroy(NULL);
}
END_TEST

START_TEST(test_missing_file)
{
    char err[256];
    ytree_t *t = NULL;
    ck_assert_int_eq(ytree_load_file("/nonexistent/x.yaml", &t, err, sizeof(err)), MKB_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.yaml: cannot open"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ytree");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_positions);
    tcase_add_test(tc, test_syntax_error_location);
    tcase_add_test(tc, test_env_expansion);
    tcase_add_test(tc, test_merge_agrees_with_pyyaml);
    tcase_add_test(tc, test_alias_positions);
    tcase_add_test(tc, test_alias_errors);
    tcase_add_test(tc, test_alias_bomb);
    tcase_add_test(tc, test_empty_document);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);
    return check_run(s);
}
