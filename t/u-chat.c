/*
 * Unit tests for chatops: Slack's signature (the documented example from
 * PROTOCOLS.md as a vector, the replay window both ways, tampering, wrong
 * secrets and malformed headers), every /ferry command with its bad
 * arguments, Slack and Mattermost button presses, Mattermost's tokens,
 * hostile inputs, and the JSON of every answer and message, read back with
 * jansson. The buttons ferry sends are pressed back through the parsers.
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "conf.h"
#include "headers.h"
#include "notify.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

/* PROTOCOLS.md section 0, "Test vectors": Slack v0. */
#define VEC_SECRET	"8f742231b10e8888abcd99yyyzzz85a5"
#define VEC_TS		1531420618LL
#define VEC_SIG		"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd2" \
			"7519666489c69b503"
#define VEC_BODY	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&" \
	"team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&" \
	"user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&" \
	"text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F" \
	"T1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=" \
	"398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"

#define SECRET		"slack-signing-secret"
#define NOW		1700000000LL
#define MM_TOKEN	"xbm8kqa3ojbz7fsgaw5ssoc4ma"
#define MM_TEAM		"4xp9fdt77pncbef59f4k1qe83o"
#define MM_USER		"q5s1fq5kfpbhpgbkxesyh3o8xw"
#define MM_CHANNEL	"bnonah6cmtn1dpm6hyg5w3eq3w"

/* Form-encode s the way Slack does (space as '+'). Caller frees. */
static char *
form_encode(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	struct buf		 b;
	const unsigned char	*p;
	char			 esc[3];

	buf_init(&b);
	buf_add(&b, "", 0);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == ' ')
			buf_add(&b, "+", 1);
		else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			buf_add(&b, p, 1);
		else {
			esc[0] = '%';
			esc[1] = hex[*p >> 4];
			esc[2] = hex[*p & 0xf];
			buf_add(&b, esc, 3);
		}
	}
	return (b.data);
}

/* A Slack slash command body with text (encoded here). Caller frees. */
static char *
slack_form(const char *text)
{
	char	*enc, *body;

	enc = form_encode(text);
	xasprintf(&body, "token=old&team_id=T1DC2JH3J&team_domain=x&"
	    "channel_id=C0123ABC&channel_name=deploys&user_id=U2CERLKJA&"
	    "user_name=roadrunner&command=%%2Fferry&text=%s&response_url="
	    "https%%3A%%2F%%2Fhooks.slack.com%%2Fcommands%%2FT1%%2F1%%2Fabc&"
	    "trigger_id=1.2.3", enc);
	free(enc);
	return (body);
}

/* Headers signing body at ts under secret, as Slack sends them. */
static void
slack_sign(struct headers *h, const char *secret, long long ts,
    const char *body)
{
	unsigned char	 mac[32];
	char		 hex[65], *base, *sig, tsbuf[32];

	headers_init(h);
	(void)snprintf(tsbuf, sizeof tsbuf, "%lld", ts);
	xasprintf(&base, "v0:%s:%s", tsbuf, body);
	if (hmac_sha256(secret, strlen(secret), base, strlen(base), mac) != 0) {
		printf("Bail out! hmac_sha256 failed\n");
		exit(1);
	}
	hex_encode(mac, sizeof mac, hex);
	xasprintf(&sig, "v0=%s", hex);
	headers_add(h, "Content-Type", 12,
	    "application/x-www-form-urlencoded", 33);
	headers_add(h, "X-Slack-Request-Timestamp", 25, tsbuf, strlen(tsbuf));
	headers_add(h, "X-Slack-Signature", 17, sig, strlen(sig));
	free(base);
	free(sig);
}

/* Headers with the given timestamp and signature values (NULL: left out). */
static void
slack_headers(struct headers *h, const char *ts, const char *sig)
{
	headers_init(h);
	if (ts != NULL)
		headers_add(h, "X-Slack-Request-Timestamp", 25, ts,
		    strlen(ts));
	if (sig != NULL)
		headers_add(h, "x-slack-signature", 17, sig, strlen(sig));
}

/* chat_slack_verify on body; returns its result and frees the cause. */
static int
verify(const struct headers *h, const char *body, const char *secret,
    long long now)
{
	char	*cause = NULL;
	int	 rc;

	rc = chat_slack_verify(h, body, strlen(body), secret, strlen(secret),
	    now, &cause);
	if (rc != 0 && (cause == NULL || strchr(cause, '\n') != NULL))
		rc = -2;	/* a refusal needs a one-line cause */
	free(cause);
	return (rc);
}

static void
test_vector(void)
{
	struct headers		h;
	struct chat_request	req;
	char			*cause = NULL, *body;
	char			 tsbuf[32];

	(void)snprintf(tsbuf, sizeof tsbuf, "%lld", VEC_TS);
	slack_headers(&h, tsbuf, VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == 0,
	    "documented Slack example verifies at its own timestamp");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS + 300) == 0,
	    "300 s later is still inside the window");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS - 300) == 0,
	    "300 s earlier is still inside the window");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS + 301) == -1,
	    "a timestamp 301 s old is refused");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS - 301) == -1,
	    "a timestamp 301 s in the future is refused");
	ok(verify(&h, VEC_BODY, "8f742231b10e8888abcd99yyyzzz85a6",
	    VEC_TS) == -1, "wrong secret refused");
	ok(verify(&h, VEC_BODY, "", VEC_TS) == -1, "empty secret refused");

	body = xstrdup(VEC_BODY);
	body[strlen(body) - 1] ^= 1;
	ok(verify(&h, body, VEC_SECRET, VEC_TS) == -1,
	    "tampered body (last byte) refused");
	free(body);
	xasprintf(&body, "%s&", VEC_BODY);
	ok(verify(&h, body, VEC_SECRET, VEC_TS) == -1,
	    "tampered body (byte appended) refused");
	free(body);
	headers_clear(&h);

	/* The timestamp is part of what is signed. */
	(void)snprintf(tsbuf, sizeof tsbuf, "%lld", VEC_TS + 1);
	slack_headers(&h, tsbuf, VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "a changed timestamp breaks the signature");
	headers_clear(&h);

	ok(chat_slack_parse(VEC_BODY, strlen(VEC_BODY), &req, &cause) == 0,
	    "documented example parses");
	is_str(req.platform, "slack", "platform slack");
	is_str(req.team, "T1DC2JH3J", "team_id");
	is_str(req.user, "U2CERLKJA", "user_id");
	is_str(req.user_name, "roadrunner", "user_name");
	is_str(req.channel, "G8PSS9T3V", "channel_id");
	is_str(req.response_url, "https://hooks.slack.com/commands/T1DC2JH3J/"
	    "397700885554/96rGlfmibIGlgcZRskXaIFfN", "response_url decoded");
	ok(req.action == CHAT_HELP && req.error == NULL && req.button == 0,
	    "empty text is help");
	chat_request_free(&req);
	free(cause);
}

static void
test_bad_headers(void)
{
	struct headers	 h;
	char		 tsbuf[32], *sig;

	(void)snprintf(tsbuf, sizeof tsbuf, "%lld", VEC_TS);
	slack_headers(&h, NULL, VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "missing timestamp header refused");
	headers_clear(&h);
	slack_headers(&h, tsbuf, NULL);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "missing signature header refused");
	headers_clear(&h);
	slack_headers(&h, NULL, NULL);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "no headers refused");
	headers_clear(&h);
	slack_headers(&h, "", "");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "empty headers refused");
	headers_clear(&h);

	slack_headers(&h, tsbuf, "v0=z2114d57b48eac39b9ad189dd8316235a7b4a8d2"
	    "1a10bd27519666489c69b503");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "non-hex signature refused");
	headers_clear(&h);
	slack_headers(&h, tsbuf, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d2"
	    "1a10bd27519666489c69b5");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "short signature refused");
	headers_clear(&h);
	slack_headers(&h, tsbuf, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d2"
	    "1a10bd27519666489c69b50300");
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "long signature refused");
	headers_clear(&h);

	sig = xstrdup(VEC_SIG);
	sig[1] = '1';
	slack_headers(&h, tsbuf, sig);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "\"v1=\" prefix refused");
	headers_clear(&h);
	sig[0] = 'V';
	sig[1] = '0';
	slack_headers(&h, tsbuf, sig);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "\"V0=\" prefix refused");
	headers_clear(&h);
	slack_headers(&h, tsbuf, VEC_SIG + 3);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "bare hex without \"v0=\" refused");
	headers_clear(&h);
	free(sig);
	xasprintf(&sig, "sha256=%s", VEC_SIG + 3);
	slack_headers(&h, tsbuf, sig);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "\"sha256=\" prefix refused");
	headers_clear(&h);
	free(sig);

	slack_headers(&h, "1531420618x", VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "timestamp with trailing junk refused");
	headers_clear(&h);
	slack_headers(&h, "-1531420618", VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, -VEC_TS) == -1,
	    "negative timestamp refused");
	headers_clear(&h);
	slack_headers(&h, "1531420618 1", VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "timestamp with an inner space refused");
	headers_clear(&h);
	slack_headers(&h, "+1531420618", VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "timestamp with a sign refused");
	headers_clear(&h);
	slack_headers(&h, "99999999999999999999999", VEC_SIG);
	ok(verify(&h, VEC_BODY, VEC_SECRET, VEC_TS) == -1,
	    "overflowing timestamp refused");
	headers_clear(&h);

	/* A fresh signature of ours, to show the window is not the vector's. */
	slack_sign(&h, SECRET, NOW - 301, "a=b");
	ok(verify(&h, "a=b", SECRET, NOW) == -1, "own signature 301 s old "
	    "refused");
	headers_clear(&h);
	slack_sign(&h, SECRET, NOW, "a=b");
	ok(verify(&h, "a=b", SECRET, NOW) == 0, "own fresh signature "
	    "accepted");
	headers_clear(&h);
}

/* What a command text should become; error_has is a substring of error. */
struct want {
	const char		*text;
	enum chat_action	 action;
	const char		*env;
	const char		*release;
	const char		*version;
	const char		*project;
	const char		*reason;
	const char		*error_has;
};

#define A64	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define T128	A64 A64
#define R200	"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr" \
		"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr" \
		"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr" \
		"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"

static const struct want wants[] = {
	{ "", CHAT_HELP, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "   ", CHAT_HELP, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "help", CHAT_HELP, NULL, NULL, NULL, NULL, NULL, NULL },
	{ " HELP\t", CHAT_HELP, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "help me", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL, "usage: help" },
	{ "status", CHAT_STATUS, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "status production", CHAT_STATUS, "production", NULL, NULL, NULL,
	    NULL, NULL },
	{ "status " A64, CHAT_STATUS, A64, NULL, NULL, NULL, NULL, NULL },
	{ "status " A64 "a", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid environment" },
	{ "status prod/eu", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid environment" },
	{ "status prod eu", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "too many" },
	{ "approve 12", CHAT_APPROVE, NULL, "12", NULL, NULL, NULL, NULL },
	{ "Approve  12 ", CHAT_APPROVE, NULL, "12", NULL, NULL, NULL, NULL },
	{ "approve 123456789012345", CHAT_APPROVE, NULL, "123456789012345",
	    NULL, NULL, NULL, NULL },
	{ "approve 1234567890123456", CHAT_UNKNOWN, NULL, NULL, NULL, NULL,
	    NULL, "invalid release" },
	{ "approve", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "missing argument" },
	{ "approve #12", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid release" },
	{ "approve -1", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid release" },
	{ "approve 12 13", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "too many" },
	{ "reject 12", CHAT_REJECT, NULL, "12", NULL, NULL, NULL, NULL },
	{ "reject 12 broken  login, see run 7 ", CHAT_REJECT, NULL, "12",
	    NULL, NULL, "broken  login, see run 7", NULL },
	{ "reject 12 " R200, CHAT_REJECT, NULL, "12", NULL, NULL, R200, NULL },
	{ "reject 12 " R200 "r", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "too long" },
	{ "reject 12 d\xc3\xa9ploiement cass\xc3\xa9", CHAT_REJECT, NULL, "12",
	    NULL, NULL, "d\xc3\xa9ploiement cass\xc3\xa9", NULL },
	{ "reject 12 \"quoted\" {\"a\":1} \\ $(reboot) `id`", CHAT_REJECT,
	    NULL, "12", NULL, NULL, "\"quoted\" {\"a\":1} \\ $(reboot) `id`",
	    NULL },
	{ "reject 12 tab\there", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "control characters" },
	{ "reject 12 bell\a", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "control characters" },
	{ "reject 12 next\xc2\x85line", CHAT_UNKNOWN, NULL, NULL, NULL, NULL,
	    NULL, "control characters" },
	{ "reject", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "missing argument" },
	{ "reject twelve because", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid release" },
	{ "deploy staging v1.2.3", CHAT_DEPLOY, "staging", NULL, "v1.2.3",
	    NULL, NULL, NULL },
	{ "deploy\tstaging\t1.0_rc-1", CHAT_DEPLOY, "staging", NULL,
	    "1.0_rc-1", NULL, NULL, NULL },
	{ "deploy staging " T128, CHAT_DEPLOY, "staging", NULL, T128, NULL,
	    NULL, NULL },
	{ "deploy staging " T128 "a", CHAT_UNKNOWN, NULL, NULL, NULL, NULL,
	    NULL, "invalid version" },
	{ "deploy staging .hidden", CHAT_UNKNOWN, NULL, NULL, NULL, NULL,
	    NULL, "invalid version" },
	{ "deploy staging -rf", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid version" },
	{ "deploy staging v1:latest", CHAT_UNKNOWN, NULL, NULL, NULL, NULL,
	    NULL, "invalid version" },
	{ "deploy st@ging v1", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid environment" },
	{ "deploy staging", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "missing argument" },
	{ "deploy staging v1 now", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "too many" },
	{ "rollback production", CHAT_ROLLBACK, "production", NULL, NULL, NULL,
	    NULL, NULL },
	{ "rollback", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "missing argument" },
	{ "rollback production staging", CHAT_UNKNOWN, NULL, NULL, NULL, NULL,
	    NULL, "too many" },
	{ "rollback ../etc", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid environment" },
	{ "runs", CHAT_RUNS, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "runs shop.web", CHAT_RUNS, NULL, NULL, NULL, "shop.web", NULL,
	    NULL },
	{ "runs $(reboot)", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "invalid project" },
	{ "runs shop web", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "too many" },
	{ "frobnicate", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "unknown command \"frobnicate\"" },
	{ "$(rm -rf /)", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "unknown command;" },
	{ "\"};alert(1)", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "unknown command;" },
	{ "approve 12\nrollback production", CHAT_UNKNOWN, NULL, NULL, NULL,
	    NULL, NULL, "control characters" },
	{ "approve 12\r", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "control characters" },
	{ "reject 12 \xff\xfe", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "not valid UTF-8" },
	{ "reject 12 \xc0\xaf", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "not valid UTF-8" },
	{ "status \x1b[31mred", CHAT_UNKNOWN, NULL, NULL, NULL, NULL, NULL,
	    "control characters" },
};

/* Whether s is one line of printable ASCII (what an error may hold). */
static int
is_printable_line(const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return (0);
	}
	return (s != NULL);
}

static void
check_want(const struct want *w, const struct chat_request *req,
    const char *how)
{
	int	good;

	good = req->action == w->action;
	if (w->error_has != NULL)
		good = good && req->error != NULL &&
		    strstr(req->error, w->error_has) != NULL &&
		    is_printable_line(req->error);
	else
		good = good && req->error == NULL;
#define SAME(a, b)	((a) == NULL ? (b) == NULL : \
			    (b) != NULL && strcmp((a), (b)) == 0)
	good = good && SAME(w->env, req->env) &&
	    SAME(w->release, req->release) && SAME(w->version, req->version) &&
	    SAME(w->project, req->project) && SAME(w->reason, req->reason);
#undef SAME
	ok(good, "%s: command %zu (%s) -> %s", how, (size_t)(w - wants),
	    chat_action_name(w->action), req->error != NULL ? req->error :
	    "ok");
	if (!good)
		printf("#   got action %s, error %s\n",
		    chat_action_name(req->action),
		    req->error != NULL ? req->error : "(none)");
}

static void
test_commands(void)
{
	struct chat_request	 req;
	struct headers		 h;
	char			*body, *cause = NULL;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof wants / sizeof wants[0]; i++) {
		body = slack_form(wants[i].text);
		slack_sign(&h, SECRET, NOW, body);
		rc = verify(&h, body, SECRET, NOW);
		if (rc == 0)
			rc = chat_slack_parse(body, strlen(body), &req,
			    &cause);
		if (rc != 0) {
			ok(0, "slack: command %zu parses: %s", i,
			    cause != NULL ? cause : "verify failed");
			free(cause);
			cause = NULL;
		} else
			check_want(&wants[i], &req, "slack");
		chat_request_free(&req);
		headers_clear(&h);
		free(body);
	}
}

/* Parse a Slack body; returns the result, req filled, cause freed. */
static int
slack_parse(const char *body, struct chat_request *req, char **causep)
{
	char	*cause = NULL;
	int	 rc;

	rc = chat_slack_parse(body, strlen(body), req, &cause);
	if (rc != 0 && (cause == NULL || !is_printable_line(cause)))
		rc = -2;
	if (causep != NULL)
		*causep = cause;
	else
		free(cause);
	return (rc);
}

static void
test_slack_hostile(void)
{
	struct chat_request	 req;
	struct buf		 b;
	char			*body, *cause;
	size_t			 i;

	/* 10 KB of text: refused as a command, answered privately. */
	buf_init(&b);
	buf_addstr(&b, "reject 12 ");
	for (i = 0; i < 10240; i++)
		buf_add(&b, "x", 1);
	body = slack_form(b.data);
	buf_free(&b);
	ok(slack_parse(body, &req, NULL) == 0 && req.action == CHAT_UNKNOWN &&
	    strstr(req.error, "too long") != NULL && req.reason == NULL,
	    "10 KB text: CHAT_UNKNOWN, too long");
	chat_request_free(&req);
	free(body);

	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&text=approve+"
	    "12%00", &req, NULL) == -1, "NUL byte in text refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&text=%zz",
	    &req, NULL) == -1, "bad %%-escape refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&text=%4",
	    &req, NULL) == -1, "truncated %%-escape refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&user_id=U2&"
	    "text=approve+12", &req, NULL) == -1, "user_id twice refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&user_id=U1&text=help", &req,
	    NULL) == -1, "missing team_id refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&text=help", &req,
	    NULL) == -1, "missing user_id refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=&text=help", &req,
	    NULL) == -1, "empty user_id refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1%0Afake&"
	    "text=help", &req, &cause) == -1 && strstr(cause, "fake") == NULL,
	    "user_id with a newline refused, not repeated");
	free(cause);
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1%27+OR+1&user_id=U1&"
	    "text=help", &req, NULL) == -1, "team_id with quotes refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&channel_id="
	    "C%22x&text=help", &req, NULL) == -1, "bad channel_id refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&user_name="
	    "a%0Db&text=help", &req, NULL) == -1,
	    "user_name with a control character refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&response_url="
	    "file%3A%2F%2F%2Fetc%2Fpasswd&text=help", &req, NULL) == -1,
	    "file: response_url refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&response_url="
	    "https%3A%2F%2Fa+b%2F&text=help", &req, NULL) == -1,
	    "response_url with a space refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1&response_url="
	    "https%3A%2F%2F&text=help", &req, NULL) == -1,
	    "response_url without a host refused");
	chat_request_free(&req);
	ok(slack_parse("team_id=T1&user_id=U1&text=help", &req, NULL) == -1,
	    "form without command refused");
	chat_request_free(&req);
	ok(slack_parse("", &req, NULL) == -1, "empty body refused");
	chat_request_free(&req);
	ok(slack_parse("command=%2Fferry&team_id=T1&user_id=U1", &req,
	    NULL) == 0 && req.action == CHAT_HELP && req.channel == NULL &&
	    req.response_url == NULL, "no text, no channel: help");
	chat_request_free(&req);
	ok(slack_parse("ssl_check=1&token=abc", &req, NULL) == 0 &&
	    req.ping == 1 && req.user == NULL, "ssl_check is a ping");
	chat_request_free(&req);

	buf_init(&b);
	for (i = 0; i < 100; i++) {
		buf_add_int(&b, (long long)i);
		buf_addstr(&b, "=x&");
	}
	ok(slack_parse(b.data, &req, NULL) == -1, "100 form fields refused");
	chat_request_free(&req);
	buf_free(&b);
}

/* A block_actions payload pressing action_id with value. Caller frees. */
static char *
slack_press(const char *action_id, const char *value, const char *type,
    const char *team)
{
	json_t	*j;
	char	*s, *enc, *body;

	j = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:o, s:{s:s, s:s}, "
	    "s:{s:s, s:s, s:s, s:b}, s:s, s:s, s:[{s:s, s:s, s:s, s:s, "
	    "s:s}]}",
	    "type", type,
	    "user", "id", "U2CERLKJA", "username", "roadrunner", "name",
	    "roadrunner", "team_id", "T1DC2JH3J",
	    "api_app_id", "A1",
	    "team", team != NULL ? json_pack("{s:s, s:s}", "id", team,
	    "domain", "x") : json_null(),
	    "channel", "id", "C0123ABC", "name", "deploys",
	    "container", "type", "message", "message_ts", "1.2",
	    "channel_id", "C0123ABC", "is_ephemeral", 0,
	    "trigger_id", "1.2.3",
	    "response_url", "https://hooks.slack.com/actions/T1/1/abc",
	    "actions", "action_id", action_id, "block_id", "ferry_release",
	    "type", "button", "value", value, "action_ts", "1.3");
	if (j == NULL) {
		printf("Bail out! json_pack\n");
		exit(1);
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	enc = form_encode(s);
	xasprintf(&body, "payload=%s", enc);
	free(s);
	free(enc);
	return (body);
}

static void
test_slack_buttons(void)
{
	struct chat_request	 req;
	struct headers		 h;
	char			*body;

	body = slack_press("ferry_approve", "12", "block_actions", "T1DC2JH3J");
	slack_sign(&h, SECRET, NOW, body);
	ok(verify(&h, body, SECRET, NOW) == 0, "signed button press verifies");
	headers_clear(&h);
	ok(slack_parse(body, &req, NULL) == 0 && req.action == CHAT_APPROVE &&
	    req.button == 1 && req.error == NULL, "ferry_approve: approve, "
	    "from a button");
	is_str(req.release, "12", "button value is the release");
	is_str(req.team, "T1DC2JH3J", "button team");
	is_str(req.user, "U2CERLKJA", "button user");
	is_str(req.user_name, "roadrunner", "button user name");
	is_str(req.channel, "C0123ABC", "button channel");
	is_str(req.response_url, "https://hooks.slack.com/actions/T1/1/abc",
	    "button response_url");
	chat_request_free(&req);
	free(body);

	body = slack_press("ferry_reject", "12", "block_actions", NULL);
	ok(slack_parse(body, &req, NULL) == 0 && req.action == CHAT_REJECT &&
	    req.button == 1 && req.reason == NULL, "ferry_reject: reject");
	is_str(req.team, "T1DC2JH3J", "\"team\": null falls back to "
	    "user.team_id");
	chat_request_free(&req);
	free(body);

	body = slack_press("ferry_approve", "12; drop table", "block_actions",
	    "T1");
	ok(slack_parse(body, &req, NULL) == 0 && req.action == CHAT_UNKNOWN &&
	    req.release == NULL && req.error != NULL,
	    "button value not a release id: CHAT_UNKNOWN");
	chat_request_free(&req);
	free(body);

	body = slack_press("other_app_button", "12", "block_actions", "T1");
	ok(slack_parse(body, &req, NULL) == 0 && req.action == CHAT_UNKNOWN &&
	    req.error != NULL, "unknown action_id: CHAT_UNKNOWN");
	chat_request_free(&req);
	free(body);

	body = slack_press("ferry_approve", "12", "view_submission", "T1");
	ok(slack_parse(body, &req, NULL) == -1, "view_submission refused");
	chat_request_free(&req);
	free(body);

	ok(slack_parse("payload=%7Bnot+json", &req, NULL) == -1,
	    "payload that is not JSON refused");
	chat_request_free(&req);
	ok(slack_parse("payload=%5B1%5D", &req, NULL) == -1,
	    "payload that is a list refused");
	chat_request_free(&req);
	ok(slack_parse("payload=" "%7B%22type%22%3A%22block_actions%22%2C%22"
	    "user%22%3A%7B%22id%22%3A%22U1%22%7D%2C%22team%22%3A%7B%22id%22%3A"
	    "%22T1%22%7D%7D", &req, NULL) == -1, "payload without actions "
	    "refused");
	chat_request_free(&req);
	ok(slack_parse("payload=" "%7B%22type%22%3A%22block_actions%22%2C%22"
	    "type%22%3A%22block_actions%22%7D", &req, NULL) == -1,
	    "payload with a duplicate key refused");
	chat_request_free(&req);
	ok(slack_parse("payload=" "%7B%22type%22%3A%22block_actions%22%2C%22"
	    "actions%22%3A%5B%7B%22action_id%22%3A%22ferry_approve%22%2C%22"
	    "value%22%3A%2212%22%7D%5D%7D", &req, NULL) == -1,
	    "payload without user or team refused");
	chat_request_free(&req);
}

/* A Mattermost slash command form with token (NULL: none) and text. */
static char *
mm_form(const char *token, const char *text)
{
	char	*enc, *body;

	enc = form_encode(text);
	xasprintf(&body, "channel_id=" MM_CHANNEL "&channel_name=town-square&"
	    "command=%%2Fferry&response_url=http%%3A%%2F%%2F127.0.0.1%%3A8065"
	    "%%2Fhooks%%2Fcommands%%2Fabc&team_domain=eng&team_id=" MM_TEAM
	    "&text=%s%s%s&trigger_id=xyz&user_id=" MM_USER "&user_name=alice",
	    enc, token != NULL ? "&token=" : "", token != NULL ? token : "");
	free(enc);
	return (body);
}

/* Parse a Mattermost body with optional ctype and Authorization header. */
static int
mm_parse(const char *ctype, const char *auth, const char *body,
    const char *token, struct chat_request *req, char **causep)
{
	struct headers	 h;
	char		*cause = NULL;
	int		 rc;

	headers_init(&h);
	if (ctype != NULL)
		headers_add(&h, "Content-Type", 12, ctype, strlen(ctype));
	if (auth != NULL)
		headers_add(&h, "Authorization", 13, auth, strlen(auth));
	/* As chatops does: one decision, then the one check it calls for. */
	if (chat_mattermost_is_action(&h, body, strlen(body)))
		rc = chat_mattermost_action(body, strlen(body), token,
		    token != NULL ? strlen(token) : 0, req, &cause);
	else
		rc = chat_mattermost_command(&h, body, strlen(body), token,
		    token != NULL ? strlen(token) : 0, req, &cause);
	headers_clear(&h);
	if (rc != 0 && (cause == NULL || !is_printable_line(cause) ||
	    strstr(cause, MM_TOKEN) != NULL))
		rc = -2;
	if (causep != NULL)
		*causep = cause;
	else
		free(cause);
	return (rc);
}

#define FORM	"application/x-www-form-urlencoded"
#define JSON	"application/json"

static void
test_mattermost_commands(void)
{
	struct chat_request	 req;
	char			*body;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof wants / sizeof wants[0]; i++) {
		body = mm_form(MM_TOKEN, wants[i].text);
		rc = mm_parse(FORM, NULL, body, MM_TOKEN, &req, NULL);
		if (rc != 0)
			ok(0, "mattermost: command %zu parses", i);
		else
			check_want(&wants[i], &req, "mattermost");
		chat_request_free(&req);
		free(body);
	}

	body = mm_form(MM_TOKEN, "deploy staging v2");
	ok(mm_parse(FORM, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_DEPLOY && req.button == 0,
	    "slash command with the token field");
	is_str(req.platform, "mattermost", "platform mattermost");
	is_str(req.team, MM_TEAM, "team_id");
	is_str(req.user, MM_USER, "user_id");
	is_str(req.user_name, "alice", "user_name");
	is_str(req.channel, MM_CHANNEL, "channel_id");
	is_str(req.response_url, "http://127.0.0.1:8065/hooks/commands/abc",
	    "response_url");
	chat_request_free(&req);
	ok(mm_parse(FORM, NULL, body, "xbm8kqa3ojbz7fsgaw5ssoc4mb", &req,
	    NULL) == -1, "wrong token refused");
	chat_request_free(&req);
	ok(mm_parse(FORM, NULL, body, "xbm8kqa3ojbz7fsgaw5ssoc4", &req,
	    NULL) == -1, "configured token a prefix of the sent one refused");
	chat_request_free(&req);
	ok(mm_parse(FORM, NULL, body, MM_TOKEN "x", &req, NULL) == -1,
	    "sent token a prefix of the configured one refused");
	chat_request_free(&req);
	ok(mm_parse(FORM, NULL, body, "", &req, NULL) == -1,
	    "no configured token refuses everything");
	chat_request_free(&req);
	ok(mm_parse(FORM, "Token " MM_TOKEN, body, MM_TOKEN, &req, NULL) == 0,
	    "token field and Authorization header both right");
	chat_request_free(&req);
	ok(mm_parse(FORM, "Token wrong", body, MM_TOKEN, &req, NULL) == -1,
	    "right field, wrong Authorization header refused");
	chat_request_free(&req);
	free(body);

	body = mm_form(NULL, "status");
	ok(mm_parse(FORM, NULL, body, MM_TOKEN, &req, NULL) == -1,
	    "no token at all refused");
	chat_request_free(&req);
	ok(mm_parse(FORM, "Token " MM_TOKEN, body, MM_TOKEN, &req, NULL) ==
	    0 && req.action == CHAT_STATUS, "Authorization header alone");
	chat_request_free(&req);
	ok(mm_parse(FORM, "Bearer " MM_TOKEN, body, MM_TOKEN, &req, NULL) ==
	    -1, "Bearer instead of Token refused");
	chat_request_free(&req);
	ok(mm_parse(NULL, "token " MM_TOKEN, body, MM_TOKEN, &req, NULL) == 0,
	    "no Content-Type, form body: a command");
	chat_request_free(&req);
	free(body);

	body = mm_form("", "status");
	ok(mm_parse(FORM, NULL, body, MM_TOKEN, &req, NULL) == -1,
	    "empty token field refused");
	chat_request_free(&req);
	free(body);

	ok(mm_parse(FORM, NULL, "token=" MM_TOKEN "&user_id=" MM_USER
	    "&text=help", MM_TOKEN, &req, NULL) == -1,
	    "missing team_id refused");
	chat_request_free(&req);
	ok(mm_parse(FORM, NULL, "token=" MM_TOKEN "&token=" MM_TOKEN
	    "&team_id=" MM_TEAM "&user_id=" MM_USER, MM_TOKEN, &req, NULL) ==
	    -1, "token field twice refused");
	chat_request_free(&req);
}

/* A Mattermost button press: JSON with context. Caller frees. */
static char *
mm_press(const char *action, json_t *release, const char *token)
{
	json_t	*j, *ctx;
	char	*s;

	ctx = json_object();
	if (action != NULL)
		json_object_set_new(ctx, "action", json_string(action));
	if (release != NULL)
		json_object_set_new(ctx, "release", release);
	if (token != NULL)
		json_object_set_new(ctx, "token", json_string(token));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
	    "user_id", MM_USER, "user_name", "alice", "channel_id", MM_CHANNEL,
	    "team_id", MM_TEAM, "post_id", "p1", "trigger_id", "t1", "type",
	    "", "context", ctx);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return (s);
}

static void
test_mattermost_buttons(void)
{
	struct chat_request	 req;
	char			*body;

	body = mm_press("approve", json_string("12"), MM_TOKEN);
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_APPROVE && req.button == 1 &&
	    req.error == NULL, "context approve: approve, from a button");
	is_str(req.release, "12", "context release");
	is_str(req.team, MM_TEAM, "button team");
	is_str(req.user, MM_USER, "button user");
	is_str(req.channel, MM_CHANNEL, "button channel");
	ok(req.response_url == NULL, "no response_url in a button press");
	chat_request_free(&req);
	ok(mm_parse(NULL, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_APPROVE, "no Content-Type, JSON body: a "
	    "button");
	chat_request_free(&req);
	ok(mm_parse(JSON, NULL, body, "other-token", &req, NULL) == -1,
	    "button with a wrong context token refused");
	chat_request_free(&req);
	ok(mm_parse(FORM, NULL, body, MM_TOKEN, &req, NULL) == -1,
	    "JSON labelled as a form refused");
	chat_request_free(&req);
	free(body);

	body = mm_press("reject", json_string("7"), MM_TOKEN);
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_REJECT && req.button == 1,
	    "context reject: reject");
	is_str(req.release, "7", "reject release");
	chat_request_free(&req);
	free(body);

	body = mm_press("approve", json_string("12"), NULL);
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == -1,
	    "button without a context token refused");
	chat_request_free(&req);
	free(body);
	body = mm_press("approve", json_string("12"), "");
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == -1,
	    "button with an empty context token refused");
	chat_request_free(&req);
	free(body);
	body = mm_press("merge", json_string("12"), MM_TOKEN);
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_UNKNOWN && req.error != NULL,
	    "unknown context action: CHAT_UNKNOWN");
	chat_request_free(&req);
	free(body);
	body = mm_press("approve", json_string("12x"), MM_TOKEN);
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_UNKNOWN && req.release == NULL,
	    "context release not digits: CHAT_UNKNOWN");
	chat_request_free(&req);
	free(body);
	body = mm_press("approve", json_integer(12), MM_TOKEN);
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_UNKNOWN, "context release as a number: "
	    "CHAT_UNKNOWN (ferry sends a string)");
	chat_request_free(&req);
	free(body);

	ok(mm_parse(JSON, NULL, "{\"user_id\":\"" MM_USER "\"}", MM_TOKEN,
	    &req, NULL) == -1, "button without a context refused");
	chat_request_free(&req);
	ok(mm_parse(JSON, NULL, "{\"context\":{\"token\":\"" MM_TOKEN "\","
	    "\"action\":\"approve\",\"release\":\"1\"}}", MM_TOKEN, &req,
	    NULL) == -1, "button without user and team refused");
	chat_request_free(&req);
	ok(mm_parse(JSON, NULL, "{\"context\":", MM_TOKEN, &req, NULL) == -1,
	    "truncated JSON refused");
	chat_request_free(&req);
	ok(mm_parse(JSON, NULL, "{\"user_id\":\"\xff\"}", MM_TOKEN, &req,
	    NULL) == -1, "invalid UTF-8 in JSON refused");
	chat_request_free(&req);
}

/* Parse s as a JSON object, or bail out. */
static json_t *
load(const char *s, const char *what)
{
	json_t		*j;
	json_error_t	 err;

	if (s == NULL || (j = json_loads(s, JSON_REJECT_DUPLICATES,
	    &err)) == NULL || !json_is_object(j)) {
		ok(0, "%s is a JSON object: %s", what, s == NULL ? "NULL" :
		    err.text);
		return (NULL);
	}
	ok(1, "%s is a JSON object", what);
	return (j);
}

static const char *
jstr(json_t *j, const char *key)
{
	return (json_string_value(json_object_get(j, key)));
}

#define HOSTILE	"he said \"no\" \\ <!channel> & $(reboot)\n\xff{\"x\":1}"

static void
test_replies(void)
{
	json_t	*j;
	char	*s, *help;

	s = chat_reply("slack", HOSTILE, 0);
	if ((j = load(s, "slack reply")) != NULL) {
		is_str(jstr(j, "response_type"), "ephemeral", "ephemeral");
		is_str(jstr(j, "text"), "he said \"no\" \\ &lt;!channel&gt; "
		    "&amp; $(reboot)\n\xef\xbf\xbd{\"x\":1}",
		    "slack text: escaped for JSON and for Slack markup");
		ok(json_object_size(j) == 2, "slack reply has two keys");
		json_decref(j);
	}
	free(s);

	s = chat_reply("mattermost", "@channel @all, @here. @alice @hereafter "
	    "a@b.c \"q\" @All.x", 1);
	if ((j = load(s, "mattermost reply")) != NULL) {
		is_str(jstr(j, "response_type"), "in_channel", "in_channel");
		is_str(jstr(j, "text"), "@\xe2\x80\x8b" "channel @\xe2\x80\x8b"
		    "all, @\xe2\x80\x8bhere. @alice @hereafter a@b.c \"q\" "
		    "@\xe2\x80\x8b" "All.x",
		    "mattermost text: group mentions defused, others kept");
		json_decref(j);
	}
	free(s);
	ok(chat_reply("irc", "x", 0) == NULL, "unknown platform: NULL");

	help = chat_help_text();
	ok(strstr(help, "status [ENV]") != NULL &&
	    strstr(help, "approve RELEASE") != NULL &&
	    strstr(help, "reject RELEASE") != NULL &&
	    strstr(help, "deploy ENV VERSION") != NULL &&
	    strstr(help, "rollback ENV") != NULL &&
	    strstr(help, "runs [PROJECT]") != NULL &&
	    strstr(help, "help") != NULL, "help names every command");
	s = chat_reply("slack", help, 0);
	if ((j = load(s, "help reply")) != NULL) {
		is_str(jstr(j, "text"), help, "help survives the round trip");
		json_decref(j);
	}
	free(s);
	free(help);

	s = chat_notice("slack", "deploy of 12 to production failed: " HOSTILE);
	if ((j = load(s, "slack notice")) != NULL) {
		ok(json_object_size(j) == 1 && jstr(j, "text") != NULL &&
		    strstr(jstr(j, "text"), "&lt;!channel&gt;") != NULL,
		    "slack notice: text only, escaped");
		json_decref(j);
	}
	free(s);
	s = chat_notice("mattermost", "run 7 failed on main");
	if ((j = load(s, "mattermost notice")) != NULL) {
		is_str(jstr(j, "text"), "run 7 failed on main",
		    "mattermost notice text");
		is_str(jstr(j, "username"), "ferry", "mattermost username");
		json_decref(j);
	}
	free(s);
	ok(chat_notice(NULL, "x") == NULL, "notice, no platform: NULL");

	ok(strcmp(chat_action_name(CHAT_HELP), "help") == 0 &&
	    strcmp(chat_action_name(CHAT_STATUS), "status") == 0 &&
	    strcmp(chat_action_name(CHAT_APPROVE), "approve") == 0 &&
	    strcmp(chat_action_name(CHAT_REJECT), "reject") == 0 &&
	    strcmp(chat_action_name(CHAT_DEPLOY), "deploy") == 0 &&
	    strcmp(chat_action_name(CHAT_ROLLBACK), "rollback") == 0 &&
	    strcmp(chat_action_name(CHAT_RUNS), "runs") == 0 &&
	    strcmp(chat_action_name(CHAT_UNKNOWN), "unknown") == 0,
	    "action names");
}

#define ARTIFACT	"registry.example/shop/web:v1.2.3@sha256:" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ACTION_URL	"https://ferry.example/chat/mattermost"

static void
test_approval_slack(void)
{
	struct chat_request	 req;
	struct headers		 h;
	json_t			*j, *blocks, *el;
	char			*s, *body;
	const char		*text;

	s = chat_approval_message("slack", 12, "production", ARTIFACT, 2, 1,
	    "2025-01-01 12:00 UTC \"}]<!here>", NULL, NULL);
	if ((j = load(s, "slack approval message")) == NULL) {
		free(s);
		return;
	}
	text = jstr(j, "text");
	ok(text != NULL && strstr(text, "Release 12 to production") != NULL &&
	    strstr(text, ARTIFACT) != NULL &&
	    strstr(text, "Approvals: 1 of 2") != NULL &&
	    strstr(text, "\"}]&lt;!here&gt;") != NULL,
	    "fallback text: release, env, artifact, count, escaped deadline");
	blocks = json_object_get(j, "blocks");
	ok(json_array_size(blocks) == 2, "two blocks");
	is_str(jstr(json_array_get(blocks, 0), "type"), "section",
	    "first block: section");
	is_str(json_string_value(json_object_get(json_object_get(
	    json_array_get(blocks, 0), "text"), "text")), text,
	    "section text is the message");
	is_str(jstr(json_array_get(blocks, 1), "type"), "actions",
	    "second block: actions");
	el = json_object_get(json_array_get(blocks, 1), "elements");
	ok(json_array_size(el) == 2, "two buttons");
	is_str(jstr(json_array_get(el, 0), "type"), "button", "button type");
	is_str(jstr(json_array_get(el, 0), "action_id"), "ferry_approve",
	    "approve action_id");
	is_str(jstr(json_array_get(el, 0), "value"), "12", "approve value");
	is_str(jstr(json_array_get(el, 1), "action_id"), "ferry_reject",
	    "reject action_id");
	is_str(jstr(json_array_get(el, 1), "value"), "12", "reject value");

	/* Press the approve button as Slack would. */
	body = slack_press(jstr(json_array_get(el, 0), "action_id"),
	    jstr(json_array_get(el, 0), "value"), "block_actions", "T1");
	slack_sign(&h, SECRET, NOW, body);
	ok(verify(&h, body, SECRET, NOW) == 0 &&
	    slack_parse(body, &req, NULL) == 0 && req.action == CHAT_APPROVE &&
	    req.release != NULL && strcmp(req.release, "12") == 0,
	    "pressing ferry's own Approve button approves release 12");
	chat_request_free(&req);
	headers_clear(&h);
	free(body);
	json_decref(j);
	free(s);
}

static void
test_approval_mattermost(void)
{
	struct chat_request	 req;
	json_t			*j, *att, *acts, *ctx, *press;
	char			*s, *body;
	const char		*text;

	s = chat_approval_message("mattermost", 12, "production", ARTIFACT,
	    2, 0, NULL, ACTION_URL, MM_TOKEN);
	if ((j = load(s, "mattermost approval message")) == NULL) {
		free(s);
		return;
	}
	is_str(jstr(j, "username"), "ferry", "username ferry");
	text = jstr(j, "text");
	ok(text != NULL && strstr(text, "Approvals: 0 of 2.") != NULL &&
	    strstr(text, "Expires") == NULL, "text without a deadline");
	att = json_array_get(json_object_get(j, "attachments"), 0);
	acts = json_object_get(att, "actions");
	ok(json_array_size(acts) == 2, "two actions");
	is_str(jstr(json_array_get(acts, 0), "type"), "button", "button");
	is_str(jstr(json_array_get(acts, 0), "name"), "Approve",
	    "Approve label");
	is_str(jstr(json_array_get(acts, 1), "name"), "Reject",
	    "Reject label");
	is_str(json_string_value(json_object_get(json_object_get(
	    json_array_get(acts, 0), "integration"), "url")), ACTION_URL,
	    "integration url");
	ctx = json_object_get(json_object_get(json_array_get(acts, 1),
	    "integration"), "context");
	is_str(jstr(ctx, "action"), "reject", "context action");
	is_str(jstr(ctx, "release"), "12", "context release");
	is_str(jstr(ctx, "token"), MM_TOKEN, "context token");

	/* Press Reject as Mattermost would: our context, its user fields. */
	press = json_pack("{s:s, s:s, s:s, s:O}", "user_id", MM_USER,
	    "team_id", MM_TEAM, "channel_id", MM_CHANNEL, "context", ctx);
	body = json_dumps(press, JSON_COMPACT);
	json_decref(press);
	ok(mm_parse(JSON, NULL, body, MM_TOKEN, &req, NULL) == 0 &&
	    req.action == CHAT_REJECT && req.release != NULL &&
	    strcmp(req.release, "12") == 0 && req.button == 1,
	    "pressing ferry's own Reject button rejects release 12");
	chat_request_free(&req);
	free(body);
	json_decref(j);
	free(s);

	ok(chat_approval_message("mattermost", 1, "p", ARTIFACT, 1, 0, NULL,
	    ACTION_URL, NULL) == NULL, "mattermost without a token: NULL");
	ok(chat_approval_message("mattermost", 1, "p", ARTIFACT, 1, 0, NULL,
	    NULL, MM_TOKEN) == NULL, "mattermost without a url: NULL");
	ok(chat_approval_message("teams", 1, "p", ARTIFACT, 1, 0, NULL,
	    ACTION_URL, MM_TOKEN) == NULL, "unknown platform: NULL");
}

#define BUTTON_TOKEN	"0b5a2b1c9d3e4f5061728394a5b6c7d8" \
			"e9f00112233445566778899aabbccdd"

/*
 * A body that is both a form and JSON: posted as a form it is a slash
 * command, and its JSON names a release. Deciding "button" by the first
 * character and "form" by the Content-Type let a button's token run any
 * command; the token it carries must be checked as a command token only.
 */
static void
test_mattermost_crossover(void)
{
	struct chat_request	 req;
	struct headers		 h;
	json_t			*j;
	const char		*body;
	char			*cause = NULL;

	body = "{\"context\":{\"release\":\"5\"},\"x\":\"&token="
	    BUTTON_TOKEN "&team_id=" MM_TEAM "&user_id=" MM_USER
	    "&command=%2Fferry&text=deploy+production+9.9.9&y=\"}";
	j = json_loads(body, 0, NULL);
	ok(j != NULL, "the crafted body is JSON");
	json_decref(j);
	headers_init(&h);
	headers_add(&h, "Content-Type", 12, FORM, strlen(FORM));
	ok(!chat_mattermost_is_action(&h, body, strlen(body)),
	    "posted as a form, it is a command, not a button");
	ok(chat_mattermost_command(&h, body, strlen(body), MM_TOKEN,
	    strlen(MM_TOKEN), &req, &cause) == -1 && cause != NULL &&
	    strstr(cause, "token mismatch") != NULL,
	    "a button's token as a command token: refused");
	free(cause);
	cause = NULL;
	chat_request_free(&req);
	/* What the fix stops: the same body checked against the button's. */
	ok(chat_mattermost_command(&h, body, strlen(body), BUTTON_TOKEN,
	    strlen(BUTTON_TOKEN), &req, NULL) == 0 &&
	    req.action == CHAT_DEPLOY, "(the form does hold a deploy command)");
	chat_request_free(&req);
	headers_clear(&h);

	headers_init(&h);
	headers_add(&h, "Content-Type", 12, JSON, strlen(JSON));
	ok(chat_mattermost_is_action(&h, body, strlen(body)),
	    "posted as JSON, it is a button press");
	ok(chat_mattermost_action(body, strlen(body), BUTTON_TOKEN,
	    strlen(BUTTON_TOKEN), &req, &cause) == -1,
	    "and as a button press it has no context token: refused");
	free(cause);
	chat_request_free(&req);
	headers_clear(&h);
	headers_init(&h);
	headers_add(&h, "Content-Type", 12, "Application/JSON; charset=utf-8",
	    31);
	ok(chat_mattermost_is_action(&h, "x=1", 3),
	    "the Content-Type decides, in any case, with parameters");
	headers_clear(&h);
	headers_init(&h);
	ok(chat_mattermost_is_action(&h, " \n{}", 4) &&
	    !chat_mattermost_is_action(&h, "token=x", 7) &&
	    !chat_mattermost_is_action(&h, "", 0),
	    "without a Content-Type, the first character decides");
	headers_clear(&h);
}

/* The token notify_fill must put in for release id, computed here. */
static void
fill_token(const char *secret, long long id, char out[SHA256_HEX_LEN + 1])
{
	unsigned char	 mac[32];
	char		 msg[64];

	snprintf(msg, sizeof msg, "ferry-approval:%lld", id);
	hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
	hex_encode(mac, sizeof mac, out);
}

/*
 * notify_fill puts a release's button token only where ferry put its
 * marker: the context of a Mattermost approval button, beside the same
 * release. The marker typed anywhere else stays as typed.
 */
static void
test_fill(void)
{
	struct conf	 conf;
	struct notify	*n;
	json_t		*j, *ctx;
	char		 secret[] = "mm-actions";
	char		*msg, *out, tok9[SHA256_HEX_LEN + 1];
	char		 tok12[SHA256_HEX_LEN + 1];
	const char	*body;

	memset(&conf, 0, sizeof conf);
	conf.mm_action_secret = secret;
	conf.mm_action_secretlen = strlen(conf.mm_action_secret);
	n = notify_new(NULL, NULL, &conf);
	fill_token("mm-actions", 9, tok9);
	fill_token("mm-actions", 12, tok12);

	msg = chat_approval_message("mattermost", 12, "production", ARTIFACT,
	    2, 0, NULL, ACTION_URL, NOTIFY_BUTTON_MARK "12@@");
	out = notify_fill(msg, strlen(msg), n);
	ok(out != NULL && strstr(out, NOTIFY_BUTTON_MARK) == NULL,
	    "approval message: every marker filled");
	if ((j = json_loads(out != NULL ? out : "", 0, NULL)) != NULL) {
		ctx = json_object_get(json_object_get(json_array_get(
		    json_object_get(json_array_get(json_object_get(j,
		    "attachments"), 0), "actions"), 1), "integration"),
		    "context");
		is_str(jstr(ctx, "token"), tok12, "with release 12's token");
		is_str(jstr(ctx, "release"), "12", "the rest as it was");
		json_decref(j);
	} else
		ok(0, "filled message is JSON");
	free(out);
	free(msg);

	/* A rejection's reason quoted in a notice, on either platform. */
	msg = chat_notice("mattermost", "Release 12 of production is rejected: "
	    NOTIFY_BUTTON_MARK "9@@");
	ok(notify_fill(msg, strlen(msg), n) == NULL,
	    "marker in a notice's text: left as typed");
	free(msg);
	body = "{\"event\":\"release\",\"release\":{\"reason\":\""
	    NOTIFY_BUTTON_MARK "9@@\"}}";
	ok(notify_fill(body, strlen(body), n) == NULL,
	    "marker in a webhook's JSON: left as typed");
	body = "{\"text\":\"x\",\"attachments\":[{\"text\":\""
	    NOTIFY_BUTTON_MARK "9@@\",\"actions\":[]}]}";
	ok(notify_fill(body, strlen(body), n) == NULL,
	    "marker in an attachment's text: left as typed");
	/* A button whose release is another than its marker's. */
	body = "{\"attachments\":[{\"actions\":[{\"integration\":{"
	    "\"context\":{\"release\":\"12\",\"token\":\""
	    NOTIFY_BUTTON_MARK "9@@\"}}}]}]}";
	ok(notify_fill(body, strlen(body), n) == NULL,
	    "marker for release 9 beside release 12: left as typed");
	body = "{\"attachments\":[{\"actions\":[{\"integration\":{"
	    "\"context\":{\"release\":\"9\",\"token\":\"x "
	    NOTIFY_BUTTON_MARK "9@@\"}}}]}]}";
	ok(notify_fill(body, strlen(body), n) == NULL,
	    "marker inside a longer token value: left as typed");
	body = "{\"attachments\":[{\"actions\":[{\"integration\":{"
	    "\"context\":{\"release\":9,\"token\":\""
	    NOTIFY_BUTTON_MARK "9@@\"}}}]}]}";
	ok(notify_fill(body, strlen(body), n) == NULL,
	    "release as a number (ferry writes a string): left as typed");
	body = "not JSON " NOTIFY_BUTTON_MARK "9@@";
	ok(notify_fill(body, strlen(body), n) == NULL,
	    "marker in a body that is not JSON: left as typed");
	body = "{\"attachments\":[{\"actions\":[{\"integration\":{"
	    "\"context\":{\"release\":\"9\",\"token\":\""
	    NOTIFY_BUTTON_MARK "9@@\"}}}]}]}";
	out = notify_fill(body, strlen(body), n);
	ok(out != NULL && strstr(out, tok9) != NULL &&
	    strstr(out, NOTIFY_BUTTON_MARK) == NULL,
	    "the one place: filled");
	free(out);
	notify_free(n);
}

int
main(void)
{
	test_vector();
	test_bad_headers();
	test_commands();
	test_slack_hostile();
	test_slack_buttons();
	test_mattermost_commands();
	test_mattermost_buttons();
	test_replies();
	test_approval_slack();
	test_approval_mattermost();
	test_mattermost_crossover();
	test_fill();
	return (tap_done());
}
