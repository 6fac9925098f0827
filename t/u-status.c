/* u-status: unit tests for src/status.c, the commit-status requests. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "status.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

#define SHA	"0123456789abcdef0123456789abcdef01234567"
#define RUN	"https://ferry.example/runs/42"

struct req {
	char	*method, *url, *body, *cause;
	int	 rc;
};

static void
build(struct req *r, const char *provider, const char *api, const char *repo,
    const char *sha, enum status_state st, const char *ctx, const char *desc,
    const char *target)
{
	struct status_target	t = { provider, api, repo, sha };
	struct status_update	u = { st, ctx, desc, target };

	r->cause = NULL;
	r->rc = status_request(&t, &u, &r->method, &r->url, &r->body,
	    &r->cause);
}

static void
req_free(struct req *r)
{
	free(r->method);
	free(r->url);
	free(r->body);
	free(r->cause);
}

/* The string field k of the JSON body, copied; NULL if absent. */
static char *
body_field(const char *body, const char *k)
{
	json_t		*o, *v;
	char		*s = NULL;

	if ((o = json_loads(body, 0, NULL)) == NULL)
		return (NULL);
	if ((v = json_object_get(o, k)) != NULL && json_is_string(v))
		s = xstrdup(json_string_value(v));
	json_decref(o);
	return (s);
}

/* Characters (code points) in valid UTF-8 s; -1 if s is not valid. */
static long
utf8_chars(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 left = strlen(s), n;
	long			 c = 0;

	while (left > 0) {
		if ((n = utf8_seq_len(p, left)) == 0)
			return (-1);
		p += n;
		left -= n;
		c++;
	}
	return (c);
}

/* Every provider and state: the exact method, URL and body. */
static void
test_exact(void)
{
	static const char *gh[] = { "pending", "pending", "success",
	    "failure", "error", "error" };
	static const char *gl[] = { "pending", "running", "success",
	    "failed", "failed", "canceled" };
	static const char *bb[] = { "INPROGRESS", "INPROGRESS", "SUCCESSFUL",
	    "FAILED", "FAILED", "STOPPED" };
	static const char *bs[] = { "INPROGRESS", "INPROGRESS", "SUCCESSFUL",
	    "FAILED", "FAILED", "CANCELLED" };
	struct req	 r;
	char		*want;
	int		 s;

	for (s = STATUS_PENDING; s <= STATUS_CANCELED; s++) {
		build(&r, "github", "https://api.github.com", "acme/app", SHA,
		    s, "ferry/build", "Build passed", RUN);
		ok(r.rc == 0, "github %s: built", status_state_name(s));
		is_str(r.method, "POST", "github %s: POST",
		    status_state_name(s));
		is_str(r.url, "https://api.github.com/repos/acme/app/statuses/"
		    SHA, "github %s: URL", status_state_name(s));
		xasprintf(&want, "{\"state\":\"%s\",\"target_url\":\"" RUN
		    "\",\"description\":\"Build passed\",\"context\":"
		    "\"ferry/build\"}", gh[s]);
		is_str(r.body, want, "github %s: body", status_state_name(s));
		free(want);
		req_free(&r);

		build(&r, "gitlab", "https://gitlab.example.com/api/v4/",
		    "acme/app", SHA, s, "ferry/build", "Build passed", RUN);
		ok(r.rc == 0, "gitlab %s: built", status_state_name(s));
		is_str(r.method, "POST", "gitlab %s: POST",
		    status_state_name(s));
		is_str(r.url, "https://gitlab.example.com/api/v4/projects/"
		    "acme%2Fapp/statuses/" SHA, "gitlab %s: URL",
		    status_state_name(s));
		xasprintf(&want, "{\"state\":\"%s\",\"name\":\"ferry/build\","
		    "\"target_url\":\"" RUN "\",\"description\":"
		    "\"Build passed\"}", gl[s]);
		is_str(r.body, want, "gitlab %s: body", status_state_name(s));
		free(want);
		req_free(&r);

		build(&r, s % 2 ? "gitea" : "forgejo",
		    "https://git.example.com/api/v1", "acme/app", SHA, s,
		    "ferry/build", "Build passed", RUN);
		ok(r.rc == 0, "gitea/forgejo %s: built", status_state_name(s));
		is_str(r.method, "POST", "gitea/forgejo %s: POST",
		    status_state_name(s));
		is_str(r.url, "https://git.example.com/api/v1/repos/acme/app/"
		    "statuses/" SHA, "gitea/forgejo %s: URL",
		    status_state_name(s));
		xasprintf(&want, "{\"state\":\"%s\",\"target_url\":\"" RUN
		    "\",\"description\":\"Build passed\",\"context\":"
		    "\"ferry/build\"}", gh[s]);
		is_str(r.body, want, "gitea/forgejo %s: body",
		    status_state_name(s));
		free(want);
		req_free(&r);

		build(&r, "bitbucket", "https://api.bitbucket.org/2.0",
		    "acme/app", SHA, s, "ferry/build", "Build passed", RUN);
		ok(r.rc == 0, "bitbucket %s: built", status_state_name(s));
		is_str(r.method, "POST", "bitbucket %s: POST",
		    status_state_name(s));
		is_str(r.url, "https://api.bitbucket.org/2.0/repositories/"
		    "acme/app/commit/" SHA "/statuses/build",
		    "bitbucket %s: URL", status_state_name(s));
		xasprintf(&want, "{\"key\":\"ferry/build\",\"state\":\"%s\","
		    "\"name\":\"ferry/build\",\"url\":\"" RUN "\","
		    "\"description\":\"Build passed\"}", bb[s]);
		is_str(r.body, want, "bitbucket %s: body",
		    status_state_name(s));
		free(want);
		req_free(&r);

		build(&r, "bitbucket-server", "https://bb.example.com/ctx",
		    "PRJ/app", SHA, s, "ferry/build", "Build passed", RUN);
		ok(r.rc == 0, "bitbucket-server %s: built",
		    status_state_name(s));
		is_str(r.method, "POST", "bitbucket-server %s: POST",
		    status_state_name(s));
		is_str(r.url, "https://bb.example.com/ctx/rest/api/latest/"
		    "projects/PRJ/repos/app/commits/" SHA "/builds",
		    "bitbucket-server %s: URL", status_state_name(s));
		xasprintf(&want, "{\"key\":\"ferry/build\",\"state\":\"%s\","
		    "\"name\":\"ferry/build\",\"url\":\"" RUN "\","
		    "\"description\":\"Build passed\"}", bs[s]);
		is_str(r.body, want, "bitbucket-server %s: body",
		    status_state_name(s));
		free(want);
		req_free(&r);
	}
}

static void
test_optional(void)
{
	struct req	r;

	build(&r, "github", "https://api.github.com", "acme/app", SHA,
	    STATUS_RUNNING, "ferry/test", NULL, NULL);
	is_str(r.body, "{\"state\":\"pending\",\"context\":\"ferry/test\"}",
	    "github: no description or target_url, none in the body");
	req_free(&r);
	build(&r, "bitbucket", "https://api.bitbucket.org/2.0", "acme/app",
	    SHA, STATUS_RUNNING, "ferry/test", NULL, NULL);
	ok(r.rc == -1 && r.cause != NULL && strstr(r.cause, "target_url"),
	    "bitbucket: url is required, refused without one");
	req_free(&r);
	build(&r, "bitbucket-server", "https://bb.example.com", "~alice/app",
	    SHA, STATUS_SUCCESS, "ferry/test", NULL, RUN);
	is_str(r.url, "https://bb.example.com/rest/api/latest/projects/"
	    "~alice/repos/app/commits/" SHA "/builds",
	    "bitbucket-server: a personal project ~user");
	req_free(&r);
	build(&r, "github", "https://api.github.com", "acme/app",
	    "0123456789ABCDEF0123456789ABCDEF01234567", STATUS_SUCCESS, "c",
	    NULL, NULL);
	ok(r.rc == 0 && strstr(r.url, SHA) != NULL, "upper-case sha lowered");
	req_free(&r);
	build(&r, "gitea", "http://127.0.0.1:3000/api/v1", "acme/app",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    STATUS_SUCCESS, "c", NULL, NULL);
	ok(r.rc == 0, "a 64-digit SHA-256 commit id is accepted");
	req_free(&r);
}

static void
test_gitlab_path(void)
{
	struct req	r;

	build(&r, "gitlab", "https://gitlab.example.com/api/v4",
	    "group/sub/name", SHA, STATUS_SUCCESS, "ferry/build", NULL, RUN);
	is_str(r.url, "https://gitlab.example.com/api/v4/projects/"
	    "group%2Fsub%2Fname/statuses/" SHA,
	    "gitlab: group/sub/name is group%%2Fsub%%2Fname");
	req_free(&r);
	build(&r, "gitlab", "https://gitlab.example.com/api/v4",
	    "a.b/c_d-e/f.g", SHA, STATUS_SUCCESS, "x", NULL, NULL);
	is_str(r.url, "https://gitlab.example.com/api/v4/projects/"
	    "a.b%2Fc_d-e%2Ff.g/statuses/" SHA,
	    "gitlab: dots, dashes and underscores stay as they are");
	req_free(&r);
	build(&r, "github", "https://api.github.com", "group/sub/name", SHA,
	    STATUS_SUCCESS, "x", NULL, NULL);
	ok(r.rc == -1, "github: three segments refused");
	req_free(&r);
	build(&r, "gitlab", "https://gitlab.example.com/api/v4", "x"
	    "/y/z", SHA, STATUS_SUCCESS, "x", NULL, RUN "/" "a?b=1&c=%20#f");
	ok(r.rc == 0, "gitlab: a target_url with query and fragment is fine");
	req_free(&r);
	{
		char	long_url[300];

		memset(long_url, 'a', sizeof long_url - 1);
		long_url[sizeof long_url - 1] = '\0';
		memcpy(long_url, "https://x.example/", 18);
		build(&r, "gitlab", "https://gitlab.example.com/api/v4",
		    "a/b", SHA, STATUS_SUCCESS, "x", NULL, long_url);
		ok(r.rc == -1, "gitlab: target_url over 255 refused");
		req_free(&r);
		build(&r, "github", "https://api.github.com", "a/b", SHA,
		    STATUS_SUCCESS, "x", NULL, long_url);
		ok(r.rc == 0, "github: the same long target_url is fine");
		req_free(&r);
	}
}

static void
test_truncation(void)
{
	struct buf	 b;
	struct req	 r;
	char		*d;
	int		 i;

	/* 150 two-byte characters: cut to 139 and an ellipsis. */
	buf_init(&b);
	for (i = 0; i < 150; i++)
		buf_addstr(&b, "\xc3\xa9");
	build(&r, "github", "https://api.github.com", "a/b", SHA,
	    STATUS_FAILURE, "x", b.data, NULL);
	d = body_field(r.body, "description");
	ok(d != NULL && utf8_chars(d) == 140,
	    "github: description cut to 140 characters (%ld)",
	    d ? utf8_chars(d) : -2L);
	ok(d != NULL && strlen(d) == 139 * 2 + 3 &&
	    strcmp(d + 278, "\xe2\x80\xa6") == 0,
	    "github: 139 whole characters and an ellipsis");
	free(d);
	req_free(&r);
	buf_free(&b);

	/* Exactly 140 four-byte characters: kept whole. */
	buf_init(&b);
	for (i = 0; i < 140; i++)
		buf_addstr(&b, "\xf0\x9f\x9a\x80");
	build(&r, "github", "https://api.github.com", "a/b", SHA,
	    STATUS_FAILURE, "x", b.data, NULL);
	d = body_field(r.body, "description");
	is_str(d, b.data, "github: 140 characters are not cut");
	free(d);
	req_free(&r);

	/* 141 of them: never cut inside one. */
	buf_addstr(&b, "\xf0\x9f\x9a\x80");
	build(&r, "github", "https://api.github.com", "a/b", SHA,
	    STATUS_FAILURE, "x", b.data, NULL);
	d = body_field(r.body, "description");
	ok(d != NULL && utf8_chars(d) == 140 && strlen(d) == 139 * 4 + 3,
	    "github: four-byte characters cut between, not inside");
	free(d);
	req_free(&r);

	/* GitLab's limit is larger: the same text is kept. */
	buf_free(&b);
	buf_init(&b);
	for (i = 0; i < 200; i++)
		buf_addstr(&b, "x");
	build(&r, "gitlab", "https://g.example/api/v4", "a/b", SHA,
	    STATUS_FAILURE, "x", b.data, NULL);
	d = body_field(r.body, "description");
	is_str(d, b.data, "gitlab: 200 characters kept");
	free(d);
	req_free(&r);
	buf_free(&b);

	/* Bytes that are not UTF-8 become U+FFFD; controls become spaces. */
	build(&r, "github", "https://api.github.com", "a/b", SHA,
	    STATUS_FAILURE, "x", "bad \xff\xc3 byte\r\nnext\tline", NULL);
	ok(r.rc == 0, "invalid UTF-8 in a description is not fatal");
	d = body_field(r.body, "description");
	is_str(d, "bad \xef\xbf\xbd\xef\xbf\xbd byte  next line",
	    "invalid bytes replaced, line breaks flattened");
	free(d);
	req_free(&r);
}

static void
test_key(void)
{
	struct req	 r;
	char		 hex[SHA256_HEX_LEN + 1], *k1, *k2, *want;
	const char	*c40 = "ferry/build/0123456789012345678901234567";
	const char	*c41 = "ferry/build/01234567890123456789012345678";
	const char	*c41b = "ferry/build/01234567890123456789012345679";

	ok(strlen(c40) == 40 && strlen(c41) == 41, "key fixtures");
	build(&r, "bitbucket", "https://api.bitbucket.org/2.0", "a/b", SHA,
	    STATUS_SUCCESS, c40, NULL, RUN);
	k1 = body_field(r.body, "key");
	is_str(k1, c40, "bitbucket: a 40-byte key is kept");
	free(k1);
	req_free(&r);

	build(&r, "bitbucket", "https://api.bitbucket.org/2.0", "a/b", SHA,
	    STATUS_SUCCESS, c41, NULL, RUN);
	k1 = body_field(r.body, "key");
	sha256_hex(c41, strlen(c41), hex);
	xasprintf(&want, "%.27s-%.12s", c41, hex);
	is_str(k1, want, "bitbucket: a 41-byte key is head + hash");
	ok(k1 != NULL && strlen(k1) == 40, "bitbucket: shortened key is 40");
	k2 = body_field(r.body, "name");
	is_str(k2, c41, "bitbucket: the name keeps the whole context");
	free(k2);
	free(want);
	req_free(&r);

	build(&r, "bitbucket", "https://api.bitbucket.org/2.0", "a/b", SHA,
	    STATUS_FAILURE, c41, NULL, RUN);
	k2 = body_field(r.body, "key");
	is_str(k2, k1, "bitbucket: the same context, the same key");
	free(k2);
	req_free(&r);

	build(&r, "bitbucket", "https://api.bitbucket.org/2.0", "a/b", SHA,
	    STATUS_SUCCESS, c41b, NULL, RUN);
	k2 = body_field(r.body, "key");
	ok(k2 != NULL && strcmp(k1, k2) != 0 && strncmp(k1, k2, 27) == 0,
	    "bitbucket: contexts sharing a head get different keys");
	free(k1);
	free(k2);
	req_free(&r);

	/* A multi-byte character across the cut: the head backs off. */
	build(&r, "bitbucket", "https://api.bitbucket.org/2.0", "a/b", SHA,
	    STATUS_SUCCESS, "ferry/stage-\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9", NULL, RUN);
	k1 = body_field(r.body, "key");
	ok(k1 != NULL && utf8_chars(k1) > 0 && strlen(k1) <= 40,
	    "bitbucket: a shortened key stays valid UTF-8 (%s)",
	    k1 ? k1 : "null");
	free(k1);
	req_free(&r);

	/* Other hosts keep long contexts whole. */
	build(&r, "github", "https://api.github.com", "a/b", SHA,
	    STATUS_SUCCESS, c41, NULL, NULL);
	k1 = body_field(r.body, "context");
	is_str(k1, c41, "github: a long context is kept");
	free(k1);
	req_free(&r);
}

static void
test_hostile(void)
{
	static const char *repos[] = {
		"../x", "a/..", "../../etc/passwd", "a/.", "./a", "a/b?x=1",
		"a/b#frag", "a b/c", "a/b c", "a/b\n", "a\r/b", "a//b", "/a/b",
		"a/b/", "a", "", "a/b%2F..", "a/b;c", "a/\xc3\xa9", "a\\b/c",
		"~/b", "a/~b", NULL
	};
	static const char *shas[] = {
		"", "0123456", "0123456789abcdef0123456789abcdef0123456",
		"0123456789abcdef0123456789abcdef012345678",
		"g123456789abcdef0123456789abcdef01234567",
		"0123456789abcdef0123456789abcdef0123456/",
		"0123456789abcdef 0123456789abcdef0123456", NULL
	};
	static const char *apis[] = {
		"ftp://h/x", "file:///etc", "https://", "https:///x", "h/x",
		"javascript:alert(1)", "https://h/x?y=1", "https://h/x#f",
		"https://h x/", "https://h/\nx", "", NULL
	};
	static const char *provs[] = { "github", "gitlab", "gitea",
	    "forgejo", "bitbucket", "bitbucket-server" };
	struct req	 r;
	size_t		 i, p;
	int		 all;
	char		*c;

	for (p = 0; p < sizeof provs / sizeof provs[0]; p++) {
		all = 1;
		for (i = 0; repos[i] != NULL; i++) {
			build(&r, provs[p], "https://h.example/api",
			    repos[i], SHA, STATUS_SUCCESS, "x", NULL, RUN);
			if (r.rc != -1 || r.cause == NULL || r.url != NULL ||
			    r.body != NULL) {
				printf("# %s accepted repo \"%s\"\n",
				    provs[p], repos[i]);
				all = 0;
			}
			req_free(&r);
		}
		ok(all, "%s: hostile repository paths refused", provs[p]);
		all = 1;
		for (i = 0; shas[i] != NULL; i++) {
			build(&r, provs[p], "https://h.example/api", "a/b",
			    shas[i], STATUS_SUCCESS, "x", NULL, RUN);
			all &= r.rc == -1 && r.cause != NULL;
			req_free(&r);
		}
		build(&r, provs[p], "https://h.example/api", "a/b", NULL,
		    STATUS_SUCCESS, "x", NULL, RUN);
		all &= r.rc == -1;
		req_free(&r);
		ok(all, "%s: bad shas refused", provs[p]);
		all = 1;
		for (i = 0; apis[i] != NULL; i++) {
			build(&r, provs[p], apis[i], "a/b", SHA,
			    STATUS_SUCCESS, "x", NULL, RUN);
			if (r.rc != -1) {
				printf("# %s accepted api_url \"%s\"\n",
				    provs[p], apis[i]);
				all = 0;
			}
			req_free(&r);
		}
		ok(all, "%s: api_urls that are not http(s) roots refused",
		    provs[p]);
		build(&r, provs[p], "https://h.example/api", "a/b", SHA,
		    STATUS_SUCCESS, "x", NULL, "javascript:alert(1)");
		ok(r.rc == -1, "%s: a javascript: target_url refused",
		    provs[p]);
		req_free(&r);
		build(&r, provs[p], "https://h.example/api", "a/b", SHA,
		    STATUS_SUCCESS, "", NULL, RUN);
		ok(r.rc == -1, "%s: an empty context refused", provs[p]);
		req_free(&r);
	}

	build(&r, "gogs", "https://h.example/api", "a/b", SHA, STATUS_SUCCESS,
	    "x", NULL, RUN);
	ok(r.rc == -1 && strstr(r.cause, "unknown provider") != NULL,
	    "unknown provider refused: %s", r.cause ? r.cause : "");
	req_free(&r);
	build(&r, NULL, "https://h.example/api", "a/b", SHA, STATUS_SUCCESS,
	    "x", NULL, RUN);
	ok(r.rc == -1, "NULL provider refused");
	req_free(&r);
	build(&r, "github", "https://h.example/api", "a/b", SHA,
	    (enum status_state)17, "x", NULL, RUN);
	ok(r.rc == -1, "an out-of-range state refused");
	req_free(&r);
	build(&r, "github", "HTTPS://h.example/api", "a/b", SHA,
	    STATUS_SUCCESS, "x", NULL, RUN);
	ok(r.rc == 0, "an upper-case scheme is accepted");
	req_free(&r);

	/* Quotes, backslashes and newlines in a context are escaped. */
	build(&r, "github", "https://api.github.com", "a/b", SHA,
	    STATUS_SUCCESS, "ferry/\"x\"\n\\y", "say \"hi\"", NULL);
	ok(r.rc == 0 && strchr(r.body, '\n') == NULL,
	    "a context with a newline: the body stays one line");
	ok(r.body != NULL && strstr(r.body,
	    "\"context\":\"ferry/\\\"x\\\"\\n\\\\y\"") != NULL,
	    "quotes, newline and backslash escaped: %s", r.body);
	c = body_field(r.body, "context");
	is_str(c, "ferry/\"x\"\n\\y", "the context round-trips through JSON");
	free(c);
	req_free(&r);
}

static void
test_auth(void)
{
	static const struct {
		const char	*provider, *want;
	} t[] = {
		{ "github", "Authorization: Bearer s3cr3t" },
		{ "gitlab", "PRIVATE-TOKEN: s3cr3t" },
		{ "gitea", "Authorization: token s3cr3t" },
		{ "forgejo", "Authorization: token s3cr3t" },
		{ "bitbucket", "Authorization: Bearer s3cr3t" },
		{ "bitbucket-server", "Authorization: Bearer s3cr3t" },
	};
	char	*h;
	size_t	 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		h = status_auth_header(t[i].provider, "s3cr3t");
		is_str(h, t[i].want, "auth header for %s", t[i].provider);
		free(h);
		ok(status_provider_known(t[i].provider), "%s is known",
		    t[i].provider);
	}
	ok(status_auth_header("gogs", "s3cr3t") == NULL,
	    "no auth header for an unknown provider");
	ok(!status_provider_known("gogs"), "gogs is not known");
	ok(status_auth_header(NULL, "s3cr3t") == NULL, "nor for NULL");
	ok(status_auth_header("github", "s3cr3t\r\nX-Evil: 1") == NULL,
	    "a token with CR LF cannot inject a header");
	ok(status_auth_header("github", "a b") == NULL, "a token with a space");
	ok(status_auth_header("github", "") == NULL, "an empty token");
	ok(status_auth_header("github", NULL) == NULL, "a NULL token");
}

static void
test_names(void)
{
	is_str(status_state_name(STATUS_PENDING), "pending", "pending");
	is_str(status_state_name(STATUS_RUNNING), "running", "running");
	is_str(status_state_name(STATUS_SUCCESS), "success", "success");
	is_str(status_state_name(STATUS_FAILURE), "failure", "failure");
	is_str(status_state_name(STATUS_ERROR), "error", "error");
	is_str(status_state_name(STATUS_CANCELED), "canceled", "canceled");
	is_str(status_state_name((enum status_state)99), "unknown",
	    "out of range");
}

int
main(void)
{
	test_exact();
	test_optional();
	test_gitlab_path();
	test_truncation();
	test_key();
	test_hostile();
	test_auth();
	test_names();
	return (tap_done());
}
