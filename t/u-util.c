/* u-util: unit tests for src/util.c and src/headers.c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

static void
test_hmac(void)
{
	unsigned char	mac[32];
	char		hex[65];

	/* GitHub's documented example (validating-webhook-deliveries). */
	ok(hmac_sha256("It's a Secret to Everybody", 26, "Hello, World!", 13,
	    mac) == 0, "hmac computes");
	hex_encode(mac, 32, hex);
	is_str(hex, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
	    "GitHub's signature test vector");
	/* RFC 4231 test case 2. */
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex_encode(mac, 32, hex);
	is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    "RFC 4231 test case 2");
}

static void
test_hex(void)
{
	unsigned char	out[2];

	ok(hex_decode("aBcD", 4, out, 2) == 0 && out[0] == 0xab &&
	    out[1] == 0xcd, "hex decodes either case");
	ok(hex_decode("abc", 3, out, 2) == -1, "odd hex length refused");
	ok(hex_decode("zz00", 4, out, 2) == -1, "non-hex refused");
	ok(ct_equal("abc", 3, "abc", 3) == 1, "ct_equal equal");
	ok(ct_equal("abc", 3, "abd", 3) == 0, "ct_equal differs");
	ok(ct_equal("abc", 3, "abcd", 4) == 0, "ct_equal lengths differ");
}

static void
test_refs(void)
{
	static const char *good[] = {
		"refs/heads/main", "refs/tags/v1.2.0", "refs/heads/a;b",
		"refs/heads/$(touch${IFS}/tmp/pwned)", "refs/heads/`id`",
		"refs/heads/x|y&z", "refs/heads/it's", "refs/heads/feature/x",
		"refs/heads/für", NULL
	};
	static const char *bad[] = {
		"main", "refs/heads/$(touch /tmp/pwned)", "refs/heads/a\nb",
		"refs/heads/a\rb", "refs/heads/../etc", "refs/heads/a..b",
		"refs/heads/a b", "refs/heads/.hidden", "refs/heads/x.lock",
		"refs/heads/x/", "refs/heads/a@{1}", "refs/heads/a~1",
		"refs/heads/a^", "refs/heads/a:b", "refs/heads/a?",
		"refs/heads/a*", "refs/heads/a[", "refs/heads/a\\b",
		"refs/heads//a", "refs/heads", "refs/heads/x.", "", NULL
	};
	int	i;

	for (i = 0; good[i] != NULL; i++)
		ok(ref_is_valid(good[i]), "valid ref %s", good[i]);
	for (i = 0; bad[i] != NULL; i++)
		ok(!ref_is_valid(bad[i]), "invalid ref #%d refused", i);
	ok(sha_is_valid("366701fde727cb7a9e7f21eb88264f59f6f9b89c"),
	    "40-hex sha");
	ok(sha_is_valid("006704dbeab2"), "12-hex abbreviated sha");
	ok(!sha_is_valid("$(id)"), "shell in sha refused");
	ok(!sha_is_valid("abc"), "too short sha refused");
	ok(sha_is_zero("0000000000000000000000000000000000000000"),
	    "40 zeros");
	ok(sha_is_zero("0000000000000000000000000000000000000000000000000000000000000000"),
	    "64 zeros");
	ok(!sha_is_zero("0000000000000000000000000000000000000001"),
	    "not zeros");
}

static void
test_glob(void)
{
	ok(glob_match("main", "main"), "literal glob");
	ok(glob_match("v*", "v1.2.3"), "prefix glob");
	ok(!glob_match("release/*", "release/a/b"), "* stops at /");
	ok(glob_match("release/**", "release/a/b"), "** crosses /");
	ok(!glob_match("main", "maint"), "no partial match");
}

static void
test_misc(void)
{
	struct headers	 h;
	char		*d;
	size_t		 len;
	int64_t		 ms;

	d = url_decode("a%20b+c%7B", 10, &len);
	is_str(d, "a b c{", "url_decode");
	free(d);
	ok(url_decode("%2", 2, &len) == NULL, "truncated escape refused");
	ok(url_decode("%zz", 3, &len) == NULL, "bad escape refused");
	ok(parse_duration("90s", &ms) == 0 && ms == 90000, "90s");
	ok(parse_duration("10m", &ms) == 0 && ms == 600000, "10m");
	ok(parse_duration("1h", &ms) == 0 && ms == 3600000, "1h");
	ok(parse_duration("250ms", &ms) == 0 && ms == 250, "250ms");
	ok(parse_duration("5x", &ms) == -1, "bad unit refused");

	headers_init(&h);
	ok(headers_add_line(&h, "X-GitHub-Event:  push ") == 0, "header line");
	ok(headers_add_line(&h, "no colon") == -1, "header without colon");
	is_str(headers_get(&h, "x-github-event"), "push",
	    "case-insensitive lookup, value trimmed");
	ok(headers_get(&h, "X-Missing") == NULL, "missing header");
	headers_clear(&h);
}

static void
test_buf(void)
{
	struct buf	b;

	buf_init(&b);
	buf_add_json_str(&b, "a\"b\\c\n\x01/f\xc3\xbcr \xff\xc0\xaf end");
	is_str(b.data, "\"a\\\"b\\\\c\\n\\u0001/f\xc3\xbcr \\ufffd\\ufffd\\ufffd end\"",
	    "JSON string escaping; bytes that are not UTF-8 become U+FFFD");
	buf_free(&b);
	buf_add_json_str(&b, NULL);
	buf_addstr(&b, ",");
	buf_add_int(&b, -42);
	is_str(b.data, "null,-42", "null and integers");
	buf_free(&b);
	ok(utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 4) == 4,
	    "4-byte UTF-8");
	ok(utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3) == 0,
	    "encoded surrogate refused");
	ok(utf8_seq_len((const unsigned char *)"\xe2\x82", 2) == 0,
	    "truncated sequence refused");
}

int
main(void)
{
	test_hmac();
	test_hex();
	test_refs();
	test_glob();
	test_misc();
	test_buf();
	return (tap_done());
}
