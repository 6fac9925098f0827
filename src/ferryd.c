/*
 * ferryd: the daemon. One libevent loop serves webhooks and the API; the
 * store commits on the same thread. Signals: SIGTERM and SIGINT stop
 * accepting, answer what is in flight and exit 0; SIGHUP reloads the
 * configuration (listeners stay as they are); SIGPIPE is ignored. Under
 * systemd (Type=notify) readiness and shutdown are reported with sd_notify.
 */
#include "config.h"

#include <sys/stat.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "conf.h"
#include "ferryd.h"
#include "httpd.h"
#include "exec.h"
#include "chatops.h"
#include "httpc.h"
#include "notify.h"
#include "outbox.h"
#include "ingest.h"
#include "api_deploy.h"
#include "release.h"
#include "watch.h"
#include "runner.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define FERRYD_DRAIN_MS		5000	/* how long shutdown waits */

static struct event_base	*ferryd_base;
static struct conf		*ferryd_conf;
static struct httpd		*ferryd_httpd;
static struct ingest		*ferryd_ingest;
static struct api		*ferryd_api;
static struct runner		*ferryd_runner;
static struct httpc		*ferryd_httpc;
static struct release_mgr	*ferryd_release;
static struct watch		*ferryd_watch;
static struct api_deploy	*ferryd_api_deploy;
static struct outbox		*ferryd_outbox;
static struct notify		*ferryd_notify;
static struct chatops		*ferryd_chat;
static struct event		*ferryd_drain_ev;
static int			 ferryd_drain_ticks;
static const char		*ferryd_conf_path = CONF_DEFAULT_PATH;

static void
ferryd_usage(void)
{
	fprintf(stderr, "usage: ferryd [-nvV] [-c config]\n");
	exit(2);
}

static void
ferryd_limits(const struct conf *conf, struct httpd_limits *l)
{
	l->body_bytes = conf->body_bytes;
	l->inflight_bytes = conf->inflight_bytes;
	l->connections = conf->connections;
	l->timeout_ms = (long)conf->timeout_ms;
}

/*
 * Write the ready file: the bound TCP addresses, one per line, through a
 * temporary file and rename so that readers never see half of it.
 */
static void
ferryd_write_ready(const char *path, const char *addrs)
{
	char	*tmp;
	FILE	*f;

	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		log_warn("ready file %s", tmp);
		free(tmp);
		return;
	}
	fputs(addrs, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		log_warn("ready file %s", path);
	free(tmp);
}

/* Shutdown: wait until every reply is out, or the deadline passes. */
static void
ferryd_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	tv = { 0, 20000 };

	ingest_flush(ferryd_ingest);
	if (!httpd_pending(ferryd_httpd) ||
	    ++ferryd_drain_ticks * 20 >= FERRYD_DRAIN_MS) {
		event_base_loopexit(ferryd_base, NULL);
		return;
	}
	evtimer_add(ferryd_drain_ev, &tv);
}

static void
ferryd_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	if (ferryd_drain_ev != NULL)
		return;
	log_info("signal %d: stopping", (int)sig);
	sd_notify(0, "STOPPING=1");
	httpd_stop_listening(ferryd_httpd);
	httpd_set_stopping(ferryd_httpd);
	runner_shutdown(ferryd_runner);
	release_shutdown(ferryd_release);
	outbox_shutdown(ferryd_outbox);
	api_shutdown(ferryd_api);
	ferryd_drain_ev = evtimer_new(ferryd_base, ferryd_drain_cb, NULL);
	ferryd_drain_cb(-1, 0, NULL);
}

/* An acceptance result was recorded: a release may be waiting for it. */
static void
ferryd_acceptance_cb(void *arg)
{
	release_kick(ferryd_release);
}

static void
ferryd_reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct httpd_limits	 limits;
	struct conf		*conf;
	char			*cause = NULL;
	size_t			 i;

	sd_notify(0, "RELOADING=1");
	if ((conf = conf_load(ferryd_conf_path, &cause)) == NULL) {
		log_warnx("reload failed, keeping the old configuration:\n%s",
		    cause);
		free(cause);
		sd_notify(0, "READY=1");
		return;
	}
	for (i = 0; i < conf->nwarnings; i++)
		log_warnx("%s", conf->warnings[i]);
	/* Pending deliveries copied what they need; flush anyway. */
	ingest_flush(ferryd_ingest);
	ingest_set_conf(ferryd_ingest, conf);
	api_set_conf(ferryd_api, conf);
	api_deploy_set_conf(ferryd_api_deploy, conf);
	release_set_conf(ferryd_release, conf);
	notify_set_conf(ferryd_notify, conf);
	chatops_set_conf(ferryd_chat, conf);
	watch_set_conf(ferryd_watch, conf);
	runner_set_conf(ferryd_runner, conf);
	ferryd_limits(conf, &limits);
	httpd_set_limits(ferryd_httpd, &limits);
	conf_free(ferryd_conf);
	ferryd_conf = conf;
	log_info("configuration reloaded: %zu projects, %zu environments",
	    conf->nprojects, conf->nenvironments);
	sd_notify(0, "READY=1");
}

int
main(int argc, char **argv)
{
	struct httpd_limits	 limits;
	struct store		*store;
	struct event		*ev_term, *ev_int, *ev_hup;
	char			*cause = NULL, *dbpath, *addrs = NULL, *tmp;
	char			 bound[128];
	int			 ch, check = 0, verbose = 0, n;
	size_t			 i;

	log_init("ferryd", 0);
	while ((ch = getopt(argc, argv, "c:nvV")) != -1) {
		switch (ch) {
		case 'c':
			ferryd_conf_path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("ferryd %s\n", PACKAGE_VERSION);
			return (0);
		default:
			ferryd_usage();
		}
	}
	if (optind != argc)
		ferryd_usage();
	log_set_verbose(verbose);

	if ((ferryd_conf = conf_load(ferryd_conf_path, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (1);
	}
	for (i = 0; i < ferryd_conf->nwarnings; i++)
		fprintf(stderr, "warning: %s\n", ferryd_conf->warnings[i]);
	if (check) {
		printf("configuration OK\n");
		conf_free(ferryd_conf);
		return (0);
	}

	signal(SIGPIPE, SIG_IGN);
	if (mkdirs(ferryd_conf->state_dir, 0750) != 0)
		fatal("state directory %s", ferryd_conf->state_dir);
	xasprintf(&dbpath, "%s/ferry.db", ferryd_conf->state_dir);
	if ((store = store_open(dbpath, ferryd_conf->sync_full,
	    &cause)) == NULL)
		fatalx("store: %s", cause);
	free(dbpath);

	if ((ferryd_base = event_base_new()) == NULL ||
	    event_base_priority_init(ferryd_base, FERRYD_PRIORITIES) != 0)
		fatalx("event_base_new");
	exec_init(ferryd_base);
	if ((n = store_runs_recover(store)) > 0)
		log_info("%d runs were interrupted by a stop; those stopped "
		    "for the first time are queued again", n);
	ferryd_runner = runner_new(ferryd_base, store, ferryd_conf);
	ferryd_ingest = ingest_new(ferryd_base, store, ferryd_runner,
	    ferryd_conf);
	ferryd_api = api_new(ferryd_base, store, ferryd_ingest, ferryd_runner,
	    ferryd_conf);
	if ((ferryd_httpc = httpc_new(ferryd_base, &cause)) == NULL)
		fatalx("http client: %s", cause);
	ferryd_release = release_new(ferryd_base, store, ferryd_conf);
	ferryd_notify = notify_new(store, NULL, ferryd_conf);
	ferryd_outbox = outbox_new(ferryd_base, ferryd_httpc, store,
	    notify_auth, ferryd_notify);
	notify_set_outbox(ferryd_notify, ferryd_outbox);
	outbox_set_resolver(ferryd_outbox, notify_resolve_url, ferryd_notify);
	outbox_set_filler(ferryd_outbox, notify_fill, ferryd_notify);
	release_set_observer(ferryd_release, notify_release, ferryd_notify);
	runner_set_observer(ferryd_runner, notify_run, ferryd_notify);
	ferryd_chat = chatops_new(store, ferryd_release, ferryd_outbox,
	    ferryd_conf);
	runner_set_acceptance_cb(ferryd_runner, ferryd_acceptance_cb, NULL);
	ferryd_watch = watch_new(ferryd_base, ferryd_httpc, store,
	    ferryd_release, ferryd_conf);
	ferryd_api_deploy = api_deploy_new(store, ferryd_release,
	    ferryd_watch, ferryd_conf);
	api_set_deploy(ferryd_api, ferryd_api_deploy, ferryd_watch);
	api_set_chat(ferryd_api, ferryd_chat, ferryd_outbox);
	ferryd_limits(ferryd_conf, &limits);
	ferryd_httpd = httpd_new(ferryd_base, &limits, api_request_cb,
	    ferryd_api);
	httpd_set_head_cb(ferryd_httpd, api_head_cb);
	for (i = 0; i < ferryd_conf->nlisten; i++) {
		if (httpd_listen_tcp(ferryd_httpd, ferryd_conf->listen[i],
		    bound, sizeof bound, &cause) != 0)
			fatalx("%s", cause);
		log_info("listening on %s", bound);
		xasprintf(&tmp, "%s%s\n", addrs != NULL ? addrs : "", bound);
		free(addrs);
		addrs = tmp;
	}
	if (httpd_listen_unix(ferryd_httpd, ferryd_conf->api_socket,
	    &cause) != 0)
		fatalx("api socket: %s", cause);
	log_info("API on %s", ferryd_conf->api_socket);

	ev_term = evsignal_new(ferryd_base, SIGTERM, ferryd_stop_cb, NULL);
	ev_int = evsignal_new(ferryd_base, SIGINT, ferryd_stop_cb, NULL);
	ev_hup = evsignal_new(ferryd_base, SIGHUP, ferryd_reload_cb, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);

	if (ferryd_conf->ready_file != NULL)
		ferryd_write_ready(ferryd_conf->ready_file, addrs);
	sd_notifyf(0, "READY=1\nSTATUS=listening on %s", addrs);
	free(addrs);
	log_info("ready: %zu projects, %zu environments",
	    ferryd_conf->nprojects, ferryd_conf->nenvironments);
	runner_kick(ferryd_runner);

	event_base_dispatch(ferryd_base);

	ingest_free(ferryd_ingest);
	api_free(ferryd_api);		/* ends streams: before httpd goes */
	httpd_free(ferryd_httpd);
	watch_free(ferryd_watch);
	api_deploy_free(ferryd_api_deploy);
	chatops_free(ferryd_chat);
	outbox_free(ferryd_outbox);
	httpc_free(ferryd_httpc);
	exec_shutdown();
	release_free(ferryd_release);
	runner_free(ferryd_runner);
	notify_free(ferryd_notify);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	if (ferryd_drain_ev != NULL)
		event_free(ferryd_drain_ev);
	store_close(store);
	if (ferryd_conf->ready_file != NULL)
		unlink(ferryd_conf->ready_file);
	conf_free(ferryd_conf);
	event_base_free(ferryd_base);
	log_info("stopped");
	return (0);
}
