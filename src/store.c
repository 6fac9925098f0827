/*
 * The SQLite store. It runs on the loop thread: WAL mode, prepared
 * statements kept for the life of the connection, and transactions that the
 * caller opens around a batch of requests so that one fsync covers many
 * deliveries. Schema changes are numbered migrations recorded in
 * PRAGMA user_version; a database newer than this binary is refused.
 *
 * DESIGN: a run is unique per (project, ref, sha) among automatic runs, so
 * a push and a merge of the same commit, in either order, make one run.
 * A new run for a branch marks older queued runs of that branch superseded
 * (when the project wants it); running runs are never touched here.
 */
#include "config.h"

#include <sqlite3.h>
#include <jansson.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"
#include "xmalloc.h"

#define STORE_RUN_COLUMNS "id, project, ref, sha, kind, state, delivery, " \
	"event, created_at, updated_at, superseded_by, manual, attempts, " \
	"interruptions, started_at, finished_at, error, retry_of"

enum store_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_DELIVERY_ADD,
	STMT_RUN_FIND,
	STMT_RUN_ADD,
	STMT_RUN_SUPERSEDE,
	STMT_RUN_REQUEUE,
	STMT_RUN_GET,
	STMT_MAX
};

static const char *store_sql[STMT_MAX] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_DELIVERY_ADD] = "INSERT OR IGNORE INTO deliveries "
	    "(project, delivery, provider, event, received_at) "
	    "VALUES (?, ?, ?, ?, ?)",
	/*
	 * ?4 is 1 when ?3 is a commit id of hex digits: then, when both
	 * have 12 or more, one being a prefix of the other is the same
	 * commit (Bitbucket Cloud names a merge commit by 12 digits, a push
	 * by 40). Fewer digits could name another commit of the branch.
	 */
	[STMT_RUN_FIND] = "SELECT id, sha FROM runs WHERE project = ?1 AND "
	    "ref = ?2 AND manual = 0 AND (sha = ?3 OR (?4 AND "
	    "length(sha) >= 12 AND length(?3) >= 12 AND "
	    "(substr(sha, 1, length(?3)) = ?3 OR "
	    "substr(?3, 1, length(sha)) = sha))) "
	    "ORDER BY sha = ?3 DESC, id LIMIT 1",
	[STMT_RUN_ADD] = "INSERT INTO runs (project, ref, sha, kind, state, "
	    "delivery, event, created_at, updated_at) "
	    "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
	[STMT_RUN_SUPERSEDE] = "UPDATE runs SET state = 'superseded', "
	    "superseded_by = ?, updated_at = ? WHERE project = ? AND "
	    "ref = ? AND state = 'queued' AND id <> ?",
	[STMT_RUN_REQUEUE] = "UPDATE runs SET state = 'queued', "
	    "superseded_by = NULL, updated_at = ? WHERE id = ? AND "
	    "state = 'superseded'",
	[STMT_RUN_GET] = "SELECT " STORE_RUN_COLUMNS " FROM runs WHERE id = ?",
};

/* Numbered migrations; index i brings the schema to version i + 1. */
static const char *store_migrations[] = {
	"CREATE TABLE deliveries ("
	"  project TEXT NOT NULL,"
	"  delivery TEXT NOT NULL,"
	"  provider TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  received_at INTEGER NOT NULL,"
	"  PRIMARY KEY (project, delivery)) WITHOUT ROWID;"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  project TEXT NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  sha TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  delivery TEXT,"
	"  event TEXT NOT NULL,"
	"  manual INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  superseded_by INTEGER);"
	"CREATE INDEX runs_commit ON runs (project, ref, sha);"
	"CREATE INDEX runs_state ON runs (state, project);",

	/* 2: pipeline execution. */
	"ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runs ADD COLUMN started_at INTEGER;"
	"ALTER TABLE runs ADD COLUMN finished_at INTEGER;"
	"ALTER TABLE runs ADD COLUMN error TEXT;"
	"ALTER TABLE runs ADD COLUMN retry_of INTEGER;"
	"CREATE TABLE stages ("
	"  run_id INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  exit_code INTEGER,"
	"  PRIMARY KEY (run_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE outputs ("
	"  run_id INTEGER NOT NULL,"
	"  stage TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (run_id, key)) WITHOUT ROWID;",

	/* 3: release artifacts and acceptance results. */
	"CREATE TABLE artifacts ("
	"  id INTEGER PRIMARY KEY,"
	"  project TEXT NOT NULL,"
	"  sha TEXT NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  repository TEXT NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  run_id INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (run_id, kind, name));"
	"CREATE INDEX artifacts_project ON artifacts (project, id);"
	"CREATE INDEX artifacts_digest ON artifacts (digest);"
	"CREATE TABLE acceptance ("
	"  digest TEXT NOT NULL,"
	"  run_id INTEGER NOT NULL,"
	"  result TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (digest, run_id)) WITHOUT ROWID;",

	/* 4: the registry watch, releases and approvals. */
	"CREATE TABLE watch_state ("
	"  env TEXT PRIMARY KEY,"
	"  etag TEXT,"
	"  checked_at INTEGER,"
	"  error TEXT,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  paused INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE TABLE watch_tags ("
	"  env TEXT NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  created INTEGER,"
	"  seen_at INTEGER NOT NULL,"
	"  PRIMARY KEY (env, tag)) WITHOUT ROWID;"
	"CREATE TABLE releases ("
	"  id INTEGER PRIMARY KEY,"
	"  env TEXT NOT NULL,"
	"  repository TEXT NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  reason TEXT,"
	"  approvals_needed INTEGER NOT NULL DEFAULT 0,"
	"  deadline INTEGER,"
	"  rollback_of INTEGER,"
	"  requested_by TEXT,"
	"  result TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  deployed_at INTEGER);"
	"CREATE INDEX releases_env ON releases (env, id);"
	"CREATE TABLE approvals ("
	"  release_id INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  via TEXT NOT NULL,"
	"  decision TEXT NOT NULL,"
	"  reason TEXT,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (release_id, who)) WITHOUT ROWID;",

	/* 5: the release tick's queries stay cheap as history grows. */
	"CREATE INDEX releases_open ON releases (env, id) WHERE state IN "
	"('detected', 'awaiting-approval', 'approved');"
	"CREATE INDEX releases_deployed ON releases (env, deployed_at) WHERE "
	"deployed_at IS NOT NULL;"
	"CREATE INDEX releases_state ON releases (state);",

	/* 6: the outbox of notifications, and the audit of decisions. */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  url TEXT NOT NULL,"
	"  method TEXT NOT NULL,"
	"  content_type TEXT,"
	"  body TEXT NOT NULL,"
	"  auth TEXT,"
	"  dedupe TEXT UNIQUE,"
	"  state TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER);"
	"CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  via TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT,"
	"  result TEXT NOT NULL,"
	"  detail TEXT,"
	"  origin TEXT);"
	"CREATE INDEX audit_at ON audit (at);",
	/*
	 * 7: everyone whose delivery a run stands for (a push and a merge of
	 * one commit make one run): the self-approval rule asks them all.
	 */
	"CREATE TABLE run_senders ("
	"  run_id INTEGER NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  PRIMARY KEY (run_id, sender)) WITHOUT ROWID;",
};


struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[STMT_MAX];
	int		 in_tx;
};

static int	store_run_supersede_others(struct store *, int64_t,
		    const char *, const char *, int64_t);

void
store_log_error(struct store *st, const char *what)
{
	log_warnx("store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int
store_exec(struct store *st, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("store: %s", err != NULL ? err : "exec failed");
		sqlite3_free(err);
		return (-1);
	}
	return (0);
}

/* Bring the schema up to date, each migration in its own transaction. */
static int
store_migrate(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int		 version, latest, i;
	char		*sql;

	latest = (int)(sizeof store_migrations / sizeof store_migrations[0]);
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		xasprintf(cause, "cannot read schema version: %s",
		    sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		return (-1);
	}
	version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > latest) {
		xasprintf(cause, "database schema version %d is newer than "
		    "this ferry (%d)", version, latest);
		return (-1);
	}
	for (i = version; i < latest; i++) {
		xasprintf(&sql, "BEGIN; %s PRAGMA user_version = %d; COMMIT;",
		    store_migrations[i], i + 1);
		if (store_exec(st, sql) != 0) {
			free(sql);
			store_exec(st, "ROLLBACK");
			xasprintf(cause, "migration to schema %d failed", i + 1);
			return (-1);
		}
		free(sql);
		log_info("store: schema migrated to version %d", i + 1);
	}
	return (0);
}

/*
 * Open (creating if needed) the database at path. sync_full makes every
 * commit reach the disk (synchronous=FULL); otherwise WAL's NORMAL, which
 * survives a crash of ferryd but not of the machine. Returns NULL with
 * *cause set on failure.
 */
struct store *
store_open(const char *path, int sync_full, char **cause)
{
	struct store	*st;
	int		 i;

	st = xcalloc(1, sizeof *st);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		xasprintf(cause, "%s: %s", path, st->db != NULL ?
		    sqlite3_errmsg(st->db) : "cannot open");
		store_close(st);
		return (NULL);
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (store_exec(st, "PRAGMA journal_mode = WAL") != 0 ||
	    store_exec(st, sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") != 0 ||
	    store_exec(st, "PRAGMA foreign_keys = ON") != 0) {
		xasprintf(cause, "%s: cannot set up: %s", path,
		    sqlite3_errmsg(st->db));
		store_close(st);
		return (NULL);
	}
	if (store_migrate(st, cause) != 0) {
		store_close(st);
		return (NULL);
	}
	for (i = 0; i < STMT_MAX; i++) {
		if (sqlite3_prepare_v3(st->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			xasprintf(cause, "prepare \"%s\": %s", store_sql[i],
			    sqlite3_errmsg(st->db));
			store_close(st);
			return (NULL);
		}
	}
	return (st);
}

/* The connection, for the store's other files (store_int.h). */
sqlite3 *
store_db(struct store *st)
{
	return (st->db);
}

/*
 * Run a query with text ('s') and integer ('i') parameters and return its
 * rows as a JSON array of objects keyed by column name; NULL on error.
 */
json_t *
store_query_json(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*s;
	va_list		 ap;
	json_t		*a, *o;
	int		 i, n, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_log_error(st, sql);
		return (NULL);
	}
	va_start(ap, fmt);
	for (i = 0; fmt[i] != '\0'; i++) {
		if (fmt[i] == 's')
			store_bind_text(s, i + 1, va_arg(ap, const char *));
		else
			sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	a = json_array();
	n = sqlite3_column_count(s);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		o = json_object();
		for (i = 0; i < n; i++)
			json_object_set_new(o, sqlite3_column_name(s, i),
			    store_column_json(s, i));
		json_array_append_new(a, o);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_log_error(st, sql);
		json_decref(a);
		return (NULL);
	}
	return (a);
}

void
store_close(struct store *st)
{
	int	i;

	if (st == NULL)
		return;
	for (i = 0; i < STMT_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

/* Run a prepared statement that returns no rows. */
static int
store_step_done(struct store *st, enum store_stmt which)
{
	sqlite3_stmt	*s = st->stmt[which];
	int		 rc;

	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		store_log_error(st, store_sql[which]);
		return (-1);
	}
	return (0);
}

int
store_begin(struct store *st)
{
	if (store_step_done(st, STMT_BEGIN) != 0)
		return (-1);
	st->in_tx = 1;
	return (0);
}

int
store_commit(struct store *st)
{
	if (store_step_done(st, STMT_COMMIT) != 0)
		return (-1);
	st->in_tx = 0;
	return (0);
}

void
store_rollback(struct store *st)
{
	if (st->in_tx)
		store_step_done(st, STMT_ROLLBACK);
	st->in_tx = 0;
}

void
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/*
 * Record a delivery. Returns 1 if it is new, 0 if (project, delivery) was
 * seen before, -1 on error.
 */
int
store_delivery_add(struct store *st, const char *project, const char *delivery,
    const char *provider, const char *event)
{
	sqlite3_stmt	*s = st->stmt[STMT_DELIVERY_ADD];

	store_bind_text(s, 1, project);
	store_bind_text(s, 2, delivery);
	store_bind_text(s, 3, provider);
	store_bind_text(s, 4, event);
	sqlite3_bind_int64(s, 5, now_ms());
	if (store_step_done(st, STMT_DELIVERY_ADD) != 0)
		return (-1);
	return (sqlite3_changes(st->db) > 0 ? 1 : 0);
}

/*
 * The automatic run of (project, ref, sha): its id, 0 if there is none,
 * -1 on error. An abbreviated commit id (12 or more hex digits) finds the
 * run of the full one and the other way round; a run found by a longer
 * id than its own keeps the longer one, so it checks out what the forge
 * named in full.
 */
int64_t
store_run_find(struct store *st, const char *project, const char *ref,
    const char *sha)
{
	sqlite3_stmt	*s = st->stmt[STMT_RUN_FIND];
	const char	*had;
	int64_t		 id = 0;
	int		 rc, longer = 0;

	store_bind_text(s, 1, project);
	store_bind_text(s, 2, ref);
	store_bind_text(s, 3, sha);
	sqlite3_bind_int(s, 4, sha_is_valid(sha));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		had = (const char *)sqlite3_column_text(s, 1);
		longer = had != NULL && strlen(had) < strlen(sha);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_log_error(st, "find run");
		return (-1);
	}
	if (longer && store_run_set_sha(st, id, sha) != 0)
		return (-1);
	return (id);
}

/*
 * Queue a new run, and with r->supersede mark older queued runs of the
 * same branch superseded by it. Returns the run id, or -1 on error.
 */
int64_t
store_run_add(struct store *st, const struct store_run_new *r)
{
	sqlite3_stmt	*s;
	int64_t		 id, now = now_ms();

	s = st->stmt[STMT_RUN_ADD];
	store_bind_text(s, 1, r->project);
	store_bind_text(s, 2, r->ref);
	store_bind_text(s, 3, r->sha);
	store_bind_text(s, 4, r->kind);
	store_bind_text(s, 5, r->delivery);
	store_bind_text(s, 6, r->event_json);
	sqlite3_bind_int64(s, 7, now);
	sqlite3_bind_int64(s, 8, now);
	if (store_step_done(st, STMT_RUN_ADD) != 0)
		return (-1);
	id = sqlite3_last_insert_rowid(st->db);

	if (r->supersede && strncmp(r->ref, "refs/heads/", 11) == 0 &&
	    store_run_supersede_others(st, id, r->project, r->ref, now) != 0)
		return (-1);
	return (id);
}

/* Mark the other queued runs of run id's branch superseded by it. */
static int
store_run_supersede_others(struct store *st, int64_t id, const char *project,
    const char *ref, int64_t now)
{
	sqlite3_stmt	*s = st->stmt[STMT_RUN_SUPERSEDE];

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	store_bind_text(s, 3, project);
	store_bind_text(s, 4, ref);
	sqlite3_bind_int64(s, 5, id);
	return (store_step_done(st, STMT_RUN_SUPERSEDE));
}

/*
 * A push made commit of run id the head of its branch again (a force push
 * back): if that run was superseded, queue it again and supersede the
 * other queued runs of the branch instead. Returns 1 if it was queued
 * again, 0 if there was nothing to do, -1 on error.
 */
int
store_run_requeue(struct store *st, int64_t id, const char *project,
    const char *ref)
{
	sqlite3_stmt	*s = st->stmt[STMT_RUN_REQUEUE];
	int64_t		 now = now_ms();

	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, id);
	if (store_step_done(st, STMT_RUN_REQUEUE) != 0)
		return (-1);
	if (sqlite3_changes(st->db) == 0)
		return (0);
	log_info("run %lld: queued again, its commit is the head of %s "
	    "again", (long long)id, ref);
	if (store_run_supersede_others(st, id, project, ref, now) != 0)
		return (-1);
	return (1);
}

json_t *
store_column_json(sqlite3_stmt *s, int i)
{
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_NULL:
		return (json_null());
	case SQLITE_INTEGER:
		return (json_integer(sqlite3_column_int64(s, i)));
	default:
		return (json_string((const char *)sqlite3_column_text(s, i)));
	}
}

/* One run row as JSON; the stored event is embedded as an object. */
static json_t *
store_run_row(sqlite3_stmt *s)
{
	static const char	*names[] = { "id", "project", "ref", "sha",
	    "kind", "state", "delivery", "event", "created_at", "updated_at",
	    "superseded_by", "manual", "attempts", "interruptions",
	    "started_at", "finished_at", "error", "retry_of" };
	json_t			*o, *ev;
	size_t			 i;

	o = json_object();
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(names[i], "event") == 0) {
			ev = json_loads((const char *)sqlite3_column_text(s,
			    (int)i), 0, NULL);
			json_object_set_new(o, "event", ev != NULL ? ev :
			    json_null());
			continue;
		}
		json_object_set_new(o, names[i], store_column_json(s, (int)i));
	}
	return (o);
}

/*
 * Runs, newest first, filtered by project and state when not NULL, at most
 * limit. Returns a JSON array (new reference), or NULL on error.
 */
json_t *
store_runs_list(struct store *st, const char *project, const char *state,
    int limit)
{
	sqlite3_stmt	*s;
	json_t		*a;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "SELECT " STORE_RUN_COLUMNS " "
	    "FROM runs WHERE (?1 IS NULL OR project = ?1) AND "
	    "(?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT ?3", -1, &s,
	    NULL) != SQLITE_OK) {
		store_log_error(st, "list runs");
		return (NULL);
	}
	store_bind_text(s, 1, project);
	store_bind_text(s, 2, state);
	sqlite3_bind_int(s, 3, limit);
	a = json_array();
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(a, store_run_row(s));
	if (rc != SQLITE_DONE) {
		store_log_error(st, "list runs");
		json_decref(a);
		a = NULL;
	}
	sqlite3_finalize(s);
	return (a);
}

/* One run as JSON (new reference); NULL if there is none or on error. */
json_t *
store_run_get(struct store *st, int64_t id)
{
	sqlite3_stmt	*s = st->stmt[STMT_RUN_GET];
	json_t		*o = NULL;
	int		 rc;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		o = store_run_row(s);
	else if (rc != SQLITE_DONE)
		store_log_error(st, "get run");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return (o);
}

/* Counts of runs by state and of deliveries, for /healthz and /metrics. */
json_t *
store_stats(struct store *st)
{
	sqlite3_stmt	*s;
	json_t		*o, *runs;

	o = json_object();
	runs = json_object();
	if (sqlite3_prepare_v2(st->db, "SELECT state, count(*) FROM runs "
	    "GROUP BY state", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW)
			json_object_set_new(runs,
			    (const char *)sqlite3_column_text(s, 0),
			    json_integer(sqlite3_column_int64(s, 1)));
		sqlite3_finalize(s);
	}
	json_object_set_new(o, "runs", runs);
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM deliveries", -1,
	    &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			json_object_set_new(o, "deliveries",
			    json_integer(sqlite3_column_int64(s, 0)));
		sqlite3_finalize(s);
	}
	return (o);
}

/* Run a one-off statement with text and integer parameters. */
int
store_exec_args(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*s;
	va_list		 ap;
	int		 i, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_log_error(st, sql);
		return (-1);
	}
	va_start(ap, fmt);
	for (i = 0; fmt[i] != '\0'; i++) {
		if (fmt[i] == 's')
			store_bind_text(s, i + 1, va_arg(ap, const char *));
		else
			sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_log_error(st, sql);
		return (-1);
	}
	return (0);
}

/*
 * Set a run's state (and error, which may be NULL). Entering "running"
 * stamps started_at and counts an attempt; a final state stamps
 * finished_at.
 */
int
store_run_set_state(struct store *st, int64_t id, const char *state,
    const char *error)
{
	int64_t	now = now_ms();

	if (strcmp(state, "running") == 0)
		return (store_exec_args(st, "UPDATE runs SET state = ?, "
		    "error = ?, updated_at = ?, started_at = ?, finished_at = "
		    "NULL, attempts = attempts + 1 WHERE id = ?", "ssiii",
		    state, error, now, now, id));
	if (strcmp(state, "queued") == 0)
		return (store_exec_args(st, "UPDATE runs SET state = ?, "
		    "error = ?, updated_at = ? WHERE id = ?", "ssii", state,
		    error, now, id));
	return (store_exec_args(st, "UPDATE runs SET state = ?, error = ?, "
	    "updated_at = ?, finished_at = ? WHERE id = ?", "ssiii", state,
	    error, now, now, id));
}

/* Record the commit a run resolved to (manual runs name only a ref). */
/* Note that sender's delivery is one that run id stands for. */
int
store_run_sender_add(struct store *st, int64_t id, const char *sender)
{
	return (store_exec_args(st, "INSERT OR IGNORE INTO run_senders "
	    "(run_id, sender) VALUES (?, ?)", "is", id, sender));
}

int
store_run_set_sha(struct store *st, int64_t id, const char *sha)
{
	return (store_exec_args(st, "UPDATE runs SET sha = ?, updated_at = ? "
	    "WHERE id = ?", "sii", sha, now_ms(), id));
}

/* Create or update stage seq of a run. exit_code < 0 is stored as NULL. */
int
store_stage_set(struct store *st, int64_t run, int seq, const char *name,
    const char *state, int exit_code)
{
	int64_t	now = now_ms();

	if (store_exec_args(st, "INSERT OR IGNORE INTO stages (run_id, seq, "
	    "name, state) VALUES (?, ?, ?, ?)", "iiss", run, (int64_t)seq,
	    name, state) != 0)
		return (-1);
	if (strcmp(state, "running") == 0)
		return (store_exec_args(st, "UPDATE stages SET state = ?, "
		    "started_at = ? WHERE run_id = ? AND seq = ?", "siii",
		    state, now, run, (int64_t)seq));
	if (strcmp(state, "pending") == 0 || strcmp(state, "skipped") == 0)
		return (store_exec_args(st, "UPDATE stages SET state = ? "
		    "WHERE run_id = ? AND seq = ?", "sii", state, run,
		    (int64_t)seq));
	return (store_exec_args(st, "UPDATE stages SET state = ?, "
	    "finished_at = ?, exit_code = ? WHERE run_id = ? AND seq = ?",
	    "siiii", state, now, (int64_t)exit_code, run, (int64_t)seq));
}

/* Forget a run's stages and outputs (it is about to run again). */
int
store_run_reset(struct store *st, int64_t run)
{
	if (store_exec_args(st, "DELETE FROM stages WHERE run_id = ?", "i",
	    run) != 0)
		return (-1);
	return (store_exec_args(st, "DELETE FROM outputs WHERE run_id = ?",
	    "i", run));
}

/* Record a stage's key=value result. */
int
store_output_set(struct store *st, int64_t run, const char *stage,
    const char *key, const char *value)
{
	return (store_exec_args(st, "INSERT OR REPLACE INTO outputs (run_id, "
	    "stage, key, value) VALUES (?, ?, ?, ?)", "isss", run, stage, key,
	    value));
}

/*
 * At start-up: runs left "running" by a crash become "interrupted"; those
 * interrupted for the first time are queued again. Returns how many were
 * found, or -1.
 */
int
store_runs_recover(struct store *st)
{
	int	n;

	if (store_exec_args(st, "UPDATE runs SET state = 'interrupted', "
	    "interruptions = interruptions + 1, updated_at = ? WHERE "
	    "state = 'running'", "i", now_ms()) != 0)
		return (-1);
	n = sqlite3_changes(st->db);
	if (n > 0 && store_exec_args(st, "UPDATE runs SET state = 'queued', "
	    "error = 'interrupted by a restart of ferryd; queued again' "
	    "WHERE state = 'interrupted' AND interruptions = 1", "") != 0)
		return (-1);
	if (n > 0 && store_exec_args(st, "UPDATE stages SET state = "
	    "'interrupted' WHERE state = 'running'", "") != 0)
		return (-1);
	return (n);
}

/*
 * A new queued run: a retry of run from (retry_of != 0), or a manual run of
 * ref in project at sha ("" until the checkout resolves it). Returns the
 * new run id, or -1.
 */
int64_t
store_run_new_manual(struct store *st, const char *project, const char *ref,
    const char *sha, const char *kind, const char *event_json,
    int64_t retry_of)
{
	int64_t	now = now_ms();

	if (store_exec_args(st, "INSERT INTO runs (project, ref, sha, kind, "
	    "state, event, manual, created_at, updated_at, retry_of) VALUES "
	    "(?, ?, ?, ?, 'queued', ?, 1, ?, ?, ?)", "sssssiii", project, ref,
	    sha, kind, event_json, now, now, retry_of) != 0)
		return (-1);
	return (sqlite3_last_insert_rowid(st->db));
}

/*
 * Queued runs, oldest first, at most limit (JSON array; new reference):
 * only what the runner needs to start them, so that a long queue scanned
 * after every commit costs no parsing of stored events.
 */
json_t *
store_runs_queued(struct store *st, int limit)
{
	static const char	*names[] = { "id", "project", "ref", "sha",
	    "kind", "manual", "attempts", "retry_of" };
	sqlite3_stmt		*s;
	json_t			*a, *o;
	size_t			 i;

	/*
	 * The oldest few of every project, so that a long queue of one
	 * project cannot hide another project's runs from the runner.
	 */
	if (sqlite3_prepare_v2(st->db, "SELECT id, project, ref, sha, kind, "
	    "manual, attempts, retry_of FROM (SELECT *, row_number() OVER "
	    "(PARTITION BY project ORDER BY id) AS n FROM runs WHERE "
	    "state = 'queued') WHERE n <= 16 ORDER BY id LIMIT ?", -1, &s,
	    NULL) != SQLITE_OK) {
		store_log_error(st, "queued runs");
		return (NULL);
	}
	sqlite3_bind_int(s, 1, limit);
	a = json_array();
	while (sqlite3_step(s) == SQLITE_ROW) {
		o = json_object();
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			json_object_set_new(o, names[i],
			    store_column_json(s, (int)i));
		json_array_append_new(a, o);
	}
	sqlite3_finalize(s);
	return (a);
}

/* A run's stages (JSON array, in order; new reference) or NULL. */
json_t *
store_stages_get(struct store *st, int64_t run)
{
	sqlite3_stmt	*s;
	json_t		*a, *o;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "SELECT seq, name, state, started_at, "
	    "finished_at, exit_code FROM stages WHERE run_id = ? ORDER BY seq",
	    -1, &s, NULL) != SQLITE_OK) {
		store_log_error(st, "stages");
		return (NULL);
	}
	sqlite3_bind_int64(s, 1, run);
	a = json_array();
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		o = json_object();
		json_object_set_new(o, "seq", store_column_json(s, 0));
		json_object_set_new(o, "name", store_column_json(s, 1));
		json_object_set_new(o, "state", store_column_json(s, 2));
		json_object_set_new(o, "started_at", store_column_json(s, 3));
		json_object_set_new(o, "finished_at", store_column_json(s, 4));
		json_object_set_new(o, "exit_code", store_column_json(s, 5));
		json_array_append_new(a, o);
	}
	sqlite3_finalize(s);
	return (a);
}

/* A run's outputs as an object {key: value} (new reference). */
json_t *
store_outputs_get(struct store *st, int64_t run)
{
	sqlite3_stmt	*s;
	json_t		*o;

	o = json_object();
	if (sqlite3_prepare_v2(st->db, "SELECT key, value FROM outputs WHERE "
	    "run_id = ? ORDER BY key", -1, &s, NULL) != SQLITE_OK)
		return (o);
	sqlite3_bind_int64(s, 1, run);
	while (sqlite3_step(s) == SQLITE_ROW)
		json_object_set_new(o, (const char *)sqlite3_column_text(s, 0),
		    json_string((const char *)sqlite3_column_text(s, 1)));
	sqlite3_finalize(s);
	return (o);
}

/* Record an artifact a run published (kind "image" or "bundle"). */
int
store_artifact_add(struct store *st, const struct store_artifact *a)
{
	return (store_exec_args(st, "INSERT OR REPLACE INTO artifacts "
	    "(project, sha, ref, kind, name, repository, tag, digest, run_id, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "ssssssssii",
	    a->project, a->sha, a->ref, a->kind, a->name, a->repository,
	    a->tag, a->digest, a->run_id, now_ms()));
}

/* Record the acceptance result ("passed", "failed") of a bundle digest. */
int
store_acceptance_set(struct store *st, const char *digest, int64_t run,
    const char *result)
{
	return (store_exec_args(st, "INSERT OR REPLACE INTO acceptance "
	    "(digest, run_id, result, created_at) VALUES (?, ?, ?, ?)",
	    "sisi", digest, run, result, now_ms()));
}

/*
 * Artifacts, newest first, of project (all when NULL), at most limit; each
 * bundle carries its latest acceptance result (null when none). JSON array,
 * new reference, or NULL on error.
 */
json_t *
store_artifacts_list(struct store *st, const char *project, int limit)
{
	static const char	*names[] = { "id", "project", "sha", "ref",
	    "kind", "name", "repository", "tag", "digest", "run", "created_at",
	    "acceptance", "reused" };
	sqlite3_stmt		*s;
	json_t			*a, *o;
	size_t			 i;
	int			 rc;

	if (sqlite3_prepare_v2(st->db, "SELECT a.id, a.project, a.sha, a.ref, "
	    "a.kind, a.name, a.repository, a.tag, a.digest, a.run_id, "
	    "a.created_at, "
	    /* the acceptance of the run that recorded it, as the gate has it */
	    "(SELECT c.result FROM acceptance c JOIN artifacts b ON b.run_id = "
	    "c.run_id AND b.kind = 'bundle' AND b.digest = c.digest WHERE "
	    "c.run_id = a.run_id ORDER BY c.created_at DESC LIMIT 1), "
	    /* ferry build's reused.<name> output, for images */
	    "CASE WHEN a.kind = 'image' THEN (SELECT o.value = 'true' FROM "
	    "outputs o WHERE o.run_id = a.run_id AND o.key = 'reused.' || "
	    "a.name) END FROM artifacts a "
	    "WHERE (?1 IS NULL OR a.project = ?1) ORDER BY a.id DESC LIMIT ?2",
	    -1, &s, NULL) != SQLITE_OK) {
		store_log_error(st, "artifacts");
		return (NULL);
	}
	store_bind_text(s, 1, project);
	sqlite3_bind_int(s, 2, limit);
	a = json_array();
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		o = json_object();
		for (i = 0; i < sizeof names / sizeof names[0] - 1; i++)
			json_object_set_new(o, names[i],
			    store_column_json(s, (int)i));
		json_object_set_new(o, "reused", sqlite3_column_type(s,
		    (int)i) == SQLITE_NULL ? json_null() :
		    json_boolean(sqlite3_column_int(s, (int)i)));
		json_array_append_new(a, o);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		json_decref(a);
		return (NULL);
	}
	return (a);
}
