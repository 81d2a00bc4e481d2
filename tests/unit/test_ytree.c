// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
#include "err.h"
#include "ytree.h"

#include <check.h>

#include "check_run.h"
#include <stdlib.h>
#include <string.h>

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

START_TEST(test_aliases_rejected)
{
    char err[256];
    int rc;
    ytree_t *t = load("a: &x 1\nb: *x\n", err, sizeof(err), &rc);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err, "t.yaml:2:4: error: YAML aliases"));
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
    tcase_add_test(tc, test_aliases_rejected);
    tcase_add_test(tc, test_empty_document);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);
    return check_run(s);
}
