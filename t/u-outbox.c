/*
 * u-outbox: unit tests for the outbox's pure helpers (backoff, answer
 * snippets, host for logs) and its rows in the store (src/store_outbox.c).
 */
#include "config.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbox.h"
#include "store.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

static void
test_backoff(void)
{
	long		d, lo, hi, want;
	int		i, spread = 0;
	uint32_t	r;

	/* Without jitter's extremes: rnd picks the low and the high end. */
	for (i = 1; i <= 6; i++) {
		want = 1000L << (i - 1);
		lo = outbox_backoff(i, 0, 300000, 0);
		hi = outbox_backoff(i, 0, 300000, (uint32_t)(2 * (want / 10)));
		ok(lo == want - want / 10 && hi == want + want / 10,
		    "attempt %d: %ld..%ld around %ld", i, lo, hi, want);
	}
	ok(outbox_backoff(30, 0, 300000, 12345) <= 300000,
	    "capped at max_delay after many attempts");
	ok(outbox_backoff(30, 0, 300000, 0) >= 270000,
	    "and jitter stays within a tenth below the cap");
	ok(outbox_backoff(1000000, 0, 300000, 7) <= 300000,
	    "no overflow for absurd attempt counts");
	ok(outbox_backoff(1, 0, 200, 99) <= 200 &&
	    outbox_backoff(1, 0, 200, 0) >= 180,
	    "a max_delay below the first delay caps it");
	ok(outbox_backoff(1, 0, 0, 5) == 0, "max_delay 0: no wait");
	ok(outbox_backoff(1, 7000, 300000, 0) == 7000,
	    "Retry-After longer than the backoff is honoured");
	ok(outbox_backoff(5, 100, 300000, 0) == 14400,
	    "Retry-After shorter than the backoff changes nothing");
	ok(outbox_backoff(1, 86400000, 60000, 0) == 60000,
	    "Retry-After is believed up to max_delay only");
	for (i = 0, r = 1; i < 50; i++, r = r * 1103515245 + 12345) {
		d = outbox_backoff(3, 0, 300000, r);
		if (d < 3600 || d > 4400)
			break;
		if (d != 4000)
			spread = 1;
	}
	ok(i == 50 && spread, "jitter stays within a tenth and varies");
}

static void
test_snippet(void)
{
	char	out[OUTBOX_SNIPPET + 1], big[300], small[8];

	outbox_snippet("no\r\nsuch\thook\x7f", 14, out, sizeof out);
	is_str(out, "no  such hook ", "control characters become spaces");
	outbox_snippet("a\xff" "b\xc3", 4, out, sizeof out);
	is_str(out, "a?b?", "bytes that are not UTF-8 become '?'");
	outbox_snippet("caf\xc3\xa9 \xe2\x82\xac", 9, out, sizeof out);
	is_str(out, "caf\xc3\xa9 \xe2\x82\xac", "UTF-8 is kept");
	memset(big, 'x', sizeof big);
	outbox_snippet(big, sizeof big, out, sizeof out);
	ok(strlen(out) == OUTBOX_SNIPPET, "at most %d bytes kept",
	    OUTBOX_SNIPPET);
	/* A two-byte character straddling byte 200 is dropped whole. */
	big[199] = '\xc3';
	big[200] = '\xa9';
	outbox_snippet(big, sizeof big, out, sizeof out);
	ok(strlen(out) == OUTBOX_SNIPPET - 1 && out[198] == 'x',
	    "a character cut by the cap is dropped");
	outbox_snippet("abcdefghij", 10, small, sizeof small);
	is_str(small, "abcdefg", "the output size is respected");
	outbox_snippet("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 9, small,
	    sizeof small);
	is_str(small, "\xe2\x82\xac\xe2\x82\xac",
	    "and no character is split to fit it");
	outbox_snippet("", 0, out, sizeof out);
	is_str(out, "", "empty answer");
}

static void
test_host(void)
{
	char	h[64], tiny[5];

	outbox_url_host("https://hooks.slack.com/services/T0/B0/SECRET", h,
	    sizeof h);
	is_str(h, "hooks.slack.com", "host without the (secret) path");
	outbox_url_host("http://user:pw@127.0.0.1:8080/x?y", h, sizeof h);
	is_str(h, "127.0.0.1:8080", "user and password left out");
	outbox_url_host("http://a@b@host?q", h, sizeof h);
	is_str(h, "host", "the last @ ends the user part");
	outbox_url_host("https://[::1]:443#f", h, sizeof h);
	is_str(h, "[::1]:443", "IPv6 literal and port");
	outbox_url_host("http://h\x01st\xff/", h, sizeof h);
	is_str(h, "h?st?", "odd bytes shown as '?'");
	outbox_url_host("https://example.com/", tiny, sizeof tiny);
	is_str(tiny, "exam", "truncated to the buffer");
}

static void
test_store(void)
{
	struct store_outbox_new	 m;
	struct store		*st;
	char			 dir[] = "/tmp/u-outbox.XXXXXX", *path;
	char			*cause = NULL;
	json_t			*rows, *row;
	int64_t			 a, b, c, d;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	xasprintf(&path, "%s/ferry.db", dir);
	st = store_open(path, 0, &cause);
	ok(st != NULL, "store opens (%s)", cause != NULL ? cause : "ok");
	if (st == NULL) {
		free(cause);
		free(path);
		return;
	}
	memset(&m, 0, sizeof m);
	m.kind = "webhook";
	m.url = "https://u:p@example.com/hook/SECRET";
	m.method = "POST";
	m.content_type = "application/json";
	m.body = "{\"a\":1}";
	m.dedupe = "k1";
	a = store_outbox_add(st, &m);
	m.body = "{\"a\":2}";
	b = store_outbox_add(st, &m);
	ok(a > 0 && b == a, "a taken dedupe key returns the first id");
	m.dedupe = NULL;
	c = store_outbox_add(st, &m);
	d = store_outbox_add(st, &m);
	ok(c > a && d > c, "messages without a key are all added");
	ok(store_outbox_count(st, "pending") == 3, "three pending");

	/* Inside a transaction that rolls back, nothing stays. */
	store_begin(st);
	ok(store_outbox_add(st, &m) > d, "added inside a transaction");
	store_rollback(st);
	ok(store_outbox_count(st, "pending") == 3, "gone after a rollback");

	ok(store_outbox_done(st, c, "pending", now_ms() + 60000,
	    "HTTP 503: busy") == 0, "c to be retried in a minute");
	ok(store_outbox_done(st, a, "sent", 0, NULL) == 0, "a sent");
	ok(store_outbox_done(st, a, "dead", 0, "late") == 0 &&
	    store_outbox_count(st, "sent") == 1,
	    "a result for a finished row changes nothing");
	rows = store_outbox_next(st, 10);
	ok(rows != NULL && json_array_size(rows) == 2 &&
	    json_integer_value(json_object_get(json_array_get(rows, 0),
	    "id")) == d && json_integer_value(json_object_get(
	    json_array_get(rows, 1), "id")) == c,
	    "pending rows, the soonest due first");
	json_decref(rows);
	ok(store_outbox_kill(st, d, "auth: no such secret") == 0 &&
	    store_outbox_count(st, "dead") == 1, "d killed");

	rows = store_outbox_list(st, NULL, 10);
	ok(rows != NULL && json_array_size(rows) == 3, "list shows all");
	row = json_array_get(rows, 1);
	ok(json_integer_value(json_object_get(row, "id")) == c &&
	    json_integer_value(json_object_get(row, "attempts")) == 1 &&
	    strcmp(json_string_value(json_object_get(row, "last_error")),
	    "HTTP 503: busy") == 0, "newest first, attempts and error");
	ok(json_object_get(row, "body") == NULL &&
	    json_object_get(row, "url") == NULL &&
	    strcmp(json_string_value(json_object_get(row, "host")),
	    "example.com") == 0, "no body and no URL, only its host");
	json_decref(rows);
	rows = store_outbox_list(st, "sent", 10);
	ok(rows != NULL && json_array_size(rows) == 1 &&
	    json_integer_value(json_object_get(json_array_get(rows, 0),
	    "sent_at")) > 0, "list by state; sent_at stamped");
	json_decref(rows);

	store_close(st);
	remove_tree(dir);
	free(path);
}

int
main(void)
{
	test_backoff();
	test_snippet();
	test_host();
	test_store();
	return (tap_done());
}
