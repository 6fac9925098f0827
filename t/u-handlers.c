/*
 * Unit tests for the webhook handlers: detection by headers, signature and
 * token checks (good secret, wrong secret, missing header), and the
 * normalized events each provider's payloads turn into, field by field.
 * Payloads are the fixtures in $T_SRCDIR/fixtures.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

#define SECRET	"s3cr3t-shop"
#define WRONG	"s3cr3t-shoq"
#define ZEROS	"0000000000000000000000000000000000000000"

/* One request under test: its headers, its body and the view handlers get. */
struct treq {
	struct headers		 h;
	char			*body;
	size_t			 len;
	struct handler_request	 r;
};

/* What one normalized event should hold; created and forced -1 = null. */
struct want {
	const char	*kind;
	const char	*ref;
	const char	*sha;
	const char	*before;
	int		 created;
	int		 deleted;
	int		 forced;
	const char	*repo;
	const char	*clone_url;
	const char	*target_branch;
	long long	 pr_number;
	const char	*sender;
};

static void
treq_set_body(struct treq *t, char *body, size_t len)
{
	free(t->body);
	t->body = body;
	t->len = len;
	t->r.body = body;
	t->r.bodylen = len;
}

/* A request with the body of fixture name, or an empty one if NULL. */
static void
treq_init(struct treq *t, const char *name)
{
	const char	*dir;
	char		*path, *body, *cause = NULL;
	size_t		 len = 0;

	memset(t, 0, sizeof *t);
	headers_init(&t->h);
	t->r.headers = &t->h;
	if (name == NULL) {
		treq_set_body(t, xstrdup(""), 0);
		return;
	}
	if ((dir = getenv("T_SRCDIR")) == NULL)
		dir = "t";
	xasprintf(&path, "%s/fixtures/%s", dir, name);
	if ((body = read_file(path, 1 << 20, &len, &cause)) == NULL) {
		printf("Bail out! %s\n", cause);
		exit(1);
	}
	free(path);
	treq_set_body(t, body, len);
}

static void
treq_set_str(struct treq *t, const char *s)
{
	treq_set_body(t, xstrdup(s), strlen(s));
}

static void
treq_header(struct treq *t, const char *name, const char *value)
{
	headers_add(&t->h, name, strlen(name), value, strlen(value));
}

/* Add header name: prefix + hex HMAC-SHA256 of data under secret. */
static void
treq_sign_data(struct treq *t, const char *name, const char *prefix,
    const char *secret, const void *data, size_t len)
{
	unsigned char	 mac[32];
	char		 hex[65], *value;

	if (hmac_sha256(secret, strlen(secret), data, len, mac) != 0) {
		printf("Bail out! hmac_sha256 failed\n");
		exit(1);
	}
	hex_encode(mac, sizeof mac, hex);
	xasprintf(&value, "%s%s", prefix, hex);
	treq_header(t, name, value);
	free(value);
}

static void
treq_sign(struct treq *t, const char *name, const char *prefix)
{
	treq_sign_data(t, name, prefix, SECRET, t->body, t->len);
}

static void
treq_free(struct treq *t)
{
	headers_clear(&t->h);
	free(t->body);
}

/*
 * The three signature cases for a request that does not carry header name
 * yet: missing fails, then (once signed) the secret passes and another
 * secret fails.
 */
static void
check_verify(const struct handler *h, struct treq *t, const char *name,
    const char *prefix, const char *title)
{
	char	*cause = NULL;

	ok(h->verify(&t->r, SECRET, strlen(SECRET), &cause) == -1 &&
	    cause != NULL, "%s: missing %s fails", title, name);
	free(cause);
	cause = NULL;
	treq_sign(t, name, prefix);
	ok(h->verify(&t->r, SECRET, strlen(SECRET), &cause) == 0 &&
	    cause == NULL, "%s: good signature passes", title);
	free(cause);
	cause = NULL;
	ok(h->verify(&t->r, WRONG, strlen(WRONG), &cause) == -1 &&
	    cause != NULL, "%s: wrong secret fails", title);
	free(cause);
}

/* Parse a request that must succeed and give n events. */
static int
check_parse(const struct handler *h, struct treq *t,
    struct gitevent_list *list, size_t n, const char *title)
{
	char	*cause = NULL;
	int	 rc;

	rc = h->parse(&t->r, list, &cause);
	ok(rc == 0, "%s: parses", title);
	if (rc != 0)
		printf("#   cause: %s\n", cause != NULL ? cause : "(none)");
	free(cause);
	ok(list->n == n, "%s: %zu event(s)", title, n);
	return (rc == 0 && list->n == n ? 0 : -1);
}

/* Parse a request that must fail with a cause starting with want. */
static void
check_parse_fails(const struct handler *h, struct treq *t, const char *want,
    const char *title)
{
	struct gitevent_list	 list = { NULL, 0 };
	char			*cause = NULL;

	ok(h->parse(&t->r, &list, &cause) == -1 && cause != NULL &&
	    strncmp(cause, want, strlen(want)) == 0, "%s: fails with \"%s\"",
	    title, want);
	if (cause != NULL && strncmp(cause, want, strlen(want)) != 0)
		printf("#   cause: %s\n", cause);
	free(cause);
	gitevent_list_free(&list);
}

static void
is_num(long long got, long long want, const char *title, const char *what)
{
	ok(got == want, "%s: %s", title, what);
	if (got != want)
		printf("#   got %lld, want %lld\n", got, want);
}

/* Every field of an event against w; events that start runs must check. */
static void
check_event(const struct gitevent *ev, const struct want *w,
    const char *title)
{
	char	*cause = NULL;

	is_str(gitevent_kind_name(ev->kind), w->kind, "%s: kind", title);
	is_str(ev->ref, w->ref, "%s: ref", title);
	is_str(ev->sha, w->sha, "%s: sha", title);
	is_str(ev->before, w->before, "%s: before", title);
	is_num(ev->created, w->created, title, "created");
	is_num(ev->deleted, w->deleted, title, "deleted");
	is_num(ev->forced, w->forced, title, "forced");
	is_str(ev->repo, w->repo, "%s: repo", title);
	is_str(ev->clone_url, w->clone_url, "%s: clone_url", title);
	is_str(ev->target_branch, w->target_branch, "%s: target_branch",
	    title);
	is_num(ev->pr_number, w->pr_number, title, "pr_number");
	is_str(ev->sender, w->sender, "%s: sender", title);
	if (ev->kind == GITEVENT_IGNORE)
		ok(ev->reason != NULL && *ev->reason != '\0',
		    "%s: has a reason", title);
	else
		ok(gitevent_check(ev, &cause) == 0, "%s: passes gitevent_check",
		    title);
	free(cause);
}

/* Load fixture name with headers (name, value, ..., NULL), parse, check. */
static void
check_fixture(const struct handler *h, const char *fixture,
    const struct want *w, const char *first, ...)
{
	struct treq		 t;
	struct gitevent_list	 list = { NULL, 0 };
	va_list			 ap;
	const char		*name, *value;

	treq_init(&t, fixture);
	va_start(ap, first);
	for (name = first; name != NULL; name = va_arg(ap, const char *)) {
		value = va_arg(ap, const char *);
		treq_header(&t, name, value);
	}
	va_end(ap);
	if (check_parse(h, &t, &list, 1, fixture) == 0)
		check_event(&list.v[0], w, fixture);
	gitevent_list_free(&list);
	treq_free(&t);
}

/* Percent-encode s as a form value ("+" for space), as Gitea does. */
static char *
form_encode(const char *s, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *o;
	size_t			 i;
	unsigned char		 c;

	out = o = xmalloc(3 * len + 1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.~", c) != NULL)
			*o++ = (char)c;
		else if (c == ' ')
			*o++ = '+';
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		}
	}
	*o = '\0';
	return (out);
}

static void
test_hmac_vectors(void)
{
	static const char	 body[] = "Hello, World!";
	static const char	 key[] = "It's a Secret to Everybody";
	static const char	 sig[] = "sha256=757107ea0eb2509fc211221cce984b8a"
	    "37570b6d7586c22c46f4379c8b043e17";
	static const char	 bad[] = "sha256=757107ea0eb2509fc211221cce984b8a"
	    "37570b6d7586c22c46f4379c8b043e18";
	static const char	 tc2[] = "5bdcc146bf60754e6a042426089575c75a003f"
	    "089d2739839dec58b964ec3843";
	char			*cause = NULL;

	ok(handler_verify_hmac("X-Hub-Signature-256", sig, "sha256=", key,
	    strlen(key), body, strlen(body), &cause) == 0,
	    "GitHub's documented HMAC vector verifies");
	ok(handler_verify_hmac("X-Hub-Signature-256", bad, "sha256=", key,
	    strlen(key), body, strlen(body), &cause) == -1 && cause != NULL &&
	    strcmp(cause, "signature mismatch in X-Hub-Signature-256") == 0,
	    "one changed digit is a mismatch");
	free(cause);
	cause = NULL;
	ok(handler_verify_hmac("X-Hub-Signature-256", sig + 7, "sha256=",
	    key, strlen(key), body, strlen(body), &cause) == -1 &&
	    cause != NULL, "a signature without its prefix is refused");
	free(cause);
	cause = NULL;
	ok(handler_verify_hmac("X-Hub-Signature-256", "sha256=7571", "sha256=",
	    key, strlen(key), body, strlen(body), &cause) == -1 &&
	    cause != NULL, "a short signature is refused");
	free(cause);
	cause = NULL;
	ok(handler_verify_hmac("X-Gitea-Signature", tc2, "", "Jefe", 4,
	    "what do ya want for nothing?", 28, &cause) == 0,
	    "RFC 4231 test case 2 verifies as bare hex");
}

static void
test_detect(void)
{
	struct headers		 h;
	const struct handler	*d;

	headers_init(&h);
	headers_add_line(&h, "X-GitHub-Event: push");
	d = handler_detect(&h);
	is_str(d != NULL ? d->name : NULL, "github", "detect: GitHub");
	headers_add_line(&h, "X-Gitea-Event: push");
	d = handler_detect(&h);
	is_str(d != NULL ? d->name : NULL, "gitea",
	    "detect: Gitea, which also sends GitHub's headers");
	headers_add_line(&h, "x-forgejo-event: push");
	d = handler_detect(&h);
	is_str(d != NULL ? d->name : NULL, "forgejo",
	    "detect: Forgejo, which also sends Gitea's headers");
	headers_clear(&h);

	headers_add_line(&h, "X-Gitlab-Event: Push Hook");
	d = handler_detect(&h);
	is_str(d != NULL ? d->name : NULL, "gitlab", "detect: GitLab");
	headers_clear(&h);

	headers_add_line(&h, "X-Event-Key: repo:push");
	headers_add_line(&h, "X-Hook-UUID: 2f6d7a1c-0b8e-4c7e-9a51-3c1d2e4f5a6b");
	headers_add_line(&h, "X-Request-UUID: 7b2e9c4d-1a3f-4e5b-8c6d-0f1e2d3c4b5a");
	d = handler_detect(&h);
	is_str(d != NULL ? d->name : NULL, "bitbucket",
	    "detect: Bitbucket Cloud");
	headers_clear(&h);

	headers_add_line(&h, "X-Event-Key: repo:refs_changed");
	headers_add_line(&h, "X-Request-Id: 5c3b1a2d-4e6f-4a8b-9c0d-1e2f3a4b5c6d");
	d = handler_detect(&h);
	is_str(d != NULL ? d->name : NULL, "bitbucket-server",
	    "detect: Bitbucket Server");
	headers_clear(&h);

	headers_add_line(&h, "X-Event-Key: diagnostics:ping");
	d = handler_detect(&h);
	is_str(d != NULL ? d->name : NULL, "bitbucket-server",
	    "detect: Bitbucket Server ping by its event key alone");
	headers_clear(&h);

	headers_add_line(&h, "Content-Type: application/json");
	ok(handler_detect(&h) == NULL, "detect: nothing from plain headers");
	headers_clear(&h);

	ok(handler_find("generic") == &handler_generic &&
	    handler_generic.detect == NULL,
	    "generic is found by name and never detected");
}

static void
test_github(void)
{
	struct treq		 t;
	struct gitevent_list	 list = { NULL, 0 };
	const char		*sha2 = "8457785ada4ab6182c16fbac60586081edf51999";

	treq_init(&t, "github-push.json");
	treq_header(&t, "X-GitHub-Event", "push");
	treq_header(&t, "X-GitHub-Delivery",
	    "72d3162e-cc78-11e3-81ab-4c9367dc0958");
	check_verify(&handler_github, &t, "X-Hub-Signature-256", "sha256=",
	    "github");
	if (check_parse(&handler_github, &t, &list, 1,
	    "github-push.json") == 0) {
		check_event(&list.v[0], &(struct want){ .kind = "push",
		    .ref = "refs/heads/main", .sha = sha2,
		    .before = "5a749c89aef29e7ec74c2220370fd0972a7639f8",
		    .created = 0, .deleted = 0, .forced = 0,
		    .repo = "acme/shop",
		    .clone_url = "https://github.com/acme/shop.git",
		    .sender = "jdoe" }, "github-push.json");
		is_str(list.v[0].provider, "github", "github: provider");
		is_str(list.v[0].event, "push", "github: event");
		is_str(list.v[0].delivery,
		    "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		    "github: delivery from X-GitHub-Delivery");
	}
	gitevent_list_free(&list);
	treq_free(&t);

	check_fixture(&handler_github, "github-tag.json", &(struct want){
	    .kind = "tag", .ref = "refs/tags/v1.4.0", .sha = sha2,
	    .before = ZEROS, .created = 1, .deleted = 0, .forced = 0,
	    .repo = "acme/shop",
	    .clone_url = "https://github.com/acme/shop.git",
	    .sender = "jdoe" }, "X-GitHub-Event", "push", NULL);
	check_fixture(&handler_github, "github-force-push.json",
	    &(struct want){ .kind = "push", .ref = "refs/heads/feature/cart",
	    .sha = "c877b0f6e22b0c307c302646fa3c1a67a195f7a1",
	    .before = "e125becb98d990ec5df6ec7b3460ce78b84c8f4d",
	    .created = 0, .deleted = 0, .forced = 1, .repo = "acme/shop",
	    .clone_url = "https://github.com/acme/shop.git",
	    .sender = "jdoe" }, "X-GitHub-Event", "push", NULL);
	check_fixture(&handler_github, "github-delete.json", &(struct want){
	    .kind = "ignore", .ref = "refs/heads/feature/cart", .sha = NULL,
	    .before = "c877b0f6e22b0c307c302646fa3c1a67a195f7a1",
	    .created = 0, .deleted = 1, .forced = 0, .repo = "acme/shop",
	    .clone_url = "https://github.com/acme/shop.git",
	    .sender = "jdoe" }, "X-GitHub-Event", "push", NULL);
	check_fixture(&handler_github, "github-pr-merged.json",
	    &(struct want){ .kind = "merge", .ref = "refs/heads/main",
	    .sha = "4db34cf27965183b021ace4d91917b8608cb1c0e",
	    .created = -1, .deleted = 0, .forced = -1, .repo = "acme/shop",
	    .clone_url = "https://github.com/acme/shop.git",
	    .target_branch = "main", .pr_number = 42, .sender = "mmaint" },
	    "X-GitHub-Event", "pull_request", NULL);
	check_fixture(&handler_github, "github-pr-closed.json",
	    &(struct want){ .kind = "ignore", .created = -1, .forced = -1,
	    .repo = "acme/shop",
	    .clone_url = "https://github.com/acme/shop.git",
	    .target_branch = "main", .pr_number = 42, .sender = "jdoe" },
	    "X-GitHub-Event", "pull_request", NULL);
	check_fixture(&handler_github, "github-ping.json", &(struct want){
	    .kind = "ping", .created = -1, .forced = -1, .repo = "acme/shop",
	    .clone_url = "https://github.com/acme/shop.git",
	    .sender = "jdoe" }, "X-GitHub-Event", "ping", NULL);
	check_fixture(&handler_github, "github-create.json", &(struct want){
	    .kind = "ignore", .ref = "refs/tags/v1.4.0", .created = 1,
	    .forced = -1, .repo = "acme/shop",
	    .clone_url = "https://github.com/acme/shop.git",
	    .sender = "jdoe" }, "X-GitHub-Event", "create", NULL);
}

static void
test_gitlab(void)
{
	struct treq		 t;
	struct gitevent_list	 list = { NULL, 0 };
	char			*cause = NULL;
	const char		*repo = "acme/platform/shop";
	const char		*url =
	    "https://gitlab.example.com/acme/platform/shop.git";

	treq_init(&t, "gitlab-push.json");
	treq_header(&t, "X-Gitlab-Event", "Push Hook");
	treq_header(&t, "X-Gitlab-Event-UUID",
	    "13792a34-cac6-4fda-95a8-c58e00a3954e");
	ok(handler_gitlab.verify(&t.r, SECRET, strlen(SECRET), &cause) == -1 &&
	    cause != NULL && strcmp(cause, "missing X-Gitlab-Token header") == 0,
	    "gitlab: missing X-Gitlab-Token fails");
	free(cause);
	cause = NULL;
	treq_header(&t, "X-Gitlab-Token", SECRET);
	ok(handler_gitlab.verify(&t.r, SECRET, strlen(SECRET), &cause) == 0,
	    "gitlab: right token passes");
	ok(handler_gitlab.verify(&t.r, WRONG, strlen(WRONG), &cause) == -1 &&
	    cause != NULL && strcmp(cause, "token mismatch") == 0,
	    "gitlab: wrong token fails");
	free(cause);
	cause = NULL;
	ok(handler_gitlab.verify(&t.r, SECRET "x", strlen(SECRET) + 1,
	    &cause) == -1, "gitlab: a token that is a prefix of the secret "
	    "fails");
	free(cause);
	cause = NULL;
	if (check_parse(&handler_gitlab, &t, &list, 1,
	    "gitlab-push.json") == 0) {
		check_event(&list.v[0], &(struct want){ .kind = "push",
		    .ref = "refs/heads/main",
		    .sha = "d2d75d0a629f330208a3dd1e65620783162dd415",
		    .before = "c230131a59a1a699962d66f2e9ed4bab86ea812a",
		    .created = 0, .deleted = 0, .forced = -1, .repo = repo,
		    .clone_url = url, .sender = "jdoe" }, "gitlab-push.json");
		is_str(list.v[0].delivery,
		    "13792a34-cac6-4fda-95a8-c58e00a3954e",
		    "gitlab: delivery from X-Gitlab-Event-UUID");
	}
	gitevent_list_free(&list);
	treq_header(&t, "Idempotency-Key",
	    "a8f1c2d3-4b5e-4f60-8172-93a4b5c6d7e8");
	if (check_parse(&handler_gitlab, &t, &list, 1,
	    "gitlab-push.json with Idempotency-Key") == 0)
		is_str(list.v[0].delivery,
		    "a8f1c2d3-4b5e-4f60-8172-93a4b5c6d7e8",
		    "gitlab: Idempotency-Key is preferred");
	gitevent_list_free(&list);
	treq_free(&t);

	check_fixture(&handler_gitlab, "gitlab-tag.json", &(struct want){
	    .kind = "tag", .ref = "refs/tags/v2.0.0",
	    .sha = "d2d75d0a629f330208a3dd1e65620783162dd415",
	    .before = ZEROS, .created = 1, .deleted = 0, .forced = -1,
	    .repo = repo, .clone_url = url, .sender = "jdoe" },
	    "X-Gitlab-Event", "Tag Push Hook", NULL);
	check_fixture(&handler_gitlab, "gitlab-delete.json", &(struct want){
	    .kind = "ignore", .ref = "refs/heads/feature/cart", .sha = NULL,
	    .before = "be265b85842dda6868c0a142d19033699c0af208",
	    .created = 0, .deleted = 1, .forced = -1, .repo = repo,
	    .clone_url = url, .sender = "jdoe" },
	    "X-Gitlab-Event", "Push Hook", NULL);
	check_fixture(&handler_gitlab, "gitlab-mr-merged.json",
	    &(struct want){ .kind = "merge", .ref = "refs/heads/main",
	    .sha = "66de973b7526738f9c327498cf9169c752a966d8",
	    .created = -1, .deleted = 0, .forced = -1, .repo = repo,
	    .clone_url = url, .target_branch = "main", .pr_number = 17,
	    .sender = "mmaint" }, "X-Gitlab-Event", "Merge Request Hook",
	    NULL);
	check_fixture(&handler_gitlab, "gitlab-mr-closed.json",
	    &(struct want){ .kind = "ignore", .created = -1, .forced = -1,
	    .repo = repo, .clone_url = url, .target_branch = "main",
	    .pr_number = 17, .sender = "mmaint" },
	    "X-Gitlab-Event", "Merge Request Hook", NULL);
	check_fixture(&handler_gitlab, "gitlab-system-push.json",
	    &(struct want){ .kind = "push", .ref = "refs/heads/main",
	    .sha = "7fb1528bb791ee1a6d8c33163215c3382857f55a",
	    .before = "d2d75d0a629f330208a3dd1e65620783162dd415",
	    .created = 0, .deleted = 0, .forced = -1, .repo = repo,
	    .clone_url = url, .sender = "Jana Doe" },
	    "X-Gitlab-Event", "System Hook", NULL);
	check_fixture(&handler_gitlab, "gitlab-push.json", &(struct want){
	    .kind = "ignore", .created = -1, .forced = -1, .repo = repo,
	    .clone_url = url, .sender = "jdoe" },
	    "X-Gitlab-Event", "Pipeline Hook", NULL);

	treq_init(&t, NULL);
	treq_set_str(&t, "{\"object_kind\":\"push\",\"after\":"
	    "\"d2d75d0a629f330208a3dd1e65620783162dd415\"}");
	treq_header(&t, "X-Gitlab-Event", "Push Hook");
	check_parse_fails(&handler_gitlab, &t, "push payload without ref",
	    "gitlab: push without ref");
	treq_set_str(&t, "{\"object_kind\":");
	check_parse_fails(&handler_gitlab, &t, "malformed JSON",
	    "gitlab: malformed JSON");
	treq_free(&t);

	/* Fast-forward merges may come without a merge commit. */
	treq_init(&t, NULL);
	treq_header(&t, "X-Gitlab-Event", "Merge Request Hook");
	treq_set_str(&t, "{\"object_kind\":\"merge_request\","
	    "\"object_attributes\":{\"iid\":17,\"action\":\"merge\","
	    "\"target_branch\":\"main\",\"merge_commit_sha\":null,"
	    "\"last_commit\":{\"id\":"
	    "\"be265b85842dda6868c0a142d19033699c0af208\"}}}");
	if (check_parse(&handler_gitlab, &t, &list, 1,
	    "gitlab merge without merge_commit_sha") == 0)
		is_str(list.v[0].sha, "be265b85842dda6868c0a142d19033699c0af208",
		    "gitlab: merge falls back to last_commit.id");
	gitevent_list_free(&list);
	treq_free(&t);
}

static void
test_gitea(void)
{
	struct treq		 t;
	struct gitevent_list	 list = { NULL, 0 };
	char			*form, *body, *payload, *cause = NULL;
	const char		*url = "https://git.example.com/acme/shop.git";
	const char		*sha2 = "bd66312f886cb95219bc1a88d3ba2ef0c0e3ecad";

	treq_init(&t, "gitea-push.json");
	treq_header(&t, "X-Gitea-Event", "push");
	treq_header(&t, "X-Gitea-Delivery",
	    "f6266f16-1bf3-46a5-9ea4-602e06ead473");
	treq_header(&t, "X-GitHub-Event", "push");
	ok(handler_detect(&t.h) == &handler_gitea, "gitea: detected");
	check_verify(&handler_gitea, &t, "X-Gitea-Signature", "", "gitea");
	if (check_parse(&handler_gitea, &t, &list, 1,
	    "gitea-push.json") == 0) {
		check_event(&list.v[0], &(struct want){ .kind = "push",
		    .ref = "refs/heads/main", .sha = sha2,
		    .before = "51c80280b2916ed1cd7b44b2c258a90bc5c6fd03",
		    .created = 0, .deleted = 0, .forced = -1,
		    .repo = "acme/shop", .clone_url = url, .sender = "jdoe" },
		    "gitea-push.json");
		is_str(list.v[0].provider, "gitea", "gitea: provider");
		is_str(list.v[0].delivery,
		    "f6266f16-1bf3-46a5-9ea4-602e06ead473",
		    "gitea: delivery from X-Gitea-Delivery");
	}
	gitevent_list_free(&list);

	/* A form delivery: the HMAC covers the JSON, not the form body. */
	body = t.body;
	t.body = NULL;
	form = form_encode(body, t.len);
	treq_free(&t);
	treq_init(&t, NULL);
	treq_header(&t, "X-Gitea-Event", "push");
	treq_header(&t, "Content-Type", "application/x-www-form-urlencoded");
	treq_sign_data(&t, "X-Gitea-Signature", "", SECRET, body,
	    strlen(body));
	xasprintf(&payload, "payload=%s", form);
	treq_set_body(&t, payload, strlen(payload));
	free(form);
	ok(handler_gitea.verify(&t.r, SECRET, strlen(SECRET), &cause) == 0,
	    "gitea: form delivery verifies over the decoded JSON");
	free(cause);
	cause = NULL;
	ok(handler_gitea.verify(&t.r, WRONG, strlen(WRONG), &cause) == -1,
	    "gitea: form delivery with a wrong secret fails");
	free(cause);
	cause = NULL;
	if (check_parse(&handler_gitea, &t, &list, 1, "gitea form push") == 0)
		is_str(list.v[0].sha, sha2, "gitea: form delivery parses");
	gitevent_list_free(&list);
	treq_free(&t);
	treq_init(&t, NULL);
	treq_header(&t, "Content-Type", "application/x-www-form-urlencoded");
	xasprintf(&form, "payload=%s", body);
	treq_set_body(&t, form, strlen(form));
	treq_sign(&t, "X-Gitea-Signature", "");
	ok(handler_gitea.verify(&t.r, SECRET, strlen(SECRET), &cause) == -1,
	    "gitea: an HMAC over the form body is refused");
	free(cause);
	cause = NULL;
	treq_free(&t);

	/* JSON labelled as a form (curl's default) is taken as JSON. */
	treq_init(&t, NULL);
	treq_header(&t, "X-Gitea-Event", "push");
	treq_header(&t, "Content-Type", "application/x-www-form-urlencoded");
	treq_set_body(&t, body, strlen(body));
	treq_sign(&t, "X-Gitea-Signature", "");
	ok(handler_gitea.verify(&t.r, SECRET, strlen(SECRET), &cause) == 0,
	    "gitea: JSON labelled as a form verifies over the body");
	free(cause);
	if (check_parse(&handler_gitea, &t, &list, 1,
	    "gitea JSON labelled as a form") == 0)
		is_str(list.v[0].sha, sha2, "gitea: JSON labelled as a form "
		    "parses");
	gitevent_list_free(&list);
	treq_free(&t);

	check_fixture(&handler_gitea, "gitea-push-tag.json", &(struct want){
	    .kind = "tag", .ref = "refs/tags/v3.1.0", .sha = sha2,
	    .before = ZEROS, .created = 1, .deleted = 0, .forced = -1,
	    .repo = "acme/shop", .clone_url = url, .sender = "jdoe" },
	    "X-Gitea-Event", "push", NULL);
	check_fixture(&handler_gitea, "gitea-create-tag.json",
	    &(struct want){ .kind = "tag", .ref = "refs/tags/v3.1.0",
	    .sha = sha2, .created = 1, .deleted = 0, .forced = -1,
	    .repo = "acme/shop", .clone_url = url, .sender = "jdoe" },
	    "X-Gitea-Event", "create", NULL);
	check_fixture(&handler_gitea, "gitea-delete.json", &(struct want){
	    .kind = "ignore", .ref = "refs/heads/feature/cart",
	    .created = -1, .deleted = 1, .forced = -1, .repo = "acme/shop",
	    .clone_url = url, .sender = "jdoe" },
	    "X-Gitea-Event", "delete", NULL);
	check_fixture(&handler_gitea, "gitea-pr-merged.json", &(struct want){
	    .kind = "merge", .ref = "refs/heads/main",
	    .sha = "2223ee4f43e23e8dc55e1559a90c8e3bb7fe9198",
	    .created = -1, .deleted = 0, .forced = -1, .repo = "acme/shop",
	    .clone_url = url, .target_branch = "main", .pr_number = 9,
	    .sender = "mmaint" }, "X-Gitea-Event", "pull_request", NULL);
	check_fixture(&handler_gitea, "gitea-pr-closed.json", &(struct want){
	    .kind = "ignore", .created = -1, .forced = -1,
	    .repo = "acme/shop", .clone_url = url, .target_branch = "main",
	    .pr_number = 9, .sender = "jdoe" },
	    "X-Gitea-Event", "pull_request", NULL);

	treq_init(&t, "forgejo-push.json");
	treq_header(&t, "X-Forgejo-Event", "push");
	treq_header(&t, "X-Forgejo-Delivery",
	    "0c6f1f3e-5d2a-4b8c-9e7f-a1b2c3d4e5f6");
	treq_header(&t, "X-Gitea-Event", "push");
	treq_header(&t, "X-GitHub-Event", "push");
	ok(handler_detect(&t.h) == &handler_forgejo, "forgejo: detected");
	treq_sign(&t, "X-Gitea-Signature", "");
	check_verify(&handler_forgejo, &t, "X-Forgejo-Signature", "",
	    "forgejo");
	if (check_parse(&handler_forgejo, &t, &list, 1,
	    "forgejo-push.json") == 0) {
		check_event(&list.v[0], &(struct want){ .kind = "push",
		    .ref = "refs/heads/main",
		    .sha = "79d7650977371ebf39b5202e1a8e3de59181ef5e",
		    .before = "c2a4f4fb4dc49f604a951634c441d88b76cc0bb9",
		    .created = 0, .deleted = 0, .forced = -1,
		    .repo = "acme/shop",
		    .clone_url = "https://codeberg.org/acme/shop.git",
		    .sender = "jdoe" }, "forgejo-push.json");
		is_str(list.v[0].provider, "forgejo", "forgejo: provider");
		is_str(list.v[0].delivery,
		    "0c6f1f3e-5d2a-4b8c-9e7f-a1b2c3d4e5f6",
		    "forgejo: delivery from X-Forgejo-Delivery");
	}
	gitevent_list_free(&list);
	treq_free(&t);
}

static void
test_bitbucket(void)
{
	struct treq		 t;
	struct gitevent_list	 list = { NULL, 0 };
	const char		*url = "https://bitbucket.org/acme/shop.git";
	const char		*uuid = "7b2e9c4d-1a3f-4e5b-8c6d-0f1e2d3c4b5a";
	const char		*sha2 = "0633961195c27d9d2445e233f84cf07b07986fab";
	static const char	 empty[] = "{\"push\":{\"changes\":[]},"
	    "\"repository\":{\"full_name\":\"acme/shop\"}}";

	treq_init(&t, "bitbucket-push-two.json");
	treq_header(&t, "X-Event-Key", "repo:push");
	treq_header(&t, "X-Hook-UUID", "2f6d7a1c-0b8e-4c7e-9a51-3c1d2e4f5a6b");
	treq_header(&t, "X-Request-UUID", uuid);
	treq_header(&t, "X-Attempt-Number", "1");
	ok(handler_detect(&t.h) == &handler_bitbucket, "bitbucket: detected");
	check_verify(&handler_bitbucket, &t, "X-Hub-Signature", "sha256=",
	    "bitbucket");
	if (check_parse(&handler_bitbucket, &t, &list, 2,
	    "bitbucket-push-two.json") == 0) {
		check_event(&list.v[0], &(struct want){ .kind = "push",
		    .ref = "refs/heads/main", .sha = sha2,
		    .before = "e629ab00c66939ef43f4d93fb71bd30200f14fc2",
		    .created = 0, .deleted = 0, .forced = 0,
		    .repo = "acme/shop", .clone_url = url, .sender = "jdoe" },
		    "bitbucket-push-two.json[0]");
		check_event(&list.v[1], &(struct want){ .kind = "tag",
		    .ref = "refs/tags/v5.0.1", .sha = sha2, .before = NULL,
		    .created = 1, .deleted = 0, .forced = 0,
		    .repo = "acme/shop", .clone_url = url, .sender = "jdoe" },
		    "bitbucket-push-two.json[1]");
		is_str(list.v[0].delivery, uuid,
		    "bitbucket: delivery from X-Request-UUID");
		is_str(list.v[1].delivery, uuid,
		    "bitbucket: both changes carry the delivery");
	}
	gitevent_list_free(&list);
	treq_set_str(&t, empty);
	if (check_parse(&handler_bitbucket, &t, &list, 1,
	    "bitbucket push without changes") == 0)
		ok(list.v[0].kind == GITEVENT_IGNORE,
		    "bitbucket: no changes is one ignored event");
	gitevent_list_free(&list);
	treq_free(&t);

	check_fixture(&handler_bitbucket, "bitbucket-push-delete.json",
	    &(struct want){ .kind = "ignore",
	    .ref = "refs/heads/feature/cart", .sha = NULL,
	    .before = "38b794f61789adfa47e728a138dca1bd6439f846",
	    .created = 0, .deleted = 1, .forced = 0, .repo = "acme/shop",
	    .clone_url = url, .sender = "jdoe" },
	    "X-Event-Key", "repo:push", NULL);
	check_fixture(&handler_bitbucket, "bitbucket-pr-fulfilled.json",
	    &(struct want){ .kind = "merge", .ref = "refs/heads/main",
	    .sha = "2e52b1a5b91d", .created = -1, .deleted = 0,
	    .forced = -1, .repo = "acme/shop", .clone_url = url,
	    .target_branch = "main", .pr_number = 23, .sender = "jdoe" },
	    "X-Event-Key", "pullrequest:fulfilled", NULL);
	check_fixture(&handler_bitbucket, "bitbucket-pr-rejected.json",
	    &(struct want){ .kind = "ignore", .created = -1, .forced = -1,
	    .repo = "acme/shop", .clone_url = url, .target_branch = "main",
	    .pr_number = 23, .sender = "jdoe" },
	    "X-Event-Key", "pullrequest:rejected", NULL);
}

static void
test_bitbucket_server(void)
{
	struct treq		 t;
	struct gitevent_list	 list = { NULL, 0 };
	const char		*url =
	    "https://bitbucket.example.com/scm/acme/shop.git";
	const char		*id = "5c3b1a2d-4e6f-4a8b-9c0d-1e2f3a4b5c6d";
	const char		*sha2 = "b8ab6e9c631c5484c2ac9413e111f5e5c9924ccf";

	treq_init(&t, "bbserver-refs-changed.json");
	treq_header(&t, "X-Event-Key", "repo:refs_changed");
	treq_header(&t, "X-Request-Id", id);
	treq_header(&t, "Content-Type", "application/json; charset=utf-8");
	ok(handler_detect(&t.h) == &handler_bitbucket_server,
	    "bitbucket-server: detected");
	check_verify(&handler_bitbucket_server, &t, "X-Hub-Signature",
	    "sha256=", "bitbucket-server");
	if (check_parse(&handler_bitbucket_server, &t, &list, 2,
	    "bbserver-refs-changed.json") == 0) {
		check_event(&list.v[0], &(struct want){ .kind = "push",
		    .ref = "refs/heads/main", .sha = sha2,
		    .before = "75dd6d1502d887da8334ae233444fdf267209f37",
		    .created = 0, .deleted = 0, .forced = -1,
		    .repo = "ACME/shop", .clone_url = url, .sender = "jdoe" },
		    "bbserver-refs-changed.json[0]");
		check_event(&list.v[1], &(struct want){ .kind = "tag",
		    .ref = "refs/tags/v6.2.0", .sha = sha2, .before = ZEROS,
		    .created = 1, .deleted = 0, .forced = -1,
		    .repo = "ACME/shop", .clone_url = url, .sender = "jdoe" },
		    "bbserver-refs-changed.json[1]");
		is_str(list.v[1].delivery, id,
		    "bitbucket-server: delivery from X-Request-Id");
		is_str(list.v[1].provider, "bitbucket-server",
		    "bitbucket-server: provider");
	}
	gitevent_list_free(&list);
	treq_free(&t);

	check_fixture(&handler_bitbucket_server, "bbserver-delete.json",
	    &(struct want){ .kind = "ignore",
	    .ref = "refs/heads/feature/cart", .sha = NULL,
	    .before = "3f9b07a22fe33cdc7fb789855e391964800253fe",
	    .created = 0, .deleted = 1, .forced = -1, .repo = "ACME/shop",
	    .clone_url = url, .sender = "jdoe" },
	    "X-Event-Key", "repo:refs_changed", NULL);
	check_fixture(&handler_bitbucket_server, "bbserver-pr-merged.json",
	    &(struct want){ .kind = "merge", .ref = "refs/heads/main",
	    .sha = "ca82bca3b72629fdf1b8158792be33c78cbd1cde",
	    .created = -1, .deleted = 0, .forced = -1, .repo = "ACME/shop",
	    .clone_url = url, .target_branch = "main", .pr_number = 57,
	    .sender = "mmaint" }, "X-Event-Key", "pr:merged", NULL);
	check_fixture(&handler_bitbucket_server, "bbserver-pr-declined.json",
	    &(struct want){ .kind = "ignore", .created = -1, .forced = -1,
	    .repo = "ACME/shop", .clone_url = url, .target_branch = "main",
	    .pr_number = 57, .sender = "mmaint" },
	    "X-Event-Key", "pr:declined", NULL);
	check_fixture(&handler_bitbucket_server, "bbserver-ping.json",
	    &(struct want){ .kind = "ping", .created = -1, .forced = -1 },
	    "X-Event-Key", "diagnostics:ping", NULL);

	treq_init(&t, NULL);
	treq_header(&t, "X-Event-Key", "diagnostics:ping");
	treq_header(&t, "X-Request-Id", id);
	if (check_parse(&handler_bitbucket_server, &t, &list, 1,
	    "bitbucket-server ping with an empty body") == 0) {
		ok(list.v[0].kind == GITEVENT_PING,
		    "bitbucket-server: an empty ping is a ping");
		is_str(list.v[0].delivery, id,
		    "bitbucket-server: empty ping keeps its delivery");
	}
	gitevent_list_free(&list);
	treq_free(&t);
}

static void
test_generic(void)
{
	static char		 sig[] = "X-Signature", pfx[] = "sha256=";
	static char		 evh[] = "X-Event", dlh[] = "X-Delivery";
	static char		 refp[] = "/data/refUpdate/refName";
	static char		 shap[] = "/data/refUpdate/newRev";
	static char		 befp[] = "/data/refUpdate/oldRev";
	static char		 repop[] = "/data/repository/name";
	static char		 sendp[] = "/data/submitter/user~0name";
	static char		 arrp[] = "/data/commits/0/id";
	static char		 slashp[] = "/a~1b/c/1", missp[] = "/data/nope";
	static char		 name[] = "shop";
	static const char	 odd[] = "{\"a/b\":{\"c\":[\"x\",\"refs/tags/v9\"]},"
	    "\"data\":{\"commits\":[{\"id\":"
	    "\"b68644d5aeb41266dcb2d6c76b6e8b2939be6289\"}]}}";
	struct conf_project	 p;
	struct treq		 t;
	struct gitevent_list	 list = { NULL, 0 };
	char			*cause = NULL;
	const char		*sha2 = "b68644d5aeb41266dcb2d6c76b6e8b2939be6289";

	memset(&p, 0, sizeof p);
	p.name = name;
	p.generic.signature_header = sig;
	p.generic.signature_prefix = pfx;
	p.generic.event_header = evh;
	p.generic.delivery_header = dlh;
	p.generic.ref_pointer = refp;
	p.generic.sha_pointer = shap;
	p.generic.before_pointer = befp;
	p.generic.repo_pointer = repop;
	p.generic.sender_pointer = sendp;

	treq_init(&t, "generic-push.json");
	treq_header(&t, "X-Event", "ref-updated");
	treq_header(&t, "X-Delivery", "d-20240514-0001");
	ok(handler_generic.verify(&t.r, SECRET, strlen(SECRET), &cause) == -1 &&
	    cause != NULL && strcmp(cause, "generic provider needs a project "
	    "configuration") == 0, "generic: no project, no verify");
	free(cause);
	cause = NULL;
	check_parse_fails(&handler_generic, &t, "generic provider needs a "
	    "project configuration", "generic: no project, no parse");
	t.r.project = &p;
	check_verify(&handler_generic, &t, "X-Signature", "sha256=",
	    "generic");
	if (check_parse(&handler_generic, &t, &list, 1,
	    "generic-push.json") == 0) {
		check_event(&list.v[0], &(struct want){ .kind = "push",
		    .ref = "refs/heads/release/2024.05", .sha = sha2,
		    .before = "c204fee8b200cd4681508b48ffd700a8dfe556d4",
		    .created = 0, .deleted = 0, .forced = -1,
		    .repo = "acme/shop", .sender = "jdoe" },
		    "generic-push.json");
		is_str(list.v[0].provider, "generic", "generic: provider");
		is_str(list.v[0].event, "ref-updated",
		    "generic: event from the configured header");
		is_str(list.v[0].delivery, "d-20240514-0001",
		    "generic: delivery from the configured header");
	}
	gitevent_list_free(&list);
	treq_free(&t);

	/* Bare hex without a prefix; no event or delivery header. */
	p.generic.signature_prefix = NULL;
	p.generic.event_header = NULL;
	p.generic.delivery_header = NULL;
	p.generic.before_pointer = NULL;
	treq_init(&t, "generic-push.json");
	t.r.project = &p;
	treq_sign(&t, "X-Signature", "");
	ok(handler_generic.verify(&t.r, SECRET, strlen(SECRET), &cause) == 0,
	    "generic: bare hex signature without a prefix passes");
	if (check_parse(&handler_generic, &t, &list, 1,
	    "generic without optional headers") == 0) {
		is_str(list.v[0].event, "generic",
		    "generic: event defaults to \"generic\"");
		ok(list.v[0].delivery != NULL &&
		    strncmp(list.v[0].delivery, "sha256:", 7) == 0,
		    "generic: delivery falls back to the body hash");
		is_str(list.v[0].before, NULL,
		    "generic: no before without before_pointer");
	}
	gitevent_list_free(&list);

	/* Escapes and array indexes in pointers. */
	p.generic.ref_pointer = slashp;
	p.generic.sha_pointer = arrp;
	treq_set_str(&t, odd);
	if (check_parse(&handler_generic, &t, &list, 1,
	    "generic with ~1 and array pointers") == 0) {
		is_str(list.v[0].ref, "refs/tags/v9",
		    "generic: /a~1b/c/1 resolves; a full ref is kept");
		is_str(list.v[0].sha, sha2, "generic: /data/commits/0/id "
		    "resolves");
		ok(list.v[0].kind == GITEVENT_TAG, "generic: refs/tags/ is a "
		    "tag");
	}
	gitevent_list_free(&list);
	p.generic.sha_pointer = missp;
	check_parse_fails(&handler_generic, &t, "payload has no commit",
	    "generic: missing commit");
	p.generic.sha_pointer = arrp;
	p.generic.ref_pointer = missp;
	check_parse_fails(&handler_generic, &t, "payload has no ref",
	    "generic: missing ref");
	treq_free(&t);
}

int
main(void)
{
	test_hmac_vectors();
	test_detect();
	test_github();
	test_gitlab();
	test_gitea();
	test_bitbucket();
	test_bitbucket_server();
	test_generic();
	return (tap_done());
}
