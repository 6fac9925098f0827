/*
 * The webhook path, from request to durable run.
 *
 * DESIGN: ingest_hook does everything that needs no disk at once (method,
 * project, signature, parse, ref and commit checks, trigger rules) and
 * answers bad requests straight away. A good delivery joins the pending
 * batch, and a low-priority event runs ingest_commit after the loop has
 * served every ready connection: one transaction records all pending
 * deliveries and their runs, and only after COMMIT are the replies sent.
 * So a 202 always means the run is on disk, and one fsync covers many
 * requests under load. If the commit fails, every request of the batch is
 * answered 503 and the sender retries; nothing half-written remains.
 * A pending item copies what it needs from the configuration, so a reload
 * cannot pull it from under the batch.
 */
#include "config.h"

#include <sys/queue.h>

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "httpd.h"
#include "ferryd.h"
#include "ingest.h"
#include "runner.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define INGEST_BATCH_MAX	512

struct ingest_item {
	struct httpd_req		*req;
	char				*project;
	int				 supersede;
	struct gitevent_list		 events;
	TAILQ_ENTRY(ingest_item)	 entry;
};

struct ingest {
	struct event_base		*base;
	struct store			*store;
	struct runner			*runner;
	const struct conf		*conf;
	struct event			*commit_ev;
	TAILQ_HEAD(, ingest_item)	 pending;
	size_t				 npending;
	/* Counters for /metrics. */
	unsigned long long		 n_accepted;
	unsigned long long		 n_ignored;
	unsigned long long		 n_duplicate;
	unsigned long long		 n_rejected;
	unsigned long long		 n_runs;
	unsigned long long		 n_commits;
	unsigned long long		 n_store_errors;
};

static void	ingest_commit_cb(evutil_socket_t, short, void *);

struct ingest *
ingest_new(struct event_base *base, struct store *store, struct runner *runner,
    const struct conf *conf)
{
	struct ingest	*in;

	in = xcalloc(1, sizeof *in);
	in->base = base;
	in->store = store;
	in->runner = runner;
	in->conf = conf;
	TAILQ_INIT(&in->pending);
	in->commit_ev = event_new(base, -1, 0, ingest_commit_cb, in);
	/* Lowest priority: runs after every ready socket has been served. */
	event_priority_set(in->commit_ev, FERRYD_PRIORITIES - 1);
	return (in);
}

/* Swap in a reloaded configuration; pending items keep their copies. */
void
ingest_set_conf(struct ingest *in, const struct conf *conf)
{
	in->conf = conf;
}

static void
ingest_item_free(struct ingest_item *it)
{
	free(it->project);
	gitevent_list_free(&it->events);
	free(it);
}

/* Turn one verified request into events; -1 with *cause on bad input. */
static int
ingest_parse(const struct conf_project *pr, struct httpd_req *req,
    struct gitevent_list *events, int *code, char **cause)
{
	struct handler_request	 hr;
	struct gitevent		*ev;
	const char		*why;
	size_t			 i;

	hr.headers = httpd_req_headers(req);
	hr.body = httpd_req_body(req, &hr.bodylen);
	hr.project = pr;
	if (pr->handler->verify(&hr, pr->secret, pr->secretlen, cause) != 0) {
		*code = 401;
		return (-1);
	}
	*code = 400;
	if (pr->handler->parse(&hr, events, cause) != 0)
		return (-1);
	if (events->n == 0) {
		xasprintf(cause, "payload holds no event");
		return (-1);
	}
	if (events->v[0].delivery == NULL)
		handler_delivery(&hr, NULL, &events->v[0].delivery);
	for (i = 0; i < events->n; i++) {
		ev = &events->v[i];
		if (ev->delivery == NULL)
			ev->delivery = xstrdup(events->v[0].delivery);
		if (gitevent_check(ev, cause) != 0)
			return (-1);
		if ((ev->kind == GITEVENT_PUSH || ev->kind == GITEVENT_TAG ||
		    ev->kind == GITEVENT_MERGE) &&
		    !conf_project_triggers(pr, ev->kind, ev->ref, &why))
			gitevent_ignore(ev, "%s", why);
	}
	return (0);
}

/*
 * POST /hooks/<project>. Answers errors at once; a good delivery is
 * answered after the next batch commit.
 */
void
ingest_hook(struct ingest *in, struct httpd_req *req, const char *name)
{
	const struct conf_project	*pr;
	struct ingest_item		*it;
	struct gitevent_list		 events = { NULL, 0 };
	char				*cause = NULL;
	int				 code;

	/* api_head_cb checked both before the body; a reload may race. */
	if ((pr = conf_project_find(in->conf, name)) == NULL) {
		in->n_rejected++;
		httpd_reply_error(req, 404, "no project named \"%.100s\"",
		    name);
		return;
	}
	if (ingest_parse(pr, req, &events, &code, &cause) != 0) {
		in->n_rejected++;
		log_warnx("hook %s: %s: rejected (%d): %s", pr->name,
		    httpd_req_peer(req), code, cause);
		httpd_reply_error(req, code, "%s", cause);
		free(cause);
		gitevent_list_free(&events);
		return;
	}
	it = xcalloc(1, sizeof *it);
	it->req = req;
	it->project = xstrdup(pr->name);
	it->supersede = pr->supersede;
	it->events = events;
	TAILQ_INSERT_TAIL(&in->pending, it, entry);
	if (in->npending++ == 0)
		event_active(in->commit_ev, 0, 0);
	else if (in->npending >= INGEST_BATCH_MAX)
		ingest_flush(in);
}

/*
 * Record one item's delivery and runs inside the open transaction, and
 * write its reply into out. The event is serialized only for a new run.
 */
static int
ingest_store_item(struct ingest *in, struct ingest_item *it, struct buf *out,
    int *code)
{
	struct store_run_new	 r;
	struct gitevent		*ev;
	struct buf		 evj, runs;
	int64_t			 id;
	int			 rc, nruns = 0;
	size_t			 i;

	ev = &it->events.v[0];
	rc = store_delivery_add(in->store, it->project, ev->delivery,
	    ev->provider, ev->event);
	if (rc == -1)
		return (-1);
	if (rc == 0) {
		*code = 200;
		buf_addstr(out, "{\"delivery\":");
		buf_add_json_str(out, ev->delivery);
		buf_addstr(out, ",\"duplicate\":true}\n");
		in->n_duplicate++;
		return (0);
	}
	buf_init(&runs);
	buf_addstr(&runs, "[");
	for (i = 0; i < it->events.n; i++) {
		ev = &it->events.v[i];
		if (ev->kind != GITEVENT_PUSH && ev->kind != GITEVENT_TAG &&
		    ev->kind != GITEVENT_MERGE)
			continue;
		id = store_run_find(in->store, it->project, ev->ref, ev->sha);
		if (id == 0) {
			buf_init(&evj);
			gitevent_write(ev, &evj);
			r.project = it->project;
			r.ref = ev->ref;
			r.sha = ev->sha;
			r.kind = gitevent_kind_name(ev->kind);
			r.delivery = ev->delivery;
			r.event_json = evj.data;
			r.supersede = it->supersede;
			id = store_run_add(in->store, &r);
			buf_free(&evj);
			if (id > 0) {
				in->n_runs++;
				log_info("run %lld: queued for %s %s at %.12s "
				    "(%s)", (long long)id, it->project,
				    ev->ref, ev->sha, ev->event);
			}
		} else if (id > 0 && ev->kind == GITEVENT_PUSH &&
		    it->supersede && gitevent_branch(ev) != NULL) {
			switch (store_run_requeue(in->store, id, it->project,
			    ev->ref)) {
			case -1:
				id = -1;
				break;
			case 1:
				in->n_runs++;	/* the runner has work again */
				break;
			}
		}
		/* Who pushed or merged it, for the self-approval rule. */
		if (id > 0 && ev->sender != NULL && *ev->sender != '\0' &&
		    store_run_sender_add(in->store, id, ev->sender) != 0)
			id = -1;
		if (id == -1) {
			buf_free(&runs);
			return (-1);
		}
		if (nruns++ > 0)
			buf_addstr(&runs, ",");
		buf_add_int(&runs, id);
	}
	buf_addstr(&runs, "]");
	*code = nruns > 0 ? 202 : 200;
	if (*code == 202)
		in->n_accepted++;
	else
		in->n_ignored++;
	buf_addstr(out, "{\"delivery\":");
	buf_add_json_str(out, it->events.v[0].delivery);
	buf_addstr(out, ",\"events\":");
	gitevent_list_write(&it->events, out);
	buf_addstr(out, ",\"runs\":");
	buf_add(out, runs.data, runs.len);
	buf_addstr(out, "}\n");
	buf_free(&runs);
	return (0);
}

/*
 * Commit every pending delivery in one transaction, then answer them all:
 * with their results after a successful commit, 503 otherwise.
 */
void
ingest_flush(struct ingest *in)
{
	struct ingest_item	*it;
	struct buf		*replies;
	unsigned long long	 runs_before;
	int			*codes, ok;
	size_t			 n, i;

	if ((n = in->npending) == 0)
		return;
	event_del(in->commit_ev);
	runs_before = in->n_runs;
	replies = xcalloc(n, sizeof *replies);
	codes = xcalloc(n, sizeof *codes);
	ok = store_begin(in->store) == 0;
	i = 0;
	TAILQ_FOREACH(it, &in->pending, entry) {
		if (!ok)
			break;
		if (ingest_store_item(in, it, &replies[i], &codes[i]) != 0)
			ok = 0;
		i++;
	}
	if (ok && store_commit(in->store) != 0)
		ok = 0;
	/*
	 * A commit can take long (fsync, a lock): refresh libevent's cached
	 * time, or the timeouts armed by the replies below would start in
	 * the past and fire at once.
	 */
	event_base_update_cache_time(in->base);
	if (!ok) {
		store_rollback(in->store);
		in->n_store_errors++;
		log_warnx("ingest: commit of %zu deliveries failed; "
		    "answered 503", n);
	}
	in->n_commits++;
	/* Wake the runner only when this batch queued something. */
	if (ok && in->runner != NULL && in->n_runs != runs_before)
		runner_kick(in->runner);
	i = 0;
	while ((it = TAILQ_FIRST(&in->pending)) != NULL) {
		TAILQ_REMOVE(&in->pending, it, entry);
		if (ok)
			httpd_reply(it->req, codes[i], "application/json",
			    replies[i].data, replies[i].len);
		else
			httpd_reply_error(it->req, 503, "the run queue is "
			    "unavailable; deliver again later");
		buf_free(&replies[i]);
		ingest_item_free(it);
		i++;
	}
	in->npending = 0;
	free(replies);
	free(codes);
}

static void
ingest_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	ingest_flush(arg);
}

/* Prometheus text for the counters; caller frees. */
char *
ingest_metrics(struct ingest *in)
{
	char	*s;

	xasprintf(&s,
	    "# TYPE ferry_deliveries_total counter\n"
	    "ferry_deliveries_total{result=\"accepted\"} %llu\n"
	    "ferry_deliveries_total{result=\"ignored\"} %llu\n"
	    "ferry_deliveries_total{result=\"duplicate\"} %llu\n"
	    "ferry_deliveries_total{result=\"rejected\"} %llu\n"
	    "# TYPE ferry_runs_queued_total counter\n"
	    "ferry_runs_queued_total %llu\n"
	    "# TYPE ferry_store_commits_total counter\n"
	    "ferry_store_commits_total %llu\n"
	    "# TYPE ferry_store_errors_total counter\n"
	    "ferry_store_errors_total %llu\n",
	    in->n_accepted, in->n_ignored, in->n_duplicate, in->n_rejected,
	    in->n_runs, in->n_commits, in->n_store_errors);
	return (s);
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	ingest_flush(in);
	event_free(in->commit_ev);
	free(in);
}
